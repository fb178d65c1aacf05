"""Make the embedded llama_cpp.server honour the OpenAI output cap `max_completion_tokens`.

langchain-openai (and the OpenAI SDK's current docs) send the output cap as `max_completion_tokens`; the server of
llama-cpp-python 0.3.36 reads only the older `max_tokens` and ignores unknown fields. Without this, `CX_LLM_MAX_TOKENS`
does nothing on the embedded model: a looping answer runs to the end of the context window (minutes on 2 cores),
past `CX_LLM_TIMEOUT`, and the client's retry then queues a second copy behind it.

`MaxCompletionTokens` is an ASGI middleware, installed by the server's bootstrap (`llm_server._BOOTSTRAP`), that
copies `max_completion_tokens` into `max_tokens` on chat-completion requests that do not set `max_tokens`. The
request our client sends (and the cassettes record) is unchanged; only what the server reads is.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_PATHS = "/completions"  # also matches /chat/completions


def translate(body: bytes) -> bytes:
    """The request body with `max_tokens` set from `max_completion_tokens` when only the latter is given.

    Anything that is not a JSON object, or already has `max_tokens`, is returned unchanged (byte for byte).
    """
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return body
    if not isinstance(data, dict) or data.get("max_tokens") is not None:
        return body
    cap = data.get("max_completion_tokens")
    if not isinstance(cap, int) or isinstance(cap, bool):
        return body
    data["max_tokens"] = cap
    return json.dumps(data).encode()


class MaxCompletionTokens:
    """ASGI middleware applying `translate` to POST bodies of the completion endpoints."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope.get("type") != "http" or scope.get("method") != "POST" or not scope.get("path", "").endswith(_PATHS):
            await self.app(scope, receive, send)
            return
        parts: list[bytes] = []
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away before sending its body
                await self.app(scope, _replay(message, receive), send)
                return
            parts.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = translate(b"".join(parts))
        headers = [(k, v) for k, v in scope.get("headers", []) if k.lower() != b"content-length"]
        headers.append((b"content-length", str(len(body)).encode()))
        scope = dict(scope, headers=headers)
        await self.app(scope, _replay({"type": "http.request", "body": body, "more_body": False}, receive), send)


def _replay(first: Message, receive: Receive) -> Receive:
    """A receive callable that yields `first` once, then whatever the connection sends (e.g. a disconnect)."""
    pending = [first]

    async def _receive() -> Message:
        return pending.pop() if pending else await receive()

    return _receive

