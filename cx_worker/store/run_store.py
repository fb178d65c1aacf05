"""The run store: runs, each contact's progress, after-call work, outcomes, quarantine, LLM batches and the source
watermark. Every write is an upsert keyed by what makes it unique (interaction id + prompt hash + model for LLM
output), so a re-run after a crash never duplicates anything. Reviews, corrections and eval results: `review_store`.
"""

from __future__ import annotations

import json
import socket
import time
import uuid
from collections.abc import Iterator
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import and_, func, select, update

from cx_worker.models import Interaction, Outcome
from cx_worker.store import schema as t
from cx_worker.store.audit_store import AuditStore
from cx_worker.store.engine import insert_ignore, make_engine, migrate, now, pid_alive, process_owner, upsert
from cx_worker.store.lock import advisory_lock, file_lock
from cx_worker.store.records import (
    EvalRow,
    LlmBatch,
    QuarantineRecord,
    RunRecord,
    RunUsage,
    StoredContact,
    StoredOutcome,
    StoredWork,
)
from cx_worker.store.retry_store import RetryStore
from cx_worker.store.review_store import ReviewStore

_INTERRUPTED = ("the process running it ended mid-run (killed or crashed); its unfinished contacts were picked up by "
                "the next run")


def new_run_id() -> str:
    """A sortable, unique run id: UTC timestamp plus a short random suffix."""
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ") + "-" + uuid.uuid4().hex[:6]


def _json(value: Any) -> str:
    return json.dumps(value, default=str)


def _clip(value: str, limit: int) -> str:
    """At most `limit` characters and `limit` UTF-8 bytes, whole characters: a value in a unique key must fit
    PostgreSQL's B-tree entry (~2.7 kB), which 2,000 CJK characters (6 kB) do not."""
    return value[:limit].encode(errors="replace")[:limit].decode(errors="ignore")


