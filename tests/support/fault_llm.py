"""A fault-injecting OpenAI-compatible endpoint for tests: `/v1/chat/completions` on 127.0.0.1, a free port.

Every request is answered with a valid forced tool call (arguments built from the request's tool schema) unless
the seeded dice say fault (or `script` names the fault of each of the first requests, for one-contact tests).
Faults, drawn uniformly from `kinds` at `fault_rate`:

- `rate_limit`: HTTP 429 with `Retry-After`;
- `server_error`: HTTP 500;
- `slow`: a valid answer, but only after `slow_seconds` (set it past the client's timeout);
- `invalid_json`: tool-call arguments that are not JSON;
- `schema_violation`: JSON that breaks the schema (a code outside the enum, a required field missing);
- `truncated`: the arguments cut in half, `finish_reason: "length"`.

The dice for a request are seeded with (seed, sha256 of its body, how many times that body was seen), so the
faults do not depend on the order concurrent requests arrive in: the same run gets the same faults. Every request
is logged (`requests`) with the contact it was about, whether it was a repair re-ask, the fault it got and the
`Authorization` header it carried.

As a stand-in for a provider: `latency` seconds of "generation" for every answer, and at most `slots` answers
generated at once (more wait their turn, like `llama-server --parallel N`). With neither and no faults it is an
instant local OpenAI-compatible endpoint (`bench/concurrency.py` measures its requests per second).
"""

from __future__ import annotations

import hashlib
import json
import random
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

FAULT_KINDS = ("rate_limit", "server_error", "slow", "invalid_json", "schema_violation", "truncated")
TRANSPORT_FAULTS = ("rate_limit", "server_error", "slow")

# Plausible text for the fields of the after-call work; other string fields get a short generic value.
_TEXT = {
    "summary": "The customer asked for help with their account. The agent looked into it and answered the question.",
    "customer_intent": "help with the account",
    "crm_note": "Customer asked about their account; the agent answered. No follow-up needed.",
    "handoff_context": "",
    "claim": "The customer asked for help with their account.",
    "evidence": "",
    "description": "Check the account.",
    "reason": "",
}


@dataclass(frozen=True)
class LoggedRequest:
    """One request the endpoint answered."""

    contact: str | None  # the transcript block, if the request carried one
    tool: str | None
    repair: bool
    fault: str  # "ok" or one of FAULT_KINDS
    authorization: str | None
    body: dict = field(default_factory=dict, repr=False)  # the request as sent
    raw: bytes = field(default=b"", repr=False)  # its bytes


