"""The LLM rate limiter: requests and tokens per minute, on an injected clock (nothing sleeps for real)."""

from __future__ import annotations

import json
import threading

import pytest

from cx_worker.drafting.after_call_work import load_dispositions, output_model
from cx_worker.drafting.context_limit import estimate_tokens
from cx_worker.drafting.draft import draft
from cx_worker.llm.ratelimit import RateLimiter
from cx_worker.models import Interaction
from cx_worker.settings import Settings
from cx_worker.store import Store
from tests.support.fakes import WORK, FakeLLM


class Clock:
    """A fake monotonic clock; `sleep` moves it forward. Thread-safe."""

    def __init__(self) -> None:
        self.now = 0.0
        self.lock = threading.Lock()

    def __call__(self) -> float:
        with self.lock:
            return self.now

    def sleep(self, seconds: float) -> None:
        with self.lock:
            self.now += seconds


def _limiter(clock: Clock, **limits) -> RateLimiter:
    return RateLimiter(clock=clock, sleep=clock.sleep, **limits)


def _most_in_any_minute(times: list[float], weights: list[int] | None = None) -> int:
    weights = weights or [1] * len(times)
    return max(sum(w for t, w in zip(times, weights) if start <= t < start + 60) for start in times)


def test_requests_per_minute_hold_in_every_window():
    clock = Clock()
    limiter = _limiter(clock, rpm=3)
    admitted = []
    for _ in range(7):
        limiter.acquire()
        admitted.append(clock())
    assert admitted == [0, 0, 0, 60, 60, 60, 120]
    assert _most_in_any_minute(admitted) == 3 and limiter.waited == 120


def test_tokens_per_minute_count_what_each_request_reserves():
    clock = Clock()
    limiter = _limiter(clock, tpm=1000)
    sizes = [400, 400, 400, 100, 900]
    admitted = []
    for size in sizes:
        limiter.acquire(tokens=size)
        admitted.append(clock())
    assert admitted == [0, 0, 60, 60, 120]
    assert _most_in_any_minute(admitted, sizes) <= 1000


def test_the_tighter_of_both_limits_wins():
    clock = Clock()
    limiter = _limiter(clock, rpm=10, tpm=500)
    for _ in range(3):
        limiter.acquire(tokens=200)
    assert clock() == 60  # the third 200-token request waited for the token window, not the request window


def test_waiting_is_only_as_long_as_needed():
    clock = Clock()
    limiter = _limiter(clock, rpm=2)
    limiter.acquire()
    clock.sleep(45)
    limiter.acquire()
    assert limiter.acquire() == 15  # the first request leaves the window at t=60


def test_a_request_bigger_than_the_token_limit_is_refused_not_waited_for_forever():
    with pytest.raises(ValueError, match="over the limit"):
        _limiter(Clock(), tpm=100).acquire(tokens=101)


def test_no_limits_means_no_limiter():
    assert RateLimiter.from_settings(Settings()) is None
    limiter = RateLimiter.from_settings(Settings(llm_rpm=60, llm_tpm=90_000))
    assert (limiter.rpm, limiter.tpm) == (60, 90_000)


def test_concurrent_callers_share_one_limit():
    clock = Clock()
    limiter = _limiter(clock, rpm=5)
    threads = [threading.Thread(target=lambda: [limiter.acquire() for _ in range(5)]) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert limiter.requests == 20
    assert clock() >= 180  # 20 requests at 5 a minute need at least four windows: t=0, 60, 120, 180


def test_the_nightly_drafting_goes_through_the_limiter(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(RateLimiter, "acquire", lambda self, *, tokens=0: calls.append(tokens) or 0.0)
    settings = Settings(data_dir=tmp_path, llm_rpm=100, llm_tpm=100_000, llm_concurrency=3, llm_max_tokens=700)
    contacts = [Interaction(id=f"c{i}", channel="chat", turns=[{"speaker": "customer", "text": f"Help {i}"}])
                for i in range(6)]
    store = Store(settings.store_path)
    for c in contacts:
        store.put_contact(c.id, run_id="r", input_hash="h", redacted=c, pii_counts={},
                          status="pending")
    llm = FakeLLM(WORK)
    llm.max_tokens = 700
    counts = draft(contacts, llm=llm, settings=settings, dispositions=load_dispositions(settings.dispositions),
                          store=store, run_id="r")
    assert counts["drafted"] == 6 and len(calls) == 6
    # prompt estimate + the tool definition sent beside it + max_tokens
    codes = tuple(d.code for d in load_dispositions(settings.dispositions))
    tool = estimate_tokens(json.dumps(output_model(codes, ()).model_json_schema()))
    assert tool > 500
    assert all(tokens > 700 + tool for tokens in calls)
