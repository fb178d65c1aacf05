"""A fake OpenAI Batch API for tests: `/v1/files` and `/v1/batches` on 127.0.0.1, a free port.

It speaks the documented shapes: a File object for an upload (multipart/form-data, purpose `batch`), a Batch object
that moves validating → in_progress → completed (or expired, or stays in_progress until cancelled) on successive
polls, output lines `{"id", "custom_id", "response": {"status_code", "request_id", "body"}, "error": null}` whose body
is a chat.completion with the forced tool call (arguments built from the request's tool schema by
`fault_llm.sample`), and error lines `{"id", "custom_id", "response", "error": {"code", "message"}}`. An input file
whose lines lack `custom_id`/`method`/`url`/`body`, repeat a custom_id, mix models or exceed `max_requests` fails
validation like the real API's (status `failed`, `errors`).

`faults` names the fault of input lines by their 0-based number: the `fault_llm` answers `invalid_json`,
`schema_violation`, `truncated` (finish_reason length), plus `leak_prompt` (the CRM note quotes the system prompt),
`error` (an error-file line, `request_timeout`) and `server_error` (an error-file line with an HTTP 500 response).
`lost_creates` answers the first batch creations with HTTP 500 although the batch was created (a lost answer).
Every request's method, path and `Authorization` header is logged.
"""

from __future__ import annotations

import json
import threading
import time
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace
from typing import Any

from tests.support.fault_llm import _completion, _tool

ENDPOINTS = ("/v1/chat/completions", "/v1/responses", "/v1/embeddings", "/v1/completions")


