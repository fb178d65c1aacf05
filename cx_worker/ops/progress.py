"""What ops see while a run goes: a progress bar on stderr."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn


@contextmanager
def progress_bar(total: int, *, enabled: bool) -> Iterator[Callable[[], None] | None]:
    """A progress bar on stderr while contacts are drafted; yields the function that advances it."""
    if not enabled or total == 0:
        yield None
        return
    columns = (TextColumn("after-call work"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
               TextColumn("eta"), TimeRemainingColumn())
    with Progress(*columns, console=Console(file=sys.stderr)) as bar:
        task = bar.add_task("draft", total=total)
        yield lambda: bar.advance(task)
