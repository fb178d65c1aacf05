"""`Coalesce`: identical greedy requests to the embedded server are computed once, whatever the client resends."""

from __future__ import annotations

import asyncio
import json

from cx_worker.llm.coalesce import STATS_PATH, Coalesce


class SlowModel:
    """An ASGI app standing in for llama_cpp.server: one slot, `seconds` a computation, counts them."""

    def __init__(self, seconds: float = 0.2, status: int = 200):
        self.seconds, self.status, self.calls = seconds, status, 0

    async def __call__(self, scope, receive, send):
        self.calls += 1
        body = json.loads((await receive())["body"])
        await asyncio.sleep(self.seconds)
        answer = json.dumps({"n": self.calls, "echo": body["messages"]}).encode()
        await send({"type": "http.response.start", "status": self.status, "headers": []})
        await send({"type": "http.response.body", "body": answer})


def _request(body: dict, *, retry: int = 0, path: str = "/v1/chat/completions", method: str = "POST"):
    scope = {"type": "http", "method": method, "path": path,
             "headers": [(b"x-stainless-retry-count", str(retry).encode())]}
    sent = [{"type": "http.request", "body": json.dumps(body).encode(), "more_body": False}]

    async def receive():
        if sent:
            return sent.pop()
        await asyncio.sleep(3600)

    out: list = []

    async def send(message):
        out.append(message)

    return scope, receive, send, out


def _body(out: list) -> dict:
    return json.loads(b"".join(m.get("body", b"") for m in out if m["type"] == "http.response.body"))


GREEDY = {"model": "m", "temperature": 0, "messages": [{"role": "user", "content": "hello"}]}


def test_a_resend_while_the_first_is_computed_joins_it_and_the_model_runs_once():
    async def overlapping():
        model = SlowModel(0.3)
        app = Coalesce(model)
        first, retry = _request(GREEDY), _request(GREEDY, retry=1)

        async def late():
            await asyncio.sleep(0.1)  # the client timed out and resent while the model still works
            await app(*retry[:3])

        await asyncio.gather(app(*first[:3]), late())
        return model, app, first[3], retry[3]

    model, app, first, retry = asyncio.run(overlapping())
    assert model.calls == 1
    assert _body(first) == _body(retry) == {"n": 1, "echo": GREEDY["messages"]}
    assert app.stats.as_dict() == {"requests": 2, "retries": 1, "joined": 1, "replayed": 0, "computed": 1}


def test_a_resend_after_the_answer_is_replayed_and_a_different_request_is_computed():
    async def main():
        model = SlowModel(0.01)
        app = Coalesce(model)
        a, again, other = _request(GREEDY), _request(GREEDY, retry=2), _request(GREEDY | {"messages": []})
        for r in (a, again, other):
            await app(*r[:3])
        return model, app, a[3], again[3], other[3]

    model, app, a, again, other = asyncio.run(main())
    assert model.calls == 2 and _body(a) == _body(again) and _body(other)["n"] == 2
    assert app.stats.replayed == 1 and app.stats.computed == 2


def test_sampling_requests_are_never_shared():
    async def main():
        model = SlowModel(0.05)
        app = Coalesce(model)
        sampled = GREEDY | {"temperature": 0.7}
        x, y = _request(sampled), _request(sampled)
        await asyncio.gather(app(*x[:3]), app(*y[:3]))
        return model

    assert asyncio.run(main()).calls == 2


def test_a_failed_computation_is_not_shared_the_waiting_resend_computes_itself():
    async def main():
        model = SlowModel(0.2, status=500)
        app = Coalesce(model)
        first, retry = _request(GREEDY), _request(GREEDY, retry=1)

        async def late():
            await asyncio.sleep(0.05)
            await app(*retry[:3])

        await asyncio.gather(app(*first[:3]), late())
        return model, app

    model, app = asyncio.run(main())
    assert model.calls == 2 and app.stats.joined == 1 and app.stats.computed == 2


def test_stats_are_served():
    async def main():
        app = Coalesce(SlowModel(0.01))
        await app(*_request(GREEDY)[:3])
        stats = _request({}, path=STATS_PATH, method="GET")
        await app(*stats[:3])
        return stats[3]

    assert _body(asyncio.run(main())) == {"requests": 1, "retries": 0, "joined": 0, "replayed": 0, "computed": 1}
