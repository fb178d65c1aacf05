"""Contacts waiting for another try: an LLM call that failed (timeout, connection, 429/5xx after the SDK's retries, a
Batch API job that expired) is not the contact's fault, so it is drafted again on a later night, a bounded number
of times, each wait twice the last. Mixed into `Store`, which owns the engine."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, select, update

from cx_worker.store import schema as t
from cx_worker.store.engine import now, upsert
from cx_worker.store.records import RetryRecord


class RetryStore:
    """The retry queue (see `Store`)."""

    engine: Engine

    def schedule_retry(self, interaction_id: str, *, run_id: str, reason: str, max_attempts: int,
                       backoff_hours: float) -> RetryRecord:
        """Record a failed attempt: due again after `backoff_hours` × 2^(attempts-1), or given up after
        `max_attempts` failed attempts. Returns the entry as it now stands."""
        r = t.retries.c
        with self.engine.begin() as conn:
            before = conn.execute(select(r.attempts).where(r.interaction_id == interaction_id)).scalar() or 0
            attempts = before + 1
            due = datetime.now(UTC) + timedelta(hours=backoff_hours * 2 ** (attempts - 1))
            upsert(conn, t.retries, {
                "interaction_id": interaction_id, "run_id": run_id, "attempts": attempts,
                "due_at": due.isoformat(timespec="seconds"), "reason": reason[:2000],
                "status": "given_up" if attempts >= max_attempts else "waiting", "updated_at": now()},
                keys=("interaction_id",))
            row = conn.execute(select(t.retries).where(r.interaction_id == interaction_id)).mappings().one()
        return RetryRecord.model_validate(dict(row))

    def due_retries(self, *, at: datetime | None = None) -> list[RetryRecord]:
        """Contacts waiting whose next try is due (by `at`, default now), oldest first."""
        r = t.retries.c
        moment = (at or datetime.now(UTC)).isoformat(timespec="seconds")
        with self.engine.connect() as conn:
            rows = conn.execute(select(t.retries).where(r.status == "waiting", r.due_at <= moment)
                                .order_by(r.due_at, r.interaction_id)).mappings().all()
        return [RetryRecord.model_validate(dict(row)) for row in rows]

    def retries(self, *, status: str | None = None) -> list[RetryRecord]:
        r = t.retries.c
        query = select(t.retries).order_by(r.due_at, r.interaction_id)
        if status is not None:
            query = query.where(r.status == status)
        with self.engine.connect() as conn:
            return [RetryRecord.model_validate(dict(row)) for row in conn.execute(query).mappings()]

    def retry_done(self, interaction_id: str) -> None:
        """The contact was drafted: it leaves the queue (a no-op for a contact that was never in it)."""
        r = t.retries.c
        with self.engine.begin() as conn:
            conn.execute(update(t.retries).where(r.interaction_id == interaction_id, r.status != "done")
                         .values(status="done", updated_at=now()))

    def requeue(self, interaction_ids: list[str], *, reason: str) -> int:
        """Make these contacts due now with a fresh budget of attempts (ops: `cx-worker quarantine retry`);
        returns how many were queued."""
        with self.engine.begin() as conn:
            for iid in interaction_ids:
                upsert(conn, t.retries, {"interaction_id": iid, "run_id": "", "attempts": 0, "due_at": now(),
                                         "reason": reason, "status": "waiting", "updated_at": now()},
                       keys=("interaction_id",), update=("attempts", "due_at", "reason", "status", "updated_at"))
        return len(interaction_ids)