class FaultLLM:
    """The endpoint; use as a context manager (`with FaultLLM(fault_rate=0.2) as llm: llm.base_url`)."""

    def __init__(
        self,
        *,
        fault_rate: float = 0.0,
        kinds: tuple[str, ...] = FAULT_KINDS,
        seed: int = 0,
        delay: float = 0.0,
        slow_seconds: float = 3.0,
        retry_after: str = "1",
        choose: dict[str, Any] | None = None,
        script: list[str] | None = None,
        latency: float = 0.0,
        slots: int | None = None,
    ) -> None:
        unknown = set(kinds) - set(FAULT_KINDS)
        if unknown:
            raise ValueError(f"unknown fault kinds {sorted(unknown)}")
        self.fault_rate, self.kinds, self.seed = fault_rate, kinds, seed
        self.delay, self.slow_seconds, self.retry_after = delay, slow_seconds, retry_after
        self.choose = choose or {}  # fixed argument values, e.g. {"disposition": "billing_inquiry"}
        self.script = list(script or [])  # faults for the first requests, in arrival order ("ok" for none)
        self.latency = latency  # seconds each answer takes to "generate", inside a slot
        self._slots = threading.BoundedSemaphore(slots) if slots else None
        self.busy = self.peak_busy = 0  # answers being generated now / at most at once
        self.requests: list[LoggedRequest] = []
        self._seen: Counter = Counter()
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    @property
    def base_url(self) -> str:
        assert self._server is not None, "the endpoint is not started"
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    @property
    def faults(self) -> Counter:
        """How many requests got each fault (and "ok")."""
        return Counter(r.fault for r in self.requests)

    def __enter__(self) -> FaultLLM:
        handler = type("Handler", (_Handler,), {"endpoint": self})
        self._server = _Server(("127.0.0.1", 0), handler)
        threading.Thread(target=self._server.serve_forever, name="fault-llm", daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    # what to answer
    def decide(self, body: bytes) -> str:
        digest = hashlib.sha256(body).hexdigest()
        with self._lock:
            self._seen[digest] += 1
            nth = self._seen[digest]
            if self.script:
                return self.script.pop(0)
        rng = random.Random(f"{self.seed}:{digest}:{nth}")
        if rng.random() < self.fault_rate:
            return rng.choice(self.kinds)
        return "ok"

    def log(self, entry: LoggedRequest) -> None:
        with self._lock:
            self.requests.append(entry)

    @contextmanager
    def slot(self) -> Iterator[None]:
        """Hold one of the `slots` (waiting for a free one) while an answer is generated."""
        if self._slots is not None:
            self._slots.acquire()
        with self._lock:
            self.busy += 1
            self.peak_busy = max(self.peak_busy, self.busy)
        try:
            yield
        finally:
            with self._lock:
                self.busy -= 1
            if self._slots is not None:
                self._slots.release()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # many clients connecting at once (the default backlog is 5)


class _Handler(BaseHTTPRequestHandler):
    endpoint: FaultLLM
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms delayed-ACK stall per answer

    def log_message(self, format: str, *args: object) -> None:  # quiet
        return None

    def do_GET(self) -> None:  # noqa: N802
        if self.path.rstrip("/").endswith("/models"):
            self._json(200, {"object": "list", "data": [{"id": "fault-llm", "object": "model"}]})
        else:
            self._json(404, {"error": {"message": "not found"}})

    def do_POST(self) -> None:  # noqa: N802
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if not self.path.rstrip("/").endswith("/chat/completions"):
            self._json(404, {"error": {"message": "not found"}})
            return
        request = json.loads(body)
        fault = self.endpoint.decide(body)
        tool = _tool(request)
        self.endpoint.log(LoggedRequest(contact=_contact(request), tool=tool["name"] if tool else None,
                                        repair=len(request.get("messages", [])) > 2, fault=fault,
                                        authorization=self.headers.get("Authorization"), body=request, raw=body))
        if self.endpoint.delay:
            time.sleep(self.endpoint.delay)
        if fault == "rate_limit":
            self._json(429, {"error": {"message": "Rate limit reached for requests", "type": "requests",
                                       "code": "rate_limit_exceeded"}},
                       headers={"Retry-After": self.endpoint.retry_after})
            return
        if fault == "server_error":
            self._json(500, {"error": {"message": "The server had an error processing your request.",
                                       "type": "server_error"}})
            return
        if fault == "slow":
            time.sleep(self.endpoint.slow_seconds)
        with self.endpoint.slot():
            if self.endpoint.latency:
                time.sleep(self.endpoint.latency)
            answer = _completion(request, tool, fault, self.endpoint)
        self._json(200, answer)

    def _json(self, status: int, payload: dict, *, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(payload).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (a slow answer past its timeout)
            pass


def _tool(request: dict) -> dict | None:
    tools = [t["function"] for t in request.get("tools", []) if t.get("type") == "function"]
    if not tools:
        return None
    forced = (request.get("tool_choice") or {}).get("function", {}).get("name") if isinstance(
        request.get("tool_choice"), dict) else None
    return next((t for t in tools if t["name"] == forced), tools[0])


def _contact(request: dict) -> str | None:
    for message in request.get("messages", []):
        content = message.get("content")
        if isinstance(content, str) and "<<<TRANSCRIPT" in content:
            return content.split("<<<TRANSCRIPT", 1)[1].split("TRANSCRIPT>>>", 1)[0].strip()
    return None


def _completion(request: dict, tool: dict | None, fault: str, endpoint: FaultLLM) -> dict:
    finish = "tool_calls"
    if tool is None:
        message: dict[str, Any] = {"role": "assistant", "content": "ok"}
        finish = "stop"
        arguments = "ok"
    else:
        schema = tool.get("parameters", {})
        args = sample(schema, defs=schema.get("$defs", {}), choose=endpoint.choose)
        arguments = json.dumps(args)
        if fault == "invalid_json":
            arguments = "{'summary': 'The customer asked', disposition: product_question,}"
        elif fault == "schema_violation":
            broken = dict(args)
            for name, prop in schema.get("properties", {}).items():
                resolved = _resolve(prop, schema.get("$defs", {}))
                if "enum" in resolved:
                    broken[name] = "not_a_valid_code"
            required = schema.get("required", [])
            if required:
                broken.pop(required[0], None)
            arguments = json.dumps(broken)
        elif fault == "truncated":
            arguments = arguments[: len(arguments) // 2]
            finish = "length"
        message = {"role": "assistant", "content": None, "tool_calls": [
            {"id": "call_" + hashlib.sha256(arguments.encode()).hexdigest()[:12], "type": "function",
             "function": {"name": tool["name"], "arguments": arguments}}]}
    prompt_tokens = len(json.dumps(request.get("messages", []))) // 4
    completion_tokens = max(1, len(arguments) // 4)
    return {
        "id": "chatcmpl-fault", "object": "chat.completion", "created": int(time.time()),
        "model": request.get("model", "fault-llm"),
        "choices": [{"index": 0, "message": message, "finish_reason": finish, "logprobs": None}],
        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                  "total_tokens": prompt_tokens + completion_tokens},
    }


def _resolve(schema: dict, defs: dict) -> dict:
    while "$ref" in schema:
        schema = defs[schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def sample(schema: dict, *, defs: dict, choose: dict[str, Any] | None = None, name: str = "") -> Any:
    """A value valid under a (pydantic-made) JSON Schema: required and optional properties, enums, length bounds."""
    choose = choose or {}
    if name in choose:
        return choose[name]
    schema = _resolve(schema, defs)
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return schema["enum"][0]
    if "anyOf" in schema:
        options = [s for s in schema["anyOf"] if _resolve(s, defs).get("type") != "null"]
        return sample(options[0], defs=defs, choose=choose, name=name) if options else None
    kind = schema.get("type")
    if kind == "object":
        return {key: sample(prop, defs=defs, choose=choose, name=key)
                for key, prop in schema.get("properties", {}).items()}
    if kind == "array":
        count = schema.get("minItems", 0)
        return [sample(schema.get("items", {}), defs=defs, choose=choose, name=name) for _ in range(count)]
    if kind == "string":
        text = _TEXT.get(name, "text")
        text = text[: schema["maxLength"]] if "maxLength" in schema else text
        return text.ljust(schema.get("minLength", 0), ".")
    if kind == "boolean":
        return name != "flag"
    if kind in ("integer", "number"):
        return schema.get("minimum", 1)
    return None
