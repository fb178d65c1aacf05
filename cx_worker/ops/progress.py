"""What ops see while a run goes: a progress bar on a terminal, timed lines anywhere else, and the stages.

Nothing here prints by itself: stage messages and progress lines are records of the `cx_worker` logger at INFO,
which the CLI shows on stderr (`show_progress`); a Prefect worker or a cron job's log captures the same lines. Only
the bar, which needs a terminal, writes to stderr directly.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

log = logging.getLogger("cx_worker.progress")
LINE_SECONDS = 30.0  # a progress line at least this often when not on a terminal (and at every quarter)


def stage(message: str, *args: object) -> None:
    """Say what the run is doing now (a line on stderr from the CLI, a log line elsewhere)."""
    log.info(message, *args)


@contextmanager
def progress_bar(total: int, *, enabled: bool, label: str = "after-call work") -> Iterator[Callable[[], None] | None]:
    """Progress while contacts are drafted; yields the function that advances it by one contact.

    `enabled`: a bar on stderr (a terminal). Otherwise timed lines (`stage`): "after-call work 5/12 (42%), 3m10s
    elapsed, about 4m20s left", every `LINE_SECONDS` and at each quarter, so a night whose output is a file or a
    pipe is never silent for long.
    """
    if total == 0:
        yield None
        return
    if not enabled:
        yield _Lines(total, label).tick
        return
    columns = (TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
               TextColumn("eta"), TimeRemainingColumn())
    with Progress(*columns, console=Console(file=sys.stderr)) as bar:
        task = bar.add_task("draft", total=total)
        yield lambda: bar.advance(task)


class _Lines:
    def __init__(self, total: int, label: str):
        self.total, self.label, self.done = total, label, 0
        self.started = self.last = time.monotonic()
        self.quarter = 0
        stage("%s: %d contacts", label, total)

    def tick(self) -> None:
        self.done += 1
        now = time.monotonic()
        quarter = 4 * self.done // self.total
        if quarter > self.quarter or now - self.last >= LINE_SECONDS:
            self.quarter, self.last = quarter, now
            self._line(now)

    def _line(self, now: float) -> None:
        elapsed = now - self.started
        left = elapsed / self.done * (self.total - self.done)
        tail = f", about {_clock(left)} left" if self.done < self.total else ""
        stage("%s %d/%d (%d%%), %s elapsed%s", self.label, self.done, self.total, 100 * self.done // self.total,
              _clock(elapsed), tail)


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(round(seconds)), 60)
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


def show_progress(stream=None) -> logging.Handler:
    """Show the run's stage and progress lines on `stream` (stderr): what the CLI calls before a run."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(logging.Formatter("cx-worker: %(message)s"))
    root = logging.getLogger("cx_worker")
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    return handler