class Store(ReviewStore, RetryStore, AuditStore):
    """The run store, in a SQLite file (`path`) or a database server (a URL). Safe to open from several threads and
    processes at once."""

    def __init__(self, target: Path | str) -> None:
        self.target = target
        self.engine = make_engine(target)
        migrate(self.engine, component="run_store", steps=t.RUN_STORE_MIGRATIONS)

    def close(self) -> None:
        self.engine.dispose()

    def run_lock(self, run_id: str) -> AbstractContextManager[None]:
        """One run at a time on this store (see `lock`); raises `RunInProgress` naming the run that holds it."""
        if self.engine.dialect.name == "sqlite":
            return file_lock(Path(str(self.engine.url.database) + ".lock"), run_id=run_id)
        return advisory_lock(self.engine, run_id=run_id, holder=self._running_run)

    def _running_run(self) -> str | None:
        with self.engine.connect() as conn:
            return conn.execute(select(t.runs.c.run_id).where(t.runs.c.status == "running")
                                .order_by(t.runs.c.seq.desc()).limit(1)).scalar_one_or_none()

    # runs
    def start_run(self, run_id: str, *, config: dict[str, Any]) -> list[str]:
        """Record a new run (with the process that runs it); first mark runs whose process died as interrupted.

        Returns the ids of the runs found interrupted (killed or crashed mid-run: their contacts are still
        `pending` and the watermark was not advanced, so this run picks them up).
        """
        interrupted = self.mark_interrupted_runs()
        with self.engine.begin() as conn:
            insert_ignore(conn, t.runs, {"run_id": run_id, "started_at": now(), "status": "running",
                                         "config": _json({**config, **process_owner()}), "seq": time.time_ns()},
                          keys=("run_id",))
        return interrupted

    def mark_interrupted_runs(self) -> list[str]:
        """Runs left `running` by a process of this host that no longer exists: set them `interrupted`."""
        host, found = socket.gethostname(), []
        with self.engine.connect() as conn:
            rows = conn.execute(select(t.runs.c.run_id, t.runs.c.config).where(t.runs.c.status == "running")).all()
        for run_id, config in rows:
            owner = json.loads(config or "{}")
            if owner.get("host") == host and isinstance(owner.get("pid"), int) and not pid_alive(owner["pid"]):
                found.append(run_id)
        for run_id in found:
            self.finish_run(run_id, status="interrupted", summary={"error": _INTERRUPTED})
        return found

    def finish_run(self, run_id: str, *, status: str, summary: dict[str, Any]) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(t.runs).where(t.runs.c.run_id == run_id).values(
                finished_at=now(), status=status, summary=_json(summary)))

    def run(self, run_id: str) -> RunRecord | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(t.runs).where(t.runs.c.run_id == run_id)).mappings().first()
        return _run(row) if row else None

    def runs(self, *, limit: int = 30) -> list[RunRecord]:
        """The latest runs, newest first."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(t.runs).order_by(t.runs.c.seq.desc(), t.runs.c.run_id.desc()).limit(limit))
            return [_run(r) for r in rows.mappings()]

    def judged_runs(self, *, until_run: str, limit: int) -> list[str]:
        """The last `limit` runs with eval results started up to and including `until_run`, oldest first."""
        until = select(t.runs.c.seq).where(t.runs.c.run_id == until_run).scalar_subquery()
        judged = select(t.eval_results.c.run_id).distinct()
        with self.engine.connect() as conn:
            ids = conn.execute(select(t.runs.c.run_id).where(t.runs.c.run_id.in_(judged), t.runs.c.seq <= until)
                               .order_by(t.runs.c.seq.desc()).limit(limit)).scalars().all()
        return list(reversed(ids))

    def previous_judged_run(self, run_id: str) -> str | None:
        """The last run with eval results started before `run_id`."""
        before = select(t.runs.c.seq).where(t.runs.c.run_id == run_id).scalar_subquery()
        judged = select(t.eval_results.c.run_id).distinct()
        with self.engine.connect() as conn:
            return conn.execute(select(t.runs.c.run_id).where(t.runs.c.seq < before, t.runs.c.run_id.in_(judged))
                                .order_by(t.runs.c.seq.desc()).limit(1)).scalar_one_or_none()

    def run_usage(self, run_id: str) -> RunUsage:
        """Tokens, calls and LLM seconds of the after-call work drafted in a run."""
        w = t.after_call_work.c
        with self.engine.connect() as conn:
            row = conn.execute(select(func.coalesce(func.sum(w.prompt_tokens), 0), func.coalesce(
                func.sum(w.completion_tokens), 0), func.count(), func.coalesce(func.sum(w.seconds), 0.0))
                .where(w.run_id == run_id)).one()
        return RunUsage(prompt=row[0], completion=row[1], calls=row[2], llm_seconds=float(row[3]))

    # contacts: per-contact progress
    def contact(self, interaction_id: str) -> StoredContact | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(t.contacts).where(t.contacts.c.interaction_id == interaction_id)).mappings()
            row = row.first()
        return _contact(row) if row else None

    def put_contact(self, interaction_id: str, *, run_id: str, input_hash: str, redacted: Interaction,
                    pii_counts: dict[str, int], status: str) -> None:
        """Record what the LLM may see of a contact, and its status."""
        with self.engine.begin() as conn:
            upsert(conn, t.contacts, {
                "interaction_id": interaction_id, "run_id": run_id, "input_hash": input_hash,
                "redacted": redacted.model_dump_json(), "pii_counts": json.dumps(pii_counts), "status": status,
                "updated_at": now()}, keys=("interaction_id",))

    def set_contact_status(self, interaction_id: str, status: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(t.contacts).where(t.contacts.c.interaction_id == interaction_id).values(
                status=status, updated_at=now()))

    def take_contact(self, interaction_id: str, *, run_id: str) -> StoredContact | None:
        """Bring a stored contact into tonight's run (a retry): pending again, its redacted text and hash kept."""
        with self.engine.begin() as conn:
            conn.execute(update(t.contacts).where(t.contacts.c.interaction_id == interaction_id).values(
                run_id=run_id, status="pending", updated_at=now()))
        return self.contact(interaction_id)

    def contact_ids(self, *, status: str) -> list[str]:
        """Every stored contact with this status (e.g. `acw_failed`)."""
        with self.engine.connect() as conn:
            return list(conn.execute(select(t.contacts.c.interaction_id).where(t.contacts.c.status == status)
                                     .order_by(t.contacts.c.interaction_id)).scalars())

    def run_statuses(self, run_id: str) -> dict[str, int]:
        """How many of a run's contacts are in each status (done, acw_failed, awaiting_retry, pending)."""
        c = t.contacts.c
        with self.engine.connect() as conn:
            return dict(conn.execute(select(c.status, func.count()).where(c.run_id == run_id).group_by(c.status)).all())

    def run_contacts(self, run_id: str) -> list[StoredContact]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(t.contacts).where(t.contacts.c.run_id == run_id)
                                .order_by(t.contacts.c.interaction_id)).mappings().all()
        return [_contact(r) for r in rows]

    def run_contact_ids(self, run_id: str) -> list[str]:
        with self.engine.connect() as conn:
            return list(conn.execute(select(t.contacts.c.interaction_id).where(t.contacts.c.run_id == run_id)
                                     .order_by(t.contacts.c.interaction_id)).scalars())

    def run_interactions(self, run_id: str, *, page: int = 500) -> Iterator[Interaction]:
        """The run's contacts as the LLM saw them (redacted), `page` at a time: memory holds a page, not the night."""
        for rows in self._pages(run_id, [t.contacts.c.interaction_id, t.contacts.c.redacted], page=page):
            for row in rows:
                yield Interaction.model_validate_json(row["redacted"])

    def run_eval_rows(self, run_id: str, *, page: int = 500) -> Iterator[list[EvalRow]]:
        """The run's contacts as the governance metrics read them, a page (one query) at a time, in id order."""
        w = t.after_call_work.c
        latest = (select(w.output).where(w.interaction_id == t.contacts.c.interaction_id)
                  .order_by(w.seq.desc()).limit(1).correlate(t.contacts).scalar_subquery())
        columns = [t.contacts.c.interaction_id, t.contacts.c.redacted, t.contacts.c.status,
                   t.outcomes.c.label.label("outcome"), latest.label("work")]
        joined = t.contacts.outerjoin(t.outcomes, t.outcomes.c.interaction_id == t.contacts.c.interaction_id)
        for rows in self._pages(run_id, columns, page=page, source=joined):
            yield [EvalRow(interaction_id=r["interaction_id"], redacted=Interaction.model_validate_json(r["redacted"]),
                           status=r["status"], outcome=r["outcome"],
                           work=json.loads(r["work"]) if r["work"] is not None else None) for r in rows]

    def _pages(self, run_id: str, columns: list, *, page: int, source=None) -> Iterator[list[dict[str, Any]]]:
        """A run's contacts `page` rows at a time, by key: writes between pages neither skip nor repeat a row."""
        after = ""
        c = t.contacts.c
        while True:
            query = select(*columns).where(c.run_id == run_id, c.interaction_id > after)
            if source is not None:
                query = query.select_from(source)
            with self.engine.connect() as conn:
                rows = [dict(r) for r in conn.execute(query.order_by(c.interaction_id).limit(page)).mappings()]
            if not rows:
                return
            yield rows
            after = rows[-1]["interaction_id"]

    # after-call work
    def acw(self, interaction_id: str, *, prompt_hash: str, model: str) -> StoredWork | None:
        w = t.after_call_work.c
        with self.engine.connect() as conn:
            row = conn.execute(select(t.after_call_work).where(
                w.interaction_id == interaction_id, w.prompt_hash == prompt_hash, w.model == model)).mappings().first()
        return _work(row) if row else None

    def latest_acw(self, interaction_id: str) -> StoredWork | None:
        works = self.works_of(interaction_id)
        return works[-1] if works else None

    def works_of(self, interaction_id: str) -> list[StoredWork]:
        """Every after-call work stored for a contact (per prompt and model), oldest first."""
        w = t.after_call_work.c
        with self.engine.connect() as conn:
            rows = conn.execute(select(t.after_call_work).where(w.interaction_id == interaction_id)
                                .order_by(w.seq)).mappings().all()
        return [_work(r) for r in rows]

    def run_works(self, run_id: str) -> list[StoredWork]:
        """The after-call work drafted in a run."""
        w = t.after_call_work.c
        with self.engine.connect() as conn:
            rows = conn.execute(select(t.after_call_work).where(w.run_id == run_id)
                                .order_by(w.interaction_id)).mappings().all()
        return [_work(r) for r in rows]

    def iter_works(self, *, page: int = 500) -> Iterator[StoredWork]:
        """Every stored after-call work, a page at a time."""
        w = t.after_call_work.c
        key = ("", "", "")
        while True:
            with self.engine.connect() as conn:
                rows = conn.execute(select(t.after_call_work).where(
                    (w.interaction_id > key[0]) | and_(w.interaction_id == key[0], w.prompt_hash > key[1])
                    | and_(w.interaction_id == key[0], w.prompt_hash == key[1], w.model > key[2]))
                    .order_by(w.interaction_id, w.prompt_hash, w.model).limit(page)).mappings().all()
            if not rows:
                return
            yield from (_work(r) for r in rows)
            key = (rows[-1]["interaction_id"], rows[-1]["prompt_hash"], rows[-1]["model"])

    def put_acw(self, interaction_id: str, *, prompt_hash: str, model: str, run_id: str, output: dict,
                usage: dict) -> None:
        with self.engine.begin() as conn:
            upsert(conn, t.after_call_work, {
                "interaction_id": interaction_id, "prompt_hash": prompt_hash, "model": model, "run_id": run_id,
                "output": json.dumps(output), "prompt_tokens": usage.get("prompt_tokens"),
                "completion_tokens": usage.get("completion_tokens"), "seconds": usage.get("seconds"),
                "created_at": now(), "seq": time.time_ns()}, keys=("interaction_id", "prompt_hash", "model"))

    # outcomes
    def put_outcome(self, interaction_id: str, *, run_id: str, outcome: Outcome | dict) -> None:
        o = outcome.model_dump() if isinstance(outcome, Outcome) else outcome
        with self.engine.begin() as conn:
            upsert(conn, t.outcomes, {
                "interaction_id": interaction_id, "run_id": run_id, "label": o["label"], "confidence": o["confidence"],
                "evidence": _json(o.get("evidence", [])), "signals": _json(o.get("signals", {})),
                "created_at": now()}, keys=("interaction_id",))

    def outcome(self, interaction_id: str) -> StoredOutcome | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(t.outcomes).where(t.outcomes.c.interaction_id == interaction_id)).mappings()
            row = row.first()
        return _outcome(row) if row else None

    def run_outcomes(self, run_id: str) -> list[StoredOutcome]:
        """Every stored outcome of a run's contacts, with evidence and signals decoded."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(t.outcomes).where(t.outcomes.c.run_id == run_id)
                                .order_by(t.outcomes.c.interaction_id)).mappings().all()
        return [_outcome(r) for r in rows]

    # quarantine
    def quarantine(self, *, run_id: str | None, interaction_id: str | None, origin: str, stage: str,
                   reason: str) -> None:
        with self.engine.begin() as conn:
            insert_ignore(conn, t.quarantine, {"run_id": run_id, "interaction_id": interaction_id, "origin": origin,
                                               "stage": stage, "reason": _clip(reason, 2000), "created_at": now()},
                          keys=("origin", "stage", "reason"))

    def quarantined(self, *, run_id: str | None = None) -> list[QuarantineRecord]:
        query = select(t.quarantine).order_by(t.quarantine.c.id)
        if run_id is not None:
            query = query.where(t.quarantine.c.run_id == run_id)
        with self.engine.connect() as conn:
            return [QuarantineRecord.model_validate(dict(r)) for r in conn.execute(query).mappings()]

    # LLM batches (llm_mode=batch): recorded as soon as submitted, so a re-run polls a batch in flight instead of
    # paying for a second one
    def put_llm_batch(self, batch_id: str, *, run_id: str, prompt_hash: str, model: str, custom_ids: dict[str, str],
                      status: str) -> None:
        """Record a submitted batch; `custom_ids` maps each request's custom_id to its interaction id."""
        with self.engine.begin() as conn:
            insert_ignore(conn, t.llm_batches, {
                "batch_id": batch_id, "run_id": run_id, "prompt_hash": prompt_hash, "model": model,
                "custom_ids": json.dumps(custom_ids), "status": status, "created_at": now(), "updated_at": now()},
                keys=("batch_id",))

    def set_llm_batch_status(self, batch_id: str, status: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(t.llm_batches).where(t.llm_batches.c.batch_id == batch_id).values(
                status=status, updated_at=now()))

    def llm_batches(self, *, prompt_hash: str, model: str, open_only: bool = True) -> list[LlmBatch]:
        """Batches submitted for this prompt and model, oldest first; `open_only`: those not yet collected."""
        b = t.llm_batches.c
        query = select(t.llm_batches).where(b.prompt_hash == prompt_hash, b.model == model)
        if open_only:
            query = query.where(b.status != "collected")
        with self.engine.connect() as conn:
            rows = conn.execute(query.order_by(b.created_at, b.batch_id)).mappings().all()
        return [LlmBatch.model_validate({**r, "custom_ids": json.loads(r["custom_ids"])}) for r in rows]

    # watermark
    def watermark(self, origin: str) -> int:
        with self.engine.connect() as conn:
            offset = conn.execute(select(t.watermark.c.offset).where(t.watermark.c.origin == origin)).scalar()
        return int(offset) if offset is not None else 0

    def set_watermark(self, origin: str, offset: int) -> None:
        with self.engine.begin() as conn:
            upsert(conn, t.watermark, {"origin": origin, "offset": offset, "updated_at": now()}, keys=("origin",))


def _run(row) -> RunRecord:
    return RunRecord.model_validate({**row, "config": json.loads(row["config"] or "{}"),
                                     "summary": json.loads(row["summary"]) if row["summary"] else None})


def _contact(row) -> StoredContact:
    return StoredContact(interaction_id=row["interaction_id"], run_id=row["run_id"], input_hash=row["input_hash"],
                         redacted=Interaction.model_validate_json(row["redacted"]),
                         pii_counts=json.loads(row["pii_counts"]), status=row["status"], updated_at=row["updated_at"])


def _work(row) -> StoredWork:
    return StoredWork.model_validate({**row, "output": json.loads(row["output"])})


def _outcome(row) -> StoredOutcome:
    return StoredOutcome.model_validate({**row, "evidence": json.loads(row["evidence"]),
                                         "signals": json.loads(row["signals"])})
