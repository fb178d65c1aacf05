"""The signed-webhook CRM sink: each note is POSTed (or PUT) as JSON to the CRM's endpoint.

Every request carries `Idempotency-Key` (the note's key, stable across re-runs) and
`X-CX-Signature: sha256=<hex HMAC-SHA256 of the raw body>` so the receiver can check it came from us. The body is
rendered from a payload template: `generic`, or the documented REST shapes of Salesforce (Task, Case comment) and
Zendesk (ticket comment). Transient failures (connection errors, timeouts, 429, 5xx) are retried with exponential
backoff; a note that still fails is marked `failed` in the ledger and retried on the next run.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx
from jinja2 import Environment, PackageLoader, StrictUndefined

from cx_worker.delivery.notes import idempotency_key
from cx_worker.delivery.sinks import DeliveryError
from cx_worker.store import Note

# template name -> HTTP method. URLs may hold {placeholders} filled from the note (interaction_id, customer_id,
# queue) and the contact's metadata (e.g. {zendesk_ticket_id}, {salesforce_case_id}).
TEMPLATES: dict[str, str] = {
    "generic": "POST",
    "salesforce_task": "POST",          # /services/data/vXX.X/sobjects/Task/
    "salesforce_case_comment": "POST",  # /services/data/vXX.X/sobjects/CaseComment/
    "zendesk_comment": "PUT",           # /api/v2/tickets/{zendesk_ticket_id}.json
}
_env = Environment(loader=PackageLoader("cx_worker.delivery", "templates/payloads"), undefined=StrictUndefined,
                   trim_blocks=True, lstrip_blocks=True)


def sign(body: bytes, secret: str) -> str:
    """The value of the `X-CX-Signature` header for a raw body."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def render_payload(template: str, note: Note) -> bytes:
    """The request body for a note, as the CRM expects it (compact JSON)."""
    data = note.model_dump(mode="json")
    rendered = _env.get_template(f"{template}.json.j2").render(note=data, p=data["payload"], w=data["payload"]["work"])
    return json.dumps(json.loads(rendered), separators=(",", ":"), ensure_ascii=False).encode()


@dataclass
class WebhookDelivery:
    url: str
    secret: str
    template: str = "generic"
    retries: int = 4
    backoff: float = 0.5
    timeout: float = 10.0
    headers: dict[str, str] | None = None
    sleep: Callable[[float], None] = time.sleep
    name: str = "webhook"

    @classmethod
    def from_settings(cls, settings) -> WebhookDelivery:
        if not settings.webhook_url or settings.webhook_secret is None:
            raise ValueError("CX_CRM_SINK=webhook needs CX_WEBHOOK_URL and CX_WEBHOOK_SECRET")
        if settings.webhook_template not in TEMPLATES:
            raise ValueError(f"unknown CX_WEBHOOK_TEMPLATE {settings.webhook_template!r}: {', '.join(TEMPLATES)}")
        return cls(url=settings.webhook_url, secret=settings.webhook_secret.get_secret_value(),
                   template=settings.webhook_template)

    def deliver(self, note: Note) -> None:
        body = render_payload(self.template, note)
        payload = note.payload
        fields = {**payload.metadata, "interaction_id": payload.interaction_id,
                  "customer_id": payload.customer_id or "", "queue": payload.queue or ""}
        try:
            url = self.url.format(**fields)
        except KeyError as exc:
            raise DeliveryError(f"webhook URL needs {exc} which the contact does not have", retryable=False) from exc
        headers = {"Content-Type": "application/json", "Idempotency-Key": idempotency_key(note),
                   "X-CX-Signature": sign(body, self.secret), **(self.headers or {})}
        last = ""
        for attempt in range(self.retries + 1):
            if attempt:
                self.sleep(self.backoff * 2 ** (attempt - 1))
            try:
                response = httpx.request(TEMPLATES[self.template], url, content=body, headers=headers,
                                         timeout=self.timeout)
            except httpx.HTTPError as exc:
                last = f"{type(exc).__name__}: {exc}"
                continue
            if response.status_code < 300:
                return
            last = f"HTTP {response.status_code}: {response.text[:200]}"
            if response.status_code != 429 and response.status_code < 500:
                raise DeliveryError(last, retryable=False)  # the CRM refused this note: retrying will not help
        raise DeliveryError(f"gave up after {self.retries + 1} attempts: {last}")
