"""The store: one SQLite file with runs, per-contact progress, after-call work, outcomes, eval results,
quarantine and the source watermark.

Every write is an upsert keyed by what makes it unique (interaction id + prompt hash + model for LLM output),
so a re-run after a crash never duplicates anything.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import uuid
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from cx_worker.models import Interaction

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY, started_at TEXT NOT NULL, finished_at TEXT, status TEXT NOT NULL,
    config TEXT, summary TEXT
);
CREATE TABLE IF NOT EXISTS contacts (
    interaction_id TEXT PRIMARY KEY, run_id TEXT NOT NULL, input_hash TEXT NOT NULL,
    redacted TEXT NOT NULL, pii_counts TEXT NOT NULL, status TEXT NOT NULL, updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS after_call_work (
    interaction_id TEXT NOT NULL, prompt_hash TEXT NOT NULL, model TEXT NOT NULL, run_id TEXT NOT NULL,
    output TEXT NOT NULL, prompt_tokens INTEGER, completion_tokens INTEGER, seconds REAL, created_at TEXT NOT NULL,
    PRIMARY KEY (interaction_id, prompt_hash, model)
);
CREATE TABLE IF NOT EXISTS outcomes (
    interaction_id TEXT PRIMARY KEY, run_id TEXT NOT NULL, label TEXT NOT NULL, confidence REAL NOT NULL,
    evidence TEXT NOT NULL, signals TEXT NOT NULL, created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS quarantine (
    id INTEGER PRIMARY KEY AUTOINCREMENT, run_id TEXT, interaction_id TEXT, origin TEXT NOT NULL,
    stage TEXT NOT NULL, reason TEXT NOT NULL, created_at TEXT NOT NULL,
    UNIQUE (origin, stage, reason)
);
CREATE TABLE IF NOT EXISTS eval_results (
    run_id TEXT NOT NULL, metric TEXT NOT NULL, score REAL, threshold REAL, success INTEGER NOT NULL,
    measured INTEGER NOT NULL, reason TEXT NOT NULL, details TEXT NOT NULL, created_at TEXT NOT NULL,
    PRIMARY KEY (run_id, metric)
);
CREATE TABLE IF NOT EXISTS watermark (origin TEXT PRIMARY KEY, offset INTEGER NOT NULL, updated_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS outcome_corrections (
    id INTEGER PRIMARY KEY AUTOINCREMENT, interaction_id TEXT NOT NULL, old_label TEXT, new_label TEXT NOT NULL,
    corrected_by TEXT NOT NULL, reason TEXT NOT NULL, created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS llm_batches (
    batch_id TEXT PRIMARY KEY, run_id TEXT NOT NULL, prompt_hash TEXT NOT NULL, model TEXT NOT NULL,
    custom_ids TEXT NOT NULL, status TEXT NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS outcome_review (
    interaction_id TEXT PRIMARY KEY, run_id TEXT NOT NULL, label TEXT NOT NULL, confidence REAL NOT NULL,
    reason TEXT NOT NULL, status TEXT NOT NULL, created_at TEXT NOT NULL, closed_at TEXT, closed_by TEXT
);
"""


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def new_run_id() -> str:
    """A sortable, unique run id: UTC timestamp plus a short random suffix."""
    return datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ") + "-" + uuid.uuid4().hex[:6]