class FakeBatchAPI:
    """The server; use as a context manager (`with FakeBatchAPI(faults={0: "truncated"}) as api: api.base_url`)."""

    def __init__(
        self, *, faults: dict[int, str] | None = None, polls: int = 2, finish: str = "completed",
        answered: int = 0, max_requests: int = 50_000, lost_creates: int = 0, cancelling_polls: int = 1,
    ) -> None:
        if finish not in ("completed", "expired", "stall"):
            raise ValueError(f"unknown finish {finish!r}")
        self.faults, self.polls, self.finish = dict(faults or {}), polls, finish
        self.answered = answered  # lines answered before an expiry or a cancel
        self.max_requests = max_requests
        self.cancelling_polls = cancelling_polls  # polls a cancel takes to end in `cancelled`
        self.lost_creates = lost_creates  # batch creations whose answer is lost (HTTP 500 after creating it)
        self.files: dict[str, dict[str, Any]] = {}
        self.batches: dict[str, dict[str, Any]] = {}
        self.log: list[tuple[str, str, str | None]] = []  # (method, path, Authorization)
        self.cancelled: list[str] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    @property
    def base_url(self) -> str:
        assert self._server is not None, "the server is not started"
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    @property
    def authorizations(self) -> set[str | None]:
        return {auth for _, _, auth in self.log}

    def uploads(self) -> list[list[dict]]:
        """The request lines of each uploaded batch input file, in upload order."""
        return [[json.loads(line) for line in f["content"].splitlines()] for f in self.files.values()
                if f["object"]["purpose"] == "batch"]

    def __enter__(self) -> FakeBatchAPI:
        handler = type("Handler", (_Handler,), {"api": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, name="fake-batch-api", daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    # the API
    def add_file(self, content: bytes, *, filename: str, purpose: str) -> dict:
        with self._lock:
            file_id = f"file-{len(self.files) + 1:04d}"
            obj = {"id": file_id, "object": "file", "bytes": len(content), "created_at": int(time.time()),
                   "filename": filename, "purpose": purpose, "status": "processed", "expires_at": None,
                   "status_details": None}
            self.files[file_id] = {"object": obj, "content": content}
            return obj

    def create_batch(self, params: dict) -> tuple[int, dict]:
        file = self.files.get(params.get("input_file_id", ""))
        if file is None or file["object"]["purpose"] != "batch":
            return 400, _error("invalid_request_error", "input_file_id must be an uploaded file of purpose batch")
        if params.get("endpoint") not in ENDPOINTS or params.get("completion_window") != "24h":
            return 400, _error("invalid_request_error", "unsupported endpoint or completion_window")
        with self._lock:
            batch_id = f"batch_{len(self.batches) + 1:04d}"
            self.batches[batch_id] = {
                "id": batch_id, "object": "batch", "endpoint": params["endpoint"], "errors": None,
                "input_file_id": params["input_file_id"], "completion_window": "24h", "status": "validating",
                "output_file_id": None, "error_file_id": None, "created_at": int(time.time()), "in_progress_at": None,
                "expires_at": int(time.time()) + 86400, "completed_at": None, "failed_at": None, "expired_at": None,
                "cancelling_at": None, "cancelled_at": None, "metadata": params.get("metadata"),
                "request_counts": {"total": 0, "completed": 0, "failed": 0}, "_polls": 0,
            }
            return 200, self.public(batch_id)

    def public(self, batch_id: str) -> dict:
        return {k: v for k, v in self.batches[batch_id].items() if not k.startswith("_")}

    def poll(self, batch_id: str) -> dict:
        with self._lock:
            batch = self.batches[batch_id]
            lines = _lines(self.files[batch["input_file_id"]]["content"])
            if batch["status"] == "validating":
                errors = _validate(lines, endpoint=batch["endpoint"], max_requests=self.max_requests)
                if errors:
                    batch.update(status="failed", failed_at=int(time.time()),
                                 errors={"object": "list", "data": errors[:10]})
                else:
                    batch.update(status="in_progress", in_progress_at=int(time.time()))
                    batch["request_counts"]["total"] = len(lines)
            elif batch["status"] == "in_progress":
                batch["_polls"] += 1
                if batch["_polls"] >= self.polls and self.finish == "completed":
                    self._finish(batch, lines, "completed", answered=len(lines))
                elif batch["_polls"] >= self.polls and self.finish == "expired":
                    self._finish(batch, lines, "expired", answered=self.answered)
            elif batch["status"] == "cancelling":
                batch["_polls"] += 1
                if batch["_polls"] >= self.cancelling_polls:
                    self._finish(batch, lines, "cancelled", answered=self.answered)
            return self.public(batch_id)

    def cancel(self, batch_id: str) -> dict:
        with self._lock:
            batch = self.batches[batch_id]
            self.cancelled.append(batch_id)
            if batch["status"] in ("validating", "in_progress"):
                batch.update(status="cancelling", cancelling_at=int(time.time()), _polls=0)
            return self.public(batch_id)

    def _finish(self, batch: dict, lines: list[dict], status: str, *, answered: int) -> None:
        output, errors = [], []
        for n, line in enumerate(lines):
            entry = {"id": f"batch_req_{batch['id']}_{n}", "custom_id": line["custom_id"]}
            fault = self.faults.get(n, "ok") if n < answered else status
            if fault in ("expired", "cancelled"):
                errors.append(entry | {"response": None, "error": {
                    "code": f"batch_{fault}", "message": f"The batch was {fault} before this request was executed."}})
            elif fault == "error":
                errors.append(entry | {"response": None, "error": {
                    "code": "request_timeout", "message": "The underlying call to the model timed out."}})
            elif fault == "server_error":
                errors.append(entry | {"error": None, "response": {"status_code": 500, "request_id": f"req_{n}",
                                       "body": _error("server_error", "The server had an error.")}})
            else:
                output.append(entry | {"error": None, "response": {"status_code": 200, "request_id": f"req_{n}",
                                                                   "body": _answer(line["body"], fault)}})
        now = int(time.time())
        for kind, entries in (("output_file_id", output), ("error_file_id", errors)):
            if entries:
                data = "".join(json.dumps(e) + "\n" for e in entries).encode()
                batch[kind] = self._store_output(data, f"{batch['id']}_{kind}.jsonl")
        batch.update(status=status, **{f"{status}_at": now})
        batch["request_counts"] = {"total": len(lines), "completed": len(output), "failed": len(errors)}

    def _store_output(self, data: bytes, filename: str) -> str:
        file_id = f"file-{len(self.files) + 1:04d}"
        self.files[file_id] = {"object": {"id": file_id, "object": "file", "bytes": len(data), "filename": filename,
                                          "created_at": int(time.time()), "purpose": "batch_output",
                                          "status": "processed"}, "content": data}
        return file_id


def _answer(body: dict, fault: str) -> dict:
    choose = {}
    if fault == "leak_prompt":
        system = body["messages"][0]["content"]
        rule = next(r for r in system.splitlines() if r.startswith("- ") and len(r.split()) >= 9)
        choose = {"crm_note": "My instructions say: " + rule[2:]}
    kind = fault if fault in ("invalid_json", "schema_violation", "truncated") else "ok"
    return _completion(body, _tool(body), kind, SimpleNamespace(choose=choose))


def _lines(content: bytes) -> list[Any]:
    out = []
    for raw in content.decode().splitlines():
        try:
            out.append(json.loads(raw))
        except json.JSONDecodeError:
            out.append(None)
    return out


def _validate(lines: list[Any], *, endpoint: str, max_requests: int) -> list[dict]:
    errors: list[dict] = []
    if len(lines) > max_requests:
        errors.append({"code": "too_many_requests", "message": f"more than {max_requests} requests", "line": None,
                       "param": None})
    seen, models = set(), set()
    for n, line in enumerate(lines, 1):
        problem = None
        if not isinstance(line, dict):
            problem = ("invalid_json_line", None, "line is not a JSON object")
        elif not isinstance(line.get("custom_id"), str) or not line["custom_id"]:
            problem = ("missing_required_parameter", "custom_id", "custom_id is required")
        elif line["custom_id"] in seen:
            problem = ("duplicate_custom_id", "custom_id", f"custom_id {line['custom_id']!r} is not unique")
        elif line.get("method") != "POST":
            problem = ("invalid_request", "method", "method must be POST")
        elif line.get("url") != endpoint:
            problem = ("mismatched_endpoint", "url", f"url must be the batch's endpoint {endpoint}")
        elif not isinstance(line.get("body"), dict) or not line["body"].get("model"):
            problem = ("missing_required_parameter", "body", "body with a model is required")
        if problem:
            errors.append({"code": problem[0], "param": problem[1], "message": problem[2], "line": n})
            continue
        seen.add(line["custom_id"])
        models.add(line["body"]["model"])
    if len(models) > 1:
        errors.append({"code": "mixed_models", "message": "all requests of a batch must use one model",
                       "line": None, "param": "model"})
    return errors


def _error(kind: str, message: str) -> dict:
    return {"error": {"message": message, "type": kind, "param": None, "code": None}}


class _Handler(BaseHTTPRequestHandler):
    api: FakeBatchAPI
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:  # quiet
        return None

    def _route(self, method: str) -> tuple[str, ...]:
        self.api.log.append((method, self.path, self.headers.get("Authorization")))
        return tuple(p for p in self.path.split("?")[0].split("/") if p)[1:]  # without "v1"

    def do_GET(self) -> None:  # noqa: N802
        parts = self._route("GET")
        if parts == ("batches",):
            data = [self.api.public(b) for b in reversed(self.api.batches)]
            self._json(200, {"object": "list", "data": data, "first_id": data[0]["id"] if data else None,
                             "last_id": data[-1]["id"] if data else None, "has_more": False})
        elif len(parts) == 2 and parts[0] == "batches" and parts[1] in self.api.batches:
            self._json(200, self.api.poll(parts[1]))
        elif len(parts) == 3 and parts[0] == "files" and parts[2] == "content" and parts[1] in self.api.files:
            self._send(200, self.api.files[parts[1]]["content"], "application/octet-stream")
        else:
            self._json(404, _error("invalid_request_error", f"no route {self.path}"))

    def do_POST(self) -> None:  # noqa: N802
        parts = self._route("POST")
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if parts == ("files",):
            fields = _multipart(self.headers.get("Content-Type", ""), body)
            if "file" not in fields or fields.get("purpose", (None, b""))[1] != b"batch":
                self._json(400, _error("invalid_request_error", "file and purpose=batch are required"))
                return
            filename, content = fields["file"]
            self._json(200, self.api.add_file(content, filename=filename or "upload.jsonl", purpose="batch"))
        elif parts == ("batches",):
            status, batch = self.api.create_batch(json.loads(body or b"{}"))
            if status == 200 and self.api.lost_creates > 0:
                self.api.lost_creates -= 1
                status, batch = 500, _error("server_error", "The server had an error processing your request.")
            self._json(status, batch)
        elif len(parts) == 3 and parts[0] == "batches" and parts[2] == "cancel" and parts[1] in self.api.batches:
            self._json(200, self.api.cancel(parts[1]))
        else:
            self._json(404, _error("invalid_request_error", f"no route {self.path}"))

    def _json(self, status: int, payload: dict) -> None:
        self._send(status, json.dumps(payload).encode(), "application/json")

    def _send(self, status: int, data: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def _multipart(content_type: str, body: bytes) -> dict[str, tuple[str | None, bytes]]:
    """The fields of a multipart/form-data body: name → (filename, content)."""
    message = BytesParser(policy=HTTP).parsebytes(f"Content-Type: {content_type}\r\n\r\n".encode() + body)
    if not message.is_multipart():
        return {}
    return {part.get_param("name", header="content-disposition"): (part.get_filename(), part.get_payload(decode=True))
            for part in message.iter_parts()}
