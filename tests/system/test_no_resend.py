"""A request that outlives the client's timeout on the single-slot embedded server is not computed again: through
uvicorn and the real OpenAI SDK (timeout, retries), the resent request joins the computation under way.

The model is a stand-in (a one-slot app that takes longer than the client waits); the middleware, server and
client are the real ones the nightly uses. Without `Coalesce` the same client makes the model compute again.
"""

import asyncio
import json
import time
from contextlib import ExitStack

import httpx
import openai
import pytest

from cx_worker.llm.coalesce import STATS_PATH, Coalesce
from tests.support.asgi import serving

SECONDS = 2.5  # one computation; the client gives up after 1 s


class OneSlotModel:
    """Like llama_cpp.server: one computation at a time, each `SECONDS` long, not stopped when its client leaves."""

    def __init__(self):
        self.calls = 0
        self.lock = asyncio.Lock()

    async def __call__(self, scope, receive, send):
        body = json.loads((await receive())["body"])
        async with self.lock:
            self.calls += 1
            await asyncio.sleep(SECONDS)
        answer = {"id": f"c{self.calls}", "object": "chat.completion", "created": 0, "model": body["model"],
                  "choices": [{"index": 0, "finish_reason": "stop",
                               "message": {"role": "assistant", "content": f"answer {self.calls}"}}],
                  "usage": {"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7}}
        data = json.dumps(answer).encode()
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]})
        await send({"type": "http.response.body", "body": data})


@pytest.fixture
def served():
    with ExitStack() as running:
        yield lambda app: running.enter_context(serving(app))


def _ask(url: str) -> str:
    client = openai.OpenAI(base_url=f"{url}/v1", api_key="not-needed", timeout=1.0, max_retries=3)
    reply = client.chat.completions.create(model="m", temperature=0, messages=[{"role": "user", "content": "hi"}])
    return reply.choices[0].message.content


def test_a_timed_out_request_is_answered_by_the_computation_under_way_not_computed_again(served):
    model = OneSlotModel()
    url = served(Coalesce(model))
    assert _ask(url) == "answer 1"
    time.sleep(SECONDS)  # anything wrongly queued would have started by now
    assert model.calls == 1
    stats = httpx.get(f"{url}{STATS_PATH}").json()
    assert stats["retries"] >= 1 and stats["computed"] == 1 and stats["joined"] + stats["replayed"] >= 1


def test_without_the_middleware_the_same_client_makes_the_model_compute_again(served):
    model = OneSlotModel()
    url = served(model)
    with pytest.raises(openai.APITimeoutError):  # every resend queues behind the one before it, and times out too
        _ask(url)
    time.sleep(SECONDS)
    assert model.calls >= 2  # the same answer computed again and again: the failure Coalesce exists for
