"""The embedded server honours `max_completion_tokens` (the cap langchain-openai sends): body rewrite and middleware."""

from __future__ import annotations

import asyncio
import json

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from cx_worker.llm.llama_compat import MaxCompletionTokens, translate


def test_translate_copies_the_cap_into_max_tokens() -> None:
    out = json.loads(translate(json.dumps({"model": "m", "max_completion_tokens": 700}).encode()))
    assert out["max_tokens"] == 700
    assert out["max_completion_tokens"] == 700


@pytest.mark.parametrize(
    "body",
    [
        b'{"model": "m", "max_completion_tokens": 700, "max_tokens": 50}',  # an explicit max_tokens wins
        b'{"model": "m"}',                                                  # no cap at all: none invented
        b'{"max_completion_tokens": true}',                                 # not a number
        b'{"max_completion_tokens": "700"}',
        b"[1, 2]",
        b"not json",
        b"\xff\xfe",
    ],
)
def test_translate_leaves_other_bodies_byte_for_byte(body: bytes) -> None:
    assert translate(body) == body


async def _echo(request: Request) -> JSONResponse:
    body = await request.body()
    return JSONResponse({"body": body.decode(errors="replace"), "length": request.headers.get("content-length")})


def _client() -> TestClient:
    routes = [Route(path, _echo, methods=["GET", "POST"]) for path in ("/v1/chat/completions", "/v1/embeddings")]
    app = Starlette(routes=routes)
    app.add_middleware(MaxCompletionTokens)
    return TestClient(app)


def test_middleware_rewrites_chat_completion_posts_and_fixes_content_length() -> None:
    got = _client().post("/v1/chat/completions", json={"messages": [], "max_completion_tokens": 12}).json()
    assert json.loads(got["body"])["max_tokens"] == 12
    assert int(got["length"]) == len(got["body"].encode())


def test_middleware_leaves_other_paths_and_methods_alone() -> None:
    client = _client()
    other = client.post("/v1/embeddings", json={"max_completion_tokens": 12}).json()
    assert "max_tokens" not in json.loads(other["body"])
    assert client.get("/v1/chat/completions").json()["body"] == ""


def test_middleware_joins_a_body_sent_in_parts_and_passes_a_later_disconnect_on() -> None:
    seen: list[dict] = []

    async def app(scope, receive, send):
        seen.append(await receive())
        seen.append(await receive())

    parts = [{"type": "http.request", "body": b'{"max_completion_', "more_body": True},
             {"type": "http.request", "body": b'tokens": 5}', "more_body": False},
             {"type": "http.disconnect"}]

    async def receive():
        return parts.pop(0)

    async def send(message):
        pass

    scope = {"type": "http", "method": "POST", "path": "/v1/chat/completions",
             "headers": [(b"content-length", b"28")]}
    asyncio.run(MaxCompletionTokens(app)(scope, receive, send))
    assert json.loads(seen[0]["body"]) == {"max_completion_tokens": 5, "max_tokens": 5}
    assert seen[0]["more_body"] is False
    assert seen[1] == {"type": "http.disconnect"}
