"""The review page: `cx-worker review serve`, a small local web app for the people who judge contacts.

Two queues, kept apart: the night's random audit sample (a verdict here feeds the trust estimates) and the flagged
contacts (low confidence, a failed eval, an upset customer: relabel or approve, never part of the estimates). A
contact's page shows its redacted transcript, summary and CRM note, the predicted outcome with its evidence (the
nearest exemplars, the signals that fired with their turns, the words that favoured it), and the form for the
decision. Every decision goes through the same functions and audit trail as the CLI (`review`).

It listens on 127.0.0.1 only, and every request needs the token printed at start (a query parameter once, then
a cookie; forms carry it too), so another local user or a web page cannot act on the reviewer's behalf.
"""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated
from urllib.parse import quote, urlencode

from fastapi import FastAPI, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from cx_worker.delivery.crm import Crm
from cx_worker.governance.estimates import ERROR_TYPES
from cx_worker.governance.review import ReviewError, approve, record_verdict, relabel, review_queue
from cx_worker.models import OUTCOME_LABELS
from cx_worker.store import Store

_env = Environment(loader=PackageLoader("cx_worker.governance", "templates/review"), undefined=StrictUndefined,
                   autoescape=select_autoescape(["html", "j2"]), trim_blocks=True, lstrip_blocks=True)
COOKIE = "cx_review_token"


def new_token() -> str:
    """A fresh secret for one serving of the page."""
    return secrets.token_urlsafe(24)


def create_app(*, store: Store, crm: Crm, collection, token: str) -> FastAPI:
    """The review app over a store, the CRM and the exemplar collection (relabels and verdicts add to it)."""
    app = FastAPI(title="cx-worker review", docs_url=None, redoc_url=None, openapi_url=None)

    def check(request: Request, sent: str | None = None) -> None:
        given = sent or request.query_params.get("token") or request.cookies.get(COOKIE) or ""
        if not hmac.compare_digest(given, token):
            raise HTTPException(status_code=403, detail="this page needs the token cx-worker review serve printed")

    def page(name: str, **context) -> HTMLResponse:
        response = HTMLResponse(_env.get_template(name).render(token=token, **context))
        response.set_cookie(COOKIE, token, httponly=True, samesite="strict")
        return response

    @app.get("/", response_class=HTMLResponse)
    def queue(request: Request, done: str = "", error: str = "") -> HTMLResponse:
        check(request)
        items = review_queue(store)
        return page("queue.html.j2", audits=[i for i in items if i.kind == "audit"],
                    flagged=[i for i in items if i.kind == "low_confidence"], done=done, error=error)

    @app.get("/contact/{iid}", response_class=HTMLResponse)
    def contact(request: Request, iid: str, error: str = "") -> HTMLResponse:
        check(request)
        stored = store.contact(iid)
        if stored is None:
            raise HTTPException(status_code=404, detail=f"no contact {iid!r}")
        item = next((i for i in review_queue(store) if i.interaction_id == iid), None)
        audited = [a for a in store.audit_items() if a.interaction_id == iid]
        note = crm.notes(iid)
        return page("contact.html.j2", contact=stored.redacted, item=item, outcome=store.outcome(iid),
                    work=(w.output if (w := store.latest_acw(iid)) else None), note=note[-1] if note else None,
                    audit=audited[-1] if audited else None, labels=OUTCOME_LABELS, error_types=sorted(ERROR_TYPES),
                    error=error)

    @app.post("/contact/{iid}/verdict")
    def verdict(request: Request, iid: str, token_field: Annotated[str, Form(alias="token")],
                outcome: Annotated[str, Form()], summary: Annotated[str, Form()], by: Annotated[str, Form()],
                reason: Annotated[str, Form()] = "", disposition: Annotated[str, Form()] = "",
                errors: Annotated[list[str] | None, Form()] = None) -> RedirectResponse:
        check(request, token_field)
        return _apply(lambda: record_verdict(
            iid, store=store, crm=crm, collection=collection, outcome=outcome, summary_ok=summary == "ok",
            errors=errors or [], disposition=disposition or None, by=by, reason=reason), iid, "verdict")

    @app.post("/contact/{iid}/relabel")
    def relabel_contact(request: Request, iid: str, token_field: Annotated[str, Form(alias="token")],
                        outcome: Annotated[str, Form()], by: Annotated[str, Form()],
                        reason: Annotated[str, Form()] = "") -> RedirectResponse:
        check(request, token_field)
        return _apply(lambda: relabel(iid, outcome, store=store, crm=crm, collection=collection, by=by,
                                      reason=reason), iid, "relabel")

    @app.post("/contact/{iid}/approve")
    def approve_contact(request: Request, iid: str, token_field: Annotated[str, Form(alias="token")],
                        by: Annotated[str, Form()], reason: Annotated[str, Form()] = "") -> RedirectResponse:
        check(request, token_field)
        return _apply(lambda: approve(iid, store=store, crm=crm, by=by, reason=reason), iid, "approve")

    return app


def _apply(action, iid: str, what: str) -> RedirectResponse:
    try:
        action()
    except (ReviewError, ValueError) as exc:
        return RedirectResponse(f"/contact/{quote(iid)}?" + urlencode({"error": str(exc)}), status_code=303)
    return RedirectResponse("/?" + urlencode({"done": f"{what} of {iid} recorded"}), status_code=303)
