"""The people's side of the run store: outcome corrections, the low-confidence review list, reviewers' decisions,
and the governance metrics' results per run. Mixed into `Store`, which owns the engine.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Engine, select, update

from cx_worker.store import schema as t
from cx_worker.store.engine import now, upsert
from cx_worker.store.records import Correction, EvalRecord, ReviewDecision, ReviewFlag


class ReviewStore:
    """Corrections, the review list and decisions, eval results (see `Store`)."""

    engine: Engine

    # outcome corrections (audited: who, when, old and new label, why)
    def add_correction(self, interaction_id: str, *, old_label: str | None, new_label: str, by: str,
                       reason: str) -> Correction:
        with self.engine.begin() as conn:
            key = conn.execute(t.outcome_corrections.insert().values(
                interaction_id=interaction_id, old_label=old_label, new_label=new_label, corrected_by=by,
                reason=reason, created_at=now())).inserted_primary_key[0]
            row = conn.execute(select(t.outcome_corrections).where(t.outcome_corrections.c.id == key)).mappings().one()
        return Correction.model_validate(dict(row))

    def corrections(self, interaction_id: str | None = None) -> list[Correction]:
        query = select(t.outcome_corrections).order_by(t.outcome_corrections.c.id)
        if interaction_id is not None:
            query = query.where(t.outcome_corrections.c.interaction_id == interaction_id)
        with self.engine.connect() as conn:
            return [Correction.model_validate(dict(r)) for r in conn.execute(query).mappings()]

    # the low-confidence review list
    def flag_for_review(self, interaction_id: str, *, run_id: str, label: str, confidence: float, reason: str) -> None:
        """Put an outcome on the review list (again open, with the latest label, if it was there before)."""
        with self.engine.begin() as conn:
            upsert(conn, t.outcome_review, {
                "interaction_id": interaction_id, "run_id": run_id, "label": label, "confidence": confidence,
                "reason": reason, "status": "open", "created_at": now(), "closed_at": None, "closed_by": None},
                keys=("interaction_id",),
                update=("run_id", "label", "confidence", "reason", "status", "closed_at", "closed_by"))

    def close_review(self, interaction_id: str, *, by: str) -> None:
        r = t.outcome_review.c
        with self.engine.begin() as conn:
            conn.execute(update(t.outcome_review).where(r.interaction_id == interaction_id, r.status == "open")
                         .values(status="closed", closed_at=now(), closed_by=by))

    def review_list(self, *, run_id: str | None = None, status: str | None = "open") -> list[ReviewFlag]:
        """Outcomes flagged for human review, least confident first."""
        r = t.outcome_review.c
        query = select(t.outcome_review).order_by(r.confidence, r.interaction_id)
        if run_id is not None:
            query = query.where(r.run_id == run_id)
        if status is not None:
            query = query.where(r.status == status)
        with self.engine.connect() as conn:
            return [ReviewFlag.model_validate(dict(row)) for row in conn.execute(query).mappings()]

    # reviewers' decisions (approve, edit, relabel), audited
    def add_review_decision(self, interaction_id: str, decision: str, *, by: str, reason: str,
                            detail: dict[str, Any]) -> None:
        with self.engine.begin() as conn:
            conn.execute(t.review_decisions.insert().values(
                interaction_id=interaction_id, decision=decision, decided_by=by, reason=reason,
                detail=json.dumps(detail, default=str), at=now()))

    def review_decisions(self, interaction_id: str | None = None) -> list[ReviewDecision]:
        query = select(t.review_decisions).order_by(t.review_decisions.c.id)
        if interaction_id is not None:
            query = query.where(t.review_decisions.c.interaction_id == interaction_id)
        with self.engine.connect() as conn:
            return [ReviewDecision.model_validate({**r, "detail": json.loads(r["detail"])})
                    for r in conn.execute(query).mappings()]

    def decided_ids(self) -> set[str]:
        """Contacts a reviewer has decided on."""
        with self.engine.connect() as conn:
            return set(conn.execute(select(t.review_decisions.c.interaction_id).distinct()).scalars())

    # eval results
    def put_eval(self, run_id: str, result: dict[str, Any]) -> None:
        with self.engine.begin() as conn:
            upsert(conn, t.eval_results, {
                "run_id": run_id, "metric": result["metric"], "score": result.get("score"),
                "threshold": result.get("threshold"), "success": int(result["success"]),
                "measured": int(result["measured"]), "reason": result["reason"],
                "details": json.dumps(result.get("details", {}), default=str), "created_at": now()},
                keys=("run_id", "metric"))

    def evals(self, run_id: str) -> list[EvalRecord]:
        e = t.eval_results.c
        with self.engine.connect() as conn:
            rows = conn.execute(select(t.eval_results).where(e.run_id == run_id).order_by(e.metric)).mappings()
            return [_eval(r) for r in rows]

    def failed_evals(self) -> list[EvalRecord]:
        """Every measured metric result that failed, any run."""
        e = t.eval_results.c
        with self.engine.connect() as conn:
            rows = conn.execute(select(t.eval_results).where(e.success == 0, e.measured == 1)
                                .order_by(e.run_id, e.metric)).mappings()
            return [_eval(r) for r in rows]


def _eval(row) -> EvalRecord:
    return EvalRecord.model_validate({**row, "success": bool(row["success"]), "measured": bool(row["measured"]),
                                      "details": json.loads(row["details"])})
