"""What ops see while a run goes: a progress bar on a terminal, timed lines anywhere else, and the stages.

Nothing here prints by itself: stage messages and progress lines are records of the `cx_worker` logger at INFO,
which the CLI shows on stderr (`show_progress`); a Prefect worker or a cron job's log captures the same lines. Only
the bar, which needs a terminal, writes to stderr directly.
"""

from __future__ import annotations

import logging
import sys
import threading
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
    elapsed, about 4m20s left", at each quarter and at least every `LINE_SECONDS`, also while no contact finishes
    (a chunk's contacts are counted when the chunk is done), so a night whose output is a file or a pipe is never
    silent for long.
    """
    if total == 0:
        yield None
        return
    if not enabled:
        lines = _Lines(total, label)
        stop = threading.Event()
        beat = threading.Thread(target=lines.heartbeat, args=(stop,), name="cx-progress", daemon=True)
        beat.start()
        try:
            yield lines.tick
        finally:
            stop.set()
            beat.join(timeout=5)
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
        self.lock = threading.Lock()
        stage("%s: %d contacts", label, total)

    def tick(self) -> None:
        with self.lock:
            self.done += 1
            now = time.monotonic()
            quarter = 4 * self.done // self.total
            if quarter > self.quarter or now - self.last >= LINE_SECONDS:
                self.quarter, self.last = quarter, now
                self._line(now)

    def heartbeat(self, stop: threading.Event) -> None:
        """A line whenever `LINE_SECONDS` pass without one, until `stop` is set."""
        while not stop.wait(LINE_SECONDS / 3):
            with self.lock:
                now = time.monotonic()
                if now - self.last >= LINE_SECONDS:
                    self.last = now
                    self._line(now)

    def _line(self, now: float) -> None:
        elapsed = now - self.started
        if self.done == 0:
            tail = ", the first contacts still drafting"
        elif self.done < self.total:
            tail = f", about {_clock(elapsed / self.done * (self.total - self.done))} left"
        else:
            tail = ""
        stage("%s %d/%d (%d%%), %s elapsed%s", self.label, self.done, self.total, 100 * self.done // self.total,
              _clock(elapsed), tail)


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(round(seconds)), 60)
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


@contextmanager
def show_progress(stream=None, *, enabled: bool = True) -> Iterator[logging.Handler | None]:
    """Show the run's stage and progress lines on `stream` (stderr) for the block: what the CLI does around a run.

    Shown here, they do not also go to the root logger's handlers for the block (Prefect puts its console handler
    there: every line came out twice, once with Prefect's timestamp); the logger is as it was after.
    """
    if not enabled:
        yield None
        return
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(logging.Formatter("cx-worker: %(message)s"))
    root = logging.getLogger("cx_worker")
    before = root.level, root.propagate
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    root.propagate = False
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(before[0])
        root.propagate = before[1]
