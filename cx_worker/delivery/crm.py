"""CRM write-back: one note per contact, where agents read it.

Every note first goes into a ledger (`crm.sqlite` under the data dir) with its delivery state — pending, delivered,
held or failed — and is then delivered by the configured sink: the embedded SQLite CRM itself (default) or a signed
webhook (`cx_worker.delivery.webhook`). A note's key is interaction id + prompt hash + model: a re-run can never create or
send a second note. Notes of a run whose evals breached a threshold are `held`: nothing reaches agents until a
reviewer releases them.
"""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from cx_worker.delivery.notes import note_key, render_note
from cx_worker.delivery.sinks import Delivery, DeliveryError, EmbeddedDelivery
from cx_worker.delivery.webhook import WebhookDelivery

_SCHEMA = """
CREATE TABLE IF NOT EXISTS notes (
    note_key TEXT PRIMARY KEY, interaction_id TEXT NOT NULL, run_id TEXT NOT NULL, status TEXT NOT NULL,
    body TEXT NOT NULL, payload TEXT NOT NULL, created_at TEXT NOT NULL, delivered_at TEXT,
    attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT, sink TEXT, revision INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS notes_by_interaction ON notes (interaction_id, created_at);
CREATE TABLE IF NOT EXISTS releases (
    run_id TEXT NOT NULL, released_by TEXT NOT NULL, reason TEXT NOT NULL, notes INTEGER NOT NULL, at TEXT NOT NULL
);
"""



def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class SqliteCrm:
    """The note ledger and embedded CRM, delivering through `delivery` (default: embedded)."""

    def __init__(self, path: Path, *, delivery: Delivery | None = None) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.delivery = delivery or EmbeddedDelivery()
        self.db = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
        self.db.row_factory = sqlite3.Row
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.executescript(_SCHEMA)
        columns = {r["name"] for r in self.db.execute("PRAGMA table_info(notes)")}
        for column, ddl in (("attempts", "INTEGER NOT NULL DEFAULT 0"), ("last_error", "TEXT"), ("sink", "TEXT"),
                            ("revision", "INTEGER NOT NULL DEFAULT 0")):
            if column not in columns:  # a ledger written by an earlier version
                self.db.execute(f"ALTER TABLE notes ADD COLUMN {column} {ddl}")

    def close(self) -> None:
        self.db.close()

    def write(self, payload: dict[str, Any], *, hold: bool) -> str:
        """Record one note as `held` or `pending`; a note already delivered stays as it is. Returns its status."""
        key = note_key(payload["interaction_id"], prompt_hash=payload["prompt_hash"], model=payload["model"])
        existing = self.db.execute("SELECT status FROM notes WHERE note_key = ?", (key,)).fetchone()
        if existing is not None and existing["status"] == "delivered":
            return "delivered"
        status = "held" if hold else "pending"
        self.db.execute(
            "INSERT INTO notes (note_key, interaction_id, run_id, status, body, payload, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(note_key) DO UPDATE SET "
            "run_id=excluded.run_id, status=excluded.status, body=excluded.body, payload=excluded.payload",
            (key, payload["interaction_id"], payload["run_id"], status, render_note(payload),
             json.dumps(payload, default=str), _now()),
        )
        return status

    def deliver_pending(self, *, run_id: str | None = None) -> Counter:
        """Deliver every pending (and earlier failed, retryable) note; returns counts of delivered and failed."""
        sql = "SELECT * FROM notes WHERE status IN ('pending', 'failed')"
        args: tuple = ()
        if run_id is not None:
            sql += " AND run_id = ?"
            args = (run_id,)
        counts: Counter = Counter()
        for row in self.db.execute(sql + " ORDER BY created_at, interaction_id", args).fetchall():
            note = {**dict(row), "payload": json.loads(row["payload"])}
            try:
                self.delivery.deliver(note)
            except DeliveryError as exc:
                self.db.execute("UPDATE notes SET status = 'failed', attempts = attempts + 1, last_error = ?, "
                                "sink = ? WHERE note_key = ?", (str(exc)[:500], self.delivery.name, row["note_key"]))
                counts["failed"] += 1
                continue
            self.db.execute("UPDATE notes SET status = 'delivered', delivered_at = ?, attempts = attempts + 1, "
                            "last_error = NULL, sink = ? WHERE note_key = ?",
                            (_now(), self.delivery.name, row["note_key"]))
            counts["delivered"] += 1
        return counts

    def release(self, run_id: str, *, by: str, reason: str) -> int:
        """Release a run's held notes after review and deliver them; the release is audited. Returns how many."""
        cur = self.db.execute("UPDATE notes SET status = 'pending' WHERE run_id = ? AND status = 'held'", (run_id,))
        released = cur.rowcount
        self.db.execute("INSERT INTO releases VALUES (?, ?, ?, ?, ?)", (run_id, by, reason, released, _now()))
        self.deliver_pending(run_id=run_id)
        return released

    def releases(self, run_id: str | None = None) -> list[dict[str, Any]]:
        sql, args = ("SELECT * FROM releases ORDER BY at", ()) if run_id is None else (
            "SELECT * FROM releases WHERE run_id = ? ORDER BY at", (run_id,))
        return [dict(r) for r in self.db.execute(sql, args)]

    def notes(self, interaction_id: str | None = None, *, status: str | None = None) -> list[dict[str, Any]]:
        """Notes, oldest first, optionally for one interaction and/or one status."""
        clauses, args = [], []
        if interaction_id is not None:
            clauses.append("interaction_id = ?")
            args.append(interaction_id)
        if status is not None:
            clauses.append("status = ?")
            args.append(status)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        rows = self.db.execute(f"SELECT * FROM notes {where} ORDER BY created_at, interaction_id", args)
        return [{**dict(r), "payload": json.loads(r["payload"])} for r in rows]

    def visible(self, interaction_id: str) -> dict[str, Any] | None:
        """The newest delivered note of a contact: what an agent sees. Held notes are invisible."""
        rows = self.notes(interaction_id, status="delivered")
        return rows[-1] if rows else None


def open_crm(settings) -> SqliteCrm:
    """The note ledger with the sink chosen in settings (`CX_CRM_SINK`)."""
    if settings.crm_sink == "webhook":
        return SqliteCrm(settings.data_dir / "crm.sqlite", delivery=WebhookDelivery.from_settings(settings))
    return SqliteCrm(settings.data_dir / "crm.sqlite")
