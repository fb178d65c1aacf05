"""No work thrown away on the embedded server: a resent request joins the computation already under way.

The embedded llama.cpp server has one slot and does not stop a non-streaming completion whose client went away.
When a request outlives the client's timeout on a busy machine, the client sends it again and, before this
middleware, the server computed the same answer twice or three times in a row (429 s for one contact).

`Coalesce` is an ASGI middleware on the server's completion endpoints. Requests are greedy (temperature 0), so the
same body always gets the same answer: a request whose body is byte-identical to one being computed waits for that
computation and gets its response; one identical to a request answered in the last minutes gets the stored
response. Nothing is computed twice. Requests that sample (temperature above 0) pass through untouched.

`GET /cx/stats` says what happened: requests seen, retries (the OpenAI SDK's `x-stainless-retry-count` above 0),
requests answered by another's computation (`joined`, `replayed`) and computations the model actually ran.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from cx_worker.llm.llama_compat import ASGIApp, Message, Receive, Scope, Send

STATS_PATH = "/cx/stats"
_PATHS = "/completions"  # also matches /chat/completions
_KEEP = 64  # answered requests kept for a late retry (each a few kB of JSON)
_KEEP_SECONDS = 1800.0


@dataclass
class _Computation:
    done: asyncio.Event = field(default_factory=asyncio.Event)
    messages: list[Message] = field(default_factory=list)
    ok: bool = False
    finished_at: float = 0.0


@dataclass
class CoalesceStats:
    requests: int = 0
    retries: int = 0
    joined: int = 0  # waited for an identical request still being computed
    replayed: int = 0  # answered from an identical request computed earlier
    computed: int = 0

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


class Coalesce:
    """ASGI middleware: identical greedy completion requests are computed once (see the module docstring)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.stats = CoalesceStats()
        self._running: dict[str, _Computation] = {}
        self._answered: OrderedDict[str, _Computation] = OrderedDict()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope.get("type") == "http" and scope.get("method") == "GET" and scope.get("path") == STATS_PATH:
            await _send_json(send, self.stats.as_dict())
            return
        if scope.get("type") != "http" or scope.get("method") != "POST" or not scope.get("path", "").endswith(_PATHS):
            await self.app(scope, receive, send)
            return
        body, first = await _read_body(receive)
        replay = _replay({"type": "http.request", "body": body, "more_body": False} if first is None else first,
                         receive)
        self.stats.requests += 1
        if _retry_count(scope) > 0:
            self.stats.retries += 1
        key = _key(scope, body) if first is None else None
        if key is None:  # not greedy, or the client left before its body arrived: nothing to share
            await self.app(scope, replay, send)
            return
        self._forget_old()
        if (earlier := self._answered.get(key)) is not None:
            self.stats.replayed += 1
            await _send_all(send, earlier.messages)
            return
        if (running := self._running.get(key)) is not None:
            self.stats.joined += 1
            await running.done.wait()
            if running.ok:
                await _send_all(send, running.messages)
                return
            # the first computation failed: compute this one itself (below)
        await self._compute(key, scope, replay, send)

    async def _compute(self, key: str, scope: Scope, receive: Receive, send: Send) -> None:
        mine = _Computation()
        self._running[key] = mine

        async def keep(message: Message) -> None:
            mine.messages.append(message)
            await send(message)  # uvicorn drops what is sent to a client that went away

        self.stats.computed += 1
        try:
            await self.app(scope, receive, keep)
            mine.ok = _status(mine.messages) == 200
        finally:
            mine.finished_at = time.monotonic()
            self._running.pop(key, None)
            if mine.ok:
                self._answered[key] = mine
                while len(self._answered) > _KEEP:
                    self._answered.popitem(last=False)
            mine.done.set()

    def _forget_old(self) -> None:
        cutoff = time.monotonic() - _KEEP_SECONDS
        for key in [k for k, c in self._answered.items() if c.finished_at < cutoff]:
            del self._answered[key]


def _key(scope: Scope, body: bytes) -> str | None:
    """The request's identity, or None if its answer may differ from one call to the next (it samples)."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(data, dict) or data.get("stream") or data.get("temperature", 1) != 0:
        return None
    return hashlib.sha256(scope.get("path", "").encode() + b"\0" + body).hexdigest()


def _retry_count(scope: Scope) -> int:
    for name, value in scope.get("headers", []):
        if name.lower() == b"x-stainless-retry-count":
            try:
                return int(value)
            except ValueError:
                return 0
    return 0


def _status(messages: list[Message]) -> int | None:
    return next((m.get("status") for m in messages if m.get("type") == "http.response.start"), None)


async def _read_body(receive: Receive) -> tuple[bytes, Message | None]:
    """The whole request body; or the message that ended the request before its body did (a disconnect)."""
    parts: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"", message
        parts.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(parts), None


def _replay(first: Message, receive: Receive) -> Receive:
    pending = [first]

    async def _receive() -> Message:
        return pending.pop() if pending else await receive()

    return _receive


async def _send_all(send: Send, messages: list[Message]) -> None:
    for message in messages:
        await send(message)


async def _send_json(send: Send, payload: dict[str, Any]) -> None:
    body = json.dumps(payload).encode()
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})

