"""CRM write-back: one note per contact, where agents read it.

The default sink is an embedded SQLite CRM (`crm.sqlite` under the data dir). A note's key is
interaction id + prompt hash + model, so a re-run of the same night can never create a second note. Notes of a run
whose evals breached a threshold are stored as `held`: agents see nothing new until a reviewer releases them.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined

_SCHEMA = """
CREATE TABLE IF NOT EXISTS notes (
    note_key TEXT PRIMARY KEY, interaction_id TEXT NOT NULL, run_id TEXT NOT NULL, status TEXT NOT NULL,
    body TEXT NOT NULL, payload TEXT NOT NULL, created_at TEXT NOT NULL, delivered_at TEXT
);
CREATE INDEX IF NOT EXISTS notes_by_interaction ON notes (interaction_id, created_at);
CREATE TABLE IF NOT EXISTS releases (
    run_id TEXT NOT NULL, released_by TEXT NOT NULL, reason TEXT NOT NULL, notes INTEGER NOT NULL, at TEXT NOT NULL
);
"""

_env = Environment(loader=PackageLoader("cx_worker", "templates"), undefined=StrictUndefined, trim_blocks=True,
                   lstrip_blocks=True)


def note_key(interaction_id: str, *, prompt_hash: str, model: str) -> str:
    """The idempotency key of a note."""
    return hashlib.sha256(f"{interaction_id}\x1f{prompt_hash}\x1f{model}".encode()).hexdigest()[:32]


def render_note(payload: dict[str, Any]) -> str:
    """The note text an agent reads in the CRM."""
    return _env.get_template("crm_note.txt.j2").render(**payload).strip() + "\n"


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class SqliteCrm:
    """The embedded CRM: a SQLite file agents' tools (or `cx-worker crm show`) read."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
        self.db.row_factory = sqlite3.Row
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.executescript(_SCHEMA)

    def close(self) -> None:
        self.db.close()

    def write(self, payload: dict[str, Any], *, hold: bool) -> str:
        """Write (or hold) one note; a note already delivered stays as it is. Returns its status."""
        key = note_key(payload["interaction_id"], prompt_hash=payload["prompt_hash"], model=payload["model"])
        status = "held" if hold else "delivered"
        existing = self.db.execute("SELECT status FROM notes WHERE note_key = ?", (key,)).fetchone()
        if existing is not None and existing["status"] == "delivered":
            return "delivered"
        self.db.execute(
            "INSERT INTO notes VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(note_key) DO UPDATE SET "
            "run_id=excluded.run_id, status=excluded.status, body=excluded.body, payload=excluded.payload, "
            "delivered_at=excluded.delivered_at",
            (key, payload["interaction_id"], payload["run_id"], status, render_note(payload),
             json.dumps(payload, default=str), _now(), None if hold else _now()),
        )
        return status

    def release(self, run_id: str, *, by: str, reason: str) -> int:
        """Deliver a run's held notes after review; the release is audited. Returns how many were released."""
        cur = self.db.execute(
            "UPDATE notes SET status = 'delivered', delivered_at = ? WHERE run_id = ? AND status = 'held'",
            (_now(), run_id),
        )
        self.db.execute("INSERT INTO releases VALUES (?, ?, ?, ?, ?)", (run_id, by, reason, cur.rowcount, _now()))
        return cur.rowcount

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
