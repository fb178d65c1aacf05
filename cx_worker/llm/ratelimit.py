"""Requests and tokens per minute for LLM calls, shared by the concurrent calls of a run.

A sliding one-minute window per limit: a request is admitted only when the requests (and the tokens) admitted in
the last 60 seconds, plus its own, stay within `rpm` (and `tpm`); otherwise its thread waits until enough of the
window has expired. That is the guarantee an account's limits state ("N per minute"), and it holds whatever the
provider's own accounting is (fixed window, sliding window or a token bucket refilled at limit/60 per second: a
client that never exceeds the limit in any 60-second window never empties such a bucket).

A request's tokens are what providers reserve when they admit it: the prompt (estimated, `context_limit`) plus
`max_tokens`. The limiter is thread-safe; the clock and the sleep are injectable, so tests need no real waiting.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

WINDOW = 60.0


class RateLimiter:
    """At most `rpm` requests and `tpm` tokens in any 60-second window (None: that limit is off)."""

    def __init__(
        self,
        *,
        rpm: int | None = None,
        tpm: int | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        for name, value in (("rpm", rpm), ("tpm", tpm)):
            if value is not None and value < 1:
                raise ValueError(f"{name} must be at least 1, got {value}")
        self.rpm, self.tpm = rpm, tpm
        self._clock, self._sleep = clock, sleep
        self._admitted: deque[tuple[float, int]] = deque()  # (time, tokens) of each request in the window
        self._tokens = 0
        self._lock = threading.Lock()
        self.requests = 0
        self.waited = 0.0  # seconds spent waiting, summed over all callers

    @classmethod
    def from_settings(cls, settings) -> RateLimiter | None:
        """The limiter for `settings.llm_rpm` / `settings.llm_tpm`; None when both are unset."""
        if settings.llm_rpm is None and settings.llm_tpm is None:
            return None
        return cls(rpm=settings.llm_rpm, tpm=settings.llm_tpm)

    def acquire(self, *, tokens: int = 0) -> float:
        """Wait until one request of `tokens` tokens fits both limits, and count it; returns the seconds waited.

        Raises:
            ValueError: the request alone is over `tpm`, so it could never be admitted.
        """
        if self.tpm is not None and tokens > self.tpm:
            raise ValueError(f"one request of ~{tokens} tokens is over the limit of {self.tpm} tokens per minute")
        waited = 0.0
        while True:
            with self._lock:
                now = self._clock()
                self._expire(now)
                wait = self._wait(now, tokens)
                if wait <= 0:
                    self._admitted.append((now, tokens))
                    self._tokens += tokens
                    self.requests += 1
                    self.waited += waited
                    return waited
            # Sleep outside the lock, then look again: another thread may have taken the room meanwhile.
            self._sleep(wait)
            waited += wait

    def _expire(self, now: float) -> None:
        while self._admitted and self._admitted[0][0] <= now - WINDOW:
            self._tokens -= self._admitted.popleft()[1]

    def _wait(self, now: float, tokens: int) -> float:
        """Seconds until the window has room for one more request of `tokens` (0: room now)."""
        wait = 0.0
        if self.rpm is not None and len(self._admitted) + 1 > self.rpm:
            oldest = self._admitted[len(self._admitted) - self.rpm][0]
            wait = max(wait, oldest + WINDOW - now)
        if self.tpm is not None and self._tokens + tokens > self.tpm:
            freed, excess = 0, self._tokens + tokens - self.tpm
            for at, spent in self._admitted:
                freed += spent
                if freed >= excess:
                    wait = max(wait, at + WINDOW - now)
                    break
        return wait
