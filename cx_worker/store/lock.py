"""One nightly run at a time per store: a second run on the same data dir (or database) stops before it reads anything,
naming the run in progress.

The lock is the operating system's or the database's, not a row we would have to clean up: with SQLite files it is
an exclusive `flock` on `<store>.lock` beside them; with a database server it is a session-level advisory lock on
a connection held for the run. Either is released when the process ends, however it ends, so a crash or a
`kill -9` never leaves a stale lock behind: the next run simply takes it.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, text

from cx_worker.store.engine import now

_ADVISORY_KEY = 0x63785F72756E  # "cx_run"


class RunInProgress(RuntimeError):
    """Another run holds the store."""


@contextmanager
def file_lock(path: Path, *, run_id: str) -> Iterator[None]:
    """Hold an exclusive lock on `path` for the block; raise `RunInProgress` naming the holder if it is taken."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RunInProgress(_busy(_holder(fd), where=str(path.parent))) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps({"run_id": run_id, "pid": os.getpid(), "host": socket.gethostname(),
                                  "since": now()}).encode(), 0)
        try:
            yield
        finally:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


@contextmanager
def advisory_lock(engine: Engine, *, run_id: str, holder: Callable[[], str | None]) -> Iterator[None]:
    """Hold the store's advisory lock on a database server for the block (released if the process dies)."""
    with engine.connect() as conn:
        taken = conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": _ADVISORY_KEY}).scalar()
        conn.commit()
        if not taken:
            raise RunInProgress(_busy({"run_id": holder()}, where="this database"))
        try:
            yield
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _ADVISORY_KEY})
            conn.commit()


def _holder(fd: int) -> dict:
    try:
        return json.loads(os.pread(fd, 4096, 0) or b"{}")
    except ValueError:
        return {}


def _busy(holder: dict, *, where: str) -> str:
    who = f"run {holder.get('run_id') or '(unknown)'}"
    if holder.get("pid"):
        who += f" (pid {holder['pid']} on {holder.get('host', '?')}, since {holder.get('since', '?')})"
    return f"another run is in progress on {where}: {who}; wait for it to finish (a crashed run frees it at once)"

