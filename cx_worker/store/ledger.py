"""The CRM ledger: every note with its delivery state (pending, delivered, held, failed), and every release of a
held run. `crm.sqlite` in the data dir by default, or the tables `notes` and `releases` of a database server.

The note's key (interaction id + prompt hash + model) is its primary key: a re-run can never record a second note.
A note is delivered under a claim (`Ledger.claim`): on a database server, two processes writing back at once never
deliver one note twice.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Connection, select, update

from cx_worker.models import NotePayload
from cx_worker.store import schema as t
from cx_worker.store.engine import make_engine, migrate, now, upsert
from cx_worker.store.records import Note, Release

_DELIVERABLE = ("pending", "failed")


class Ledger:
    """The notes and releases, in a SQLite file (`path`) or a database server (a URL)."""

    def __init__(self, target: Path | str) -> None:
        self.target = target
        self.engine = make_engine(target)
        migrate(self.engine, component="ledger", steps=t.LEDGER_MIGRATIONS)

    def close(self) -> None:
        self.engine.dispose()

    def status(self, note_key: str) -> str | None:
        with self.engine.connect() as conn:
            return conn.execute(select(t.notes.c.status).where(t.notes.c.note_key == note_key)).scalar_one_or_none()

    def put_note(self, note_key: str, *, payload: NotePayload, body: str, status: str) -> str:
        """Record a note (or re-record it, keeping its creation time, attempts and revision), unless it was delivered:
        a delivered note stays as it is, even if another writer delivered it a moment ago. Returns its status."""
        with self.engine.begin() as conn:
            upsert(conn, t.notes, {
                "note_key": note_key, "interaction_id": payload.interaction_id, "run_id": payload.run_id,
                "status": status, "body": body, "payload": payload.model_dump_json(), "created_at": now()},
                keys=("note_key",), update=("run_id", "status", "body", "payload"),
                where=t.notes.c.status != "delivered")
            return conn.execute(select(t.notes.c.status).where(t.notes.c.note_key == note_key)).scalar_one()

    def revise(self, note_key: str, *, payload: NotePayload, body: str, status: str) -> None:
        """A reviewer's new revision of a note."""
        with self.engine.begin() as conn:
            conn.execute(update(t.notes).where(t.notes.c.note_key == note_key).values(
                payload=payload.model_dump_json(), body=body, status=status, revision=t.notes.c.revision + 1))

    def deliverable(self, *, run_id: str | None = None) -> list[Note]:
        """Notes waiting for delivery: pending, and earlier failed ones (retried), oldest first."""
        n = t.notes.c
        query = select(t.notes).where(n.status.in_(_DELIVERABLE))
        if run_id is not None:
            query = query.where(n.run_id == run_id)
        with self.engine.connect() as conn:
            return [_note(r) for r in conn.execute(query.order_by(n.created_at, n.interaction_id)).mappings()]

    @contextmanager
    def claim(self, note_key: str) -> Iterator[NoteClaim | None]:
        """Take a deliverable note (pending, or failed earlier) for delivery, for the block; None when it is no longer
        deliverable or another writer holds it.

        On a database server the note's row stays locked (`SELECT ... FOR UPDATE SKIP LOCKED`) until the block ends
        and its new state is committed with it: two processes writing back the same notes at once deliver each
        exactly once, and a process that dies mid-delivery leaves the note pending for the next run. A SQLite ledger
        has one writer at a time (the run's lock on the data dir): the note's state is read again, not locked.
        """
        n = t.notes.c
        query = select(t.notes).where(n.note_key == note_key, n.status.in_(_DELIVERABLE))
        if self.engine.dialect.name != "postgresql":
            with self.engine.connect() as conn:
                row = conn.execute(query).mappings().first()
            yield NoteClaim(self, _note(row), None) if row else None
            return
        with self.engine.connect() as conn, conn.begin():
            row = conn.execute(query.with_for_update(skip_locked=True)).mappings().first()
            yield NoteClaim(self, _note(row), conn) if row else None

    def mark_delivered(self, note_key: str, *, sink: str, conn: Connection | None = None) -> None:
        self._mark(note_key, conn, status="delivered", delivered_at=now(), last_error=None, sink=sink)

    def mark_failed(self, note_key: str, *, sink: str, error: str, conn: Connection | None = None) -> None:
        self._mark(note_key, conn, status="failed", last_error=error[:500], sink=sink)

    def _mark(self, note_key: str, conn: Connection | None, **values) -> None:
        statement = update(t.notes).where(t.notes.c.note_key == note_key).values(
            attempts=t.notes.c.attempts + 1, **values)
        if conn is not None:  # inside a claim's transaction
            conn.execute(statement)
            return
        with self.engine.begin() as own:
            own.execute(statement)

    def release(self, run_id: str, *, by: str, reason: str) -> int:
        """Turn a run's held notes pending, and record who released them and why; returns how many."""
        n = t.notes.c
        with self.engine.begin() as conn:
            released = conn.execute(update(t.notes).where(n.run_id == run_id, n.status == "held")
                                    .values(status="pending")).rowcount
            conn.execute(t.releases.insert().values(run_id=run_id, released_by=by, reason=reason, notes=released,
                                                    at=now()))
        return released

    def releases(self, run_id: str | None = None) -> list[Release]:
        query = select(t.releases).order_by(t.releases.c.at)
        if run_id is not None:
            query = query.where(t.releases.c.run_id == run_id)
        with self.engine.connect() as conn:
            return [Release.model_validate(dict(r)) for r in conn.execute(query).mappings()]

    def notes(self, interaction_id: str | None = None, *, status: str | None = None) -> list[Note]:
        """Notes, oldest first, optionally for one interaction and/or one status."""
        n = t.notes.c
        query = select(t.notes).order_by(n.created_at, n.interaction_id)
        if interaction_id is not None:
            query = query.where(n.interaction_id == interaction_id)
        if status is not None:
            query = query.where(n.status == status)
        with self.engine.connect() as conn:
            return [_note(r) for r in conn.execute(query).mappings()]


@dataclass
class NoteClaim:
    """A note taken for delivery (`Ledger.claim`): say how the delivery went, once."""

    ledger: Ledger
    note: Note
    conn: Connection | None

    def delivered(self, *, sink: str) -> None:
        self.ledger.mark_delivered(self.note.note_key, sink=sink, conn=self.conn)

    def failed(self, *, sink: str, error: str) -> None:
        self.ledger.mark_failed(self.note.note_key, sink=sink, error=error, conn=self.conn)


def _note(row) -> Note:
    return Note.model_validate({**row, "payload": json.loads(row["payload"])})