class Store:
    """The run's SQLite store. Safe to open from several processes (WAL, busy timeout)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.db = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
        self.db.row_factory = sqlite3.Row
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(_SCHEMA)

    def close(self) -> None:
        self.db.close()

    def _exec(self, sql: str, args: tuple = ()) -> sqlite3.Cursor:
        return self.db.execute(sql, args)

    # runs
    def start_run(self, run_id: str, *, config: dict[str, Any]) -> list[str]:
        """Record a new run (with the process that runs it); first mark runs whose process died as interrupted.

        Returns the ids of the runs found interrupted (killed or crashed mid-run: their contacts are still
        `pending` and the watermark was not advanced, so this run picks them up).
        """
        interrupted = self.mark_interrupted_runs()
        owner = {"pid": os.getpid(), "host": socket.gethostname()}
        self._exec(
            "INSERT OR IGNORE INTO runs (run_id, started_at, status, config) VALUES (?, ?, 'running', ?)",
            (run_id, _now(), json.dumps({**config, **owner}, default=str)),
        )
        return interrupted

    def mark_interrupted_runs(self) -> list[str]:
        """Runs left `running` by a process of this host that no longer exists: set them `interrupted`."""
        host, found = socket.gethostname(), []
        for row in self._exec("SELECT run_id, config FROM runs WHERE status = 'running'").fetchall():
            config = json.loads(row["config"] or "{}")
            if config.get("host") == host and isinstance(config.get("pid"), int) and not _alive(config["pid"]):
                found.append(row["run_id"])
        for run_id in found:
            self.finish_run(run_id, status="interrupted", summary={
                "error": "the process running it ended mid-run (killed or crashed); its unfinished contacts were "
                         "picked up by the next run"})
        return found

    def finish_run(self, run_id: str, *, status: str, summary: dict[str, Any]) -> None:
        self._exec(
            "UPDATE runs SET finished_at = ?, status = ?, summary = ? WHERE run_id = ?",
            (_now(), status, json.dumps(summary, default=str), run_id),
        )

    def run(self, run_id: str) -> dict[str, Any] | None:
        row = self._exec("SELECT * FROM runs WHERE run_id = ?", (run_id,)).fetchone()
        return _row(row, "config", "summary")

    def runs(self, *, limit: int = 30) -> list[dict[str, Any]]:
        """The latest runs, newest first."""
        rows = self._exec("SELECT * FROM runs ORDER BY started_at DESC, run_id DESC LIMIT ?", (limit,))
        return [_row(r, "config", "summary") for r in rows]

    # contacts: per-contact progress
    def contact(self, interaction_id: str) -> dict[str, Any] | None:
        row = self._exec("SELECT * FROM contacts WHERE interaction_id = ?", (interaction_id,)).fetchone()
        return _row(row, "redacted", "pii_counts")

    def put_contact(
        self, interaction_id: str, *, run_id: str, input_hash: str, redacted: str, pii_counts: dict, status: str
    ) -> None:
        self._exec(
            "INSERT INTO contacts VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(interaction_id) DO UPDATE SET "
            "run_id=excluded.run_id, input_hash=excluded.input_hash, redacted=excluded.redacted, "
            "pii_counts=excluded.pii_counts, status=excluded.status, updated_at=excluded.updated_at",
            (interaction_id, run_id, input_hash, redacted, json.dumps(pii_counts), status, _now()),
        )

    def set_contact_status(self, interaction_id: str, status: str) -> None:
        self._exec(
            "UPDATE contacts SET status = ?, updated_at = ? WHERE interaction_id = ?", (status, _now(), interaction_id)
        )

    def run_contacts(self, run_id: str) -> list[dict[str, Any]]:
        rows = self._exec("SELECT * FROM contacts WHERE run_id = ? ORDER BY interaction_id", (run_id,))
        return [_row(r, "redacted", "pii_counts") for r in rows]

    # after-call work
    def acw(self, interaction_id: str, *, prompt_hash: str, model: str) -> dict[str, Any] | None:
        row = self._exec(
            "SELECT * FROM after_call_work WHERE interaction_id = ? AND prompt_hash = ? AND model = ?",
            (interaction_id, prompt_hash, model),
        ).fetchone()
        return _row(row, "output")

    def latest_acw(self, interaction_id: str) -> dict[str, Any] | None:
        row = self._exec(
            "SELECT * FROM after_call_work WHERE interaction_id = ? ORDER BY created_at DESC LIMIT 1",
            (interaction_id,),
        ).fetchone()
        return _row(row, "output")

    def put_acw(
        self, interaction_id: str, *, prompt_hash: str, model: str, run_id: str, output: dict, usage: dict
    ) -> None:
        self._exec(
            "INSERT OR REPLACE INTO after_call_work VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                interaction_id, prompt_hash, model, run_id, json.dumps(output),
                usage.get("prompt_tokens"), usage.get("completion_tokens"), usage.get("seconds"), _now(),
            ),
        )

    # outcomes
    def put_outcome(self, interaction_id: str, *, run_id: str, outcome: dict) -> None:
        self._exec(
            "INSERT OR REPLACE INTO outcomes VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                interaction_id, run_id, outcome["label"], outcome["confidence"],
                json.dumps(outcome.get("evidence", [])), json.dumps(outcome.get("signals", {})), _now(),
            ),
        )

    def outcome(self, interaction_id: str) -> dict[str, Any] | None:
        row = self._exec("SELECT * FROM outcomes WHERE interaction_id = ?", (interaction_id,)).fetchone()
        return _row(row, "evidence", "signals")

    def run_outcomes(self, run_id: str) -> list[dict[str, Any]]:
        """Every stored outcome of a run's contacts, with evidence and signals decoded."""
        rows = self._exec("SELECT * FROM outcomes WHERE run_id = ? ORDER BY interaction_id", (run_id,))
        return [_row(r, "evidence", "signals") for r in rows]

    # outcome corrections (audited: who, when, old and new label, why) and the review list
    def add_correction(
        self, interaction_id: str, *, old_label: str | None, new_label: str, by: str, reason: str
    ) -> dict[str, Any]:
        cur = self._exec(
            "INSERT INTO outcome_corrections (interaction_id, old_label, new_label, corrected_by, reason, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?)", (interaction_id, old_label, new_label, by, reason, _now()),
        )
        return dict(self._exec("SELECT * FROM outcome_corrections WHERE id = ?", (cur.lastrowid,)).fetchone())

    def corrections(self, interaction_id: str | None = None) -> list[dict[str, Any]]:
        if interaction_id is None:
            rows = self._exec("SELECT * FROM outcome_corrections ORDER BY id")
        else:
            rows = self._exec("SELECT * FROM outcome_corrections WHERE interaction_id = ? ORDER BY id",
                              (interaction_id,))
        return [dict(r) for r in rows]

    def flag_for_review(self, interaction_id: str, *, run_id: str, label: str, confidence: float, reason: str) -> None:
        """Put an outcome on the review list (again open, with the latest label, if it was there before)."""
        self._exec(
            "INSERT INTO outcome_review VALUES (?, ?, ?, ?, ?, 'open', ?, NULL, NULL) ON CONFLICT(interaction_id) "
            "DO UPDATE SET run_id=excluded.run_id, label=excluded.label, confidence=excluded.confidence, "
            "reason=excluded.reason, status='open', closed_at=NULL, closed_by=NULL",
            (interaction_id, run_id, label, confidence, reason, _now()),
        )

    def close_review(self, interaction_id: str, *, by: str) -> None:
        self._exec("UPDATE outcome_review SET status = 'closed', closed_at = ?, closed_by = ? "
                   "WHERE interaction_id = ? AND status = 'open'", (_now(), by, interaction_id))

    def review_list(self, *, run_id: str | None = None, status: str | None = "open") -> list[dict[str, Any]]:
        """Outcomes flagged for human review, least confident first."""
        sql, args = "SELECT * FROM outcome_review WHERE 1 = 1", []
        if run_id is not None:
            sql, args = sql + " AND run_id = ?", [*args, run_id]
        if status is not None:
            sql, args = sql + " AND status = ?", [*args, status]
        return [dict(r) for r in self._exec(sql + " ORDER BY confidence, interaction_id", tuple(args))]

    # quarantine
    def quarantine(self, *, run_id: str | None, interaction_id: str | None, origin: str, stage: str, reason: str) -> None:
        self._exec(
            "INSERT OR IGNORE INTO quarantine (run_id, interaction_id, origin, stage, reason, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (run_id, interaction_id, origin, stage, reason[:2000], _now()),
        )

    def quarantined(self, *, run_id: str | None = None) -> list[dict[str, Any]]:
        if run_id is None:
            rows = self._exec("SELECT * FROM quarantine ORDER BY id")
        else:
            rows = self._exec("SELECT * FROM quarantine WHERE run_id = ? ORDER BY id", (run_id,))
        return [dict(r) for r in rows]

    # LLM batches (llm_mode=batch): recorded as soon as submitted, so a re-run polls a batch in flight instead of
    # paying for a second one
    def put_llm_batch(
        self, batch_id: str, *, run_id: str, prompt_hash: str, model: str, custom_ids: dict[str, str], status: str
    ) -> None:
        """Record a submitted batch; `custom_ids` maps each request's custom_id to its interaction id."""
        self._exec(
            "INSERT OR IGNORE INTO llm_batches VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (batch_id, run_id, prompt_hash, model, json.dumps(custom_ids), status, _now(), _now()),
        )

    def set_llm_batch_status(self, batch_id: str, status: str) -> None:
        self._exec("UPDATE llm_batches SET status = ?, updated_at = ? WHERE batch_id = ?", (status, _now(), batch_id))

    def llm_batches(self, *, prompt_hash: str, model: str, open_only: bool = True) -> list[dict[str, Any]]:
        """Batches submitted for this prompt and model, oldest first; `open_only`: those not yet collected."""
        sql = "SELECT * FROM llm_batches WHERE prompt_hash = ? AND model = ?"
        sql += " AND status != 'collected'" if open_only else ""
        return [_row(r, "custom_ids") for r in self._exec(sql + " ORDER BY created_at, batch_id", (prompt_hash, model))]

    # eval results
    def put_eval(self, run_id: str, result: dict[str, Any]) -> None:
        self._exec(
            "INSERT OR REPLACE INTO eval_results VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                run_id, result["metric"], result.get("score"), result.get("threshold"), int(result["success"]),
                int(result["measured"]), result["reason"], json.dumps(result.get("details", {}), default=str), _now(),
            ),
        )

    def evals(self, run_id: str) -> list[dict[str, Any]]:
        rows = self._exec("SELECT * FROM eval_results WHERE run_id = ? ORDER BY metric", (run_id,))
        return [_row(r, "details") for r in rows]

    # watermark
    def watermark(self, origin: str) -> int:
        row = self._exec("SELECT offset FROM watermark WHERE origin = ?", (origin,)).fetchone()
        return int(row["offset"]) if row else 0

    def set_watermark(self, origin: str, offset: int) -> None:
        self._exec(
            "INSERT INTO watermark VALUES (?, ?, ?) ON CONFLICT(origin) DO UPDATE SET "
            "offset = excluded.offset, updated_at = excluded.updated_at",
            (origin, offset, _now()),
        )

    def run_pages(self, run_id: str, *, select: str, page: int = 500) -> Iterator[list[dict[str, Any]]]:
        """A run's contacts `page` rows at a time, in id order. `select` is a SELECT ... FROM clause over
        `contacts c` (joins welcome); paging is by key, so writes between pages neither skip nor repeat a row."""
        after = ""
        while True:
            rows = list(self.iter_rows(
                f"{select} WHERE c.run_id = ? AND c.interaction_id > ? ORDER BY c.interaction_id LIMIT ?",
                (run_id, after, page)))
            if not rows:
                return
            yield rows
            after = rows[-1]["interaction_id"]

    def run_interactions(self, run_id: str, *, page: int = 500) -> Iterator[Interaction]:
        """The run's contacts as the LLM saw them (redacted), `page` rows at a time."""
        for rows in self.run_pages(run_id, select="SELECT c.interaction_id, c.redacted FROM contacts c", page=page):
            for row in rows:
                yield Interaction.model_validate_json(row["redacted"])

    def iter_rows(self, sql: str, args: tuple = ()) -> Iterator[dict[str, Any]]:
        for row in self._exec(sql, args):
            yield dict(row)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def _row(row: sqlite3.Row | None, *json_cols: str) -> dict[str, Any] | None:
    if row is None:
        return None
    out = dict(row)
    for col in json_cols:
        if out.get(col) is not None:
            out[col] = json.loads(out[col])
    return out
