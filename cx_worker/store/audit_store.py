"""The nightly audit in the run store: each night's random sample and design, the people's verdicts, and the
automated judges' calls on the audited contacts. Mixed into `Store`, which owns the engine."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping

from sqlalchemy import Engine, select

from cx_worker.store import schema as t
from cx_worker.store.engine import now, upsert
from cx_worker.store.records import AuditItem, AuditNight, Verdict


class AuditStore:
    """Audit samples, verdicts and judges' calls (see `Store`)."""

    engine: Engine

    def record_audit_sample(self, run_id: str, *, draws: Iterable[tuple[str, str, float, str | None]],
                            stratum_sizes: Mapping[str, int], segment_sizes: Mapping[str, Mapping[str, int]]) -> int:
        """Record a night's sample: (interaction id, stratum, inclusion probability, segment) per drawn contact,
        and the night's design. Drawing again for the same run replaces nothing already recorded."""
        rows = list(draws)
        with self.engine.begin() as conn:
            upsert(conn, t.audit_nights, {"run_id": run_id, "drawn_at": now(),
                                          "stratum_sizes": json.dumps(dict(stratum_sizes)),
                                          "segment_sizes": json.dumps({k: dict(v) for k, v in segment_sizes.items()}),
                                          "sample_size": len(rows)}, keys=("run_id",), update=())
            for iid, stratum, probability, segment in rows:
                upsert(conn, t.audit_sample, {"run_id": run_id, "interaction_id": iid, "stratum": stratum,
                                              "inclusion_probability": probability, "segment": segment,
                                              "drawn_at": now()}, keys=("run_id", "interaction_id"), update=())
        return len(rows)

    def put_verdict(self, run_id: str, interaction_id: str, verdict: Verdict) -> None:
        with self.engine.begin() as conn:
            upsert(conn, t.audit_verdicts, {
                "run_id": run_id, "interaction_id": interaction_id, "true_outcome": verdict.true_outcome,
                "summary_ok": int(verdict.summary_ok), "errors": json.dumps(verdict.errors),
                "disposition": verdict.disposition, "decided_by": verdict.decided_by, "reason": verdict.reason,
                "at": verdict.at}, keys=("run_id", "interaction_id"))

    def put_judgements(self, run_id: str, calls: Mapping[str, Mapping[str, tuple[bool, str]]]) -> None:
        """The automated judges' calls on audited contacts: {interaction id: {judge: (flagged, why)}}."""
        with self.engine.begin() as conn:
            for iid, judged in calls.items():
                for judge, (flagged, why) in judged.items():
                    upsert(conn, t.judgements, {"run_id": run_id, "interaction_id": iid, "judge": judge,
                                                "flagged": int(flagged), "why": why[:500]},
                           keys=("run_id", "interaction_id", "judge"))

    def audit_items(self, *, run_id: str | None = None, since: str | None = None,
                    open_only: bool = False) -> list[AuditItem]:
        """Audited contacts (of one run, or of nights drawn at or after `since`), each with its verdict, if any,
        and the judges' calls; `open_only`: those still waiting for a verdict."""
        s, v = t.audit_sample.c, t.audit_verdicts.c
        query = (select(t.audit_sample, t.audit_verdicts).select_from(t.audit_sample.outerjoin(
            t.audit_verdicts, (v.run_id == s.run_id) & (v.interaction_id == s.interaction_id)))
            .order_by(s.drawn_at, s.run_id, s.interaction_id))
        if run_id is not None:
            query = query.where(s.run_id == run_id)
        if since is not None:
            query = query.where(s.drawn_at >= since)
        if open_only:
            query = query.where(v.true_outcome.is_(None))
        j = t.judgements.c
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
            calls: dict[tuple[str, str], dict[str, bool]] = {}
            runs = {r.run_id for r in rows}
            if runs:
                for call in conn.execute(select(t.judgements).where(j.run_id.in_(runs))):
                    calls.setdefault((call.run_id, call.interaction_id), {})[call.judge] = bool(call.flagged)
        items = []
        for r in rows:
            m = r._mapping
            verdict = None
            if m[v.true_outcome] is not None:
                verdict = Verdict(true_outcome=m[v.true_outcome], summary_ok=bool(m[v.summary_ok]),
                                  errors=json.loads(m[v.errors]), disposition=m[v.disposition],
                                  decided_by=m[v.decided_by], reason=m[v.reason], at=m[v.at])
            items.append(AuditItem(run_id=m[s.run_id], interaction_id=m[s.interaction_id], stratum=m[s.stratum],
                                   inclusion_probability=m[s.inclusion_probability], segment=m[s.segment],
                                   drawn_at=m[s.drawn_at], verdict=verdict,
                                   judges=calls.get((m[s.run_id], m[s.interaction_id]), {})))
        return items

    def audit_nights(self, *, since: str | None = None) -> list[AuditNight]:
        """Nights' audit designs (drawn at or after `since`), oldest first."""
        n = t.audit_nights.c
        query = select(t.audit_nights).order_by(n.drawn_at, n.run_id)
        if since is not None:
            query = query.where(n.drawn_at >= since)
        with self.engine.connect() as conn:
            return [AuditNight.model_validate({**r, "stratum_sizes": json.loads(r["stratum_sizes"]),
                                               "segment_sizes": json.loads(r["segment_sizes"])})
                    for r in conn.execute(query).mappings()]
