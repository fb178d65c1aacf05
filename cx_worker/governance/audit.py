"""The audit trail of one contact: what produced its outputs, how they were judged, what agents got."""

from __future__ import annotations

from typing import Any

from cx_worker.store import Ledger, Store


def audit_trail(interaction_id: str, *, store: Store, ledger: Ledger) -> dict[str, Any] | None:
    """Everything recorded about a contact, or None if the store never saw it."""
    contact = store.contact(interaction_id)
    if contact is None:
        return None
    run_id = contact.run_id
    acw = [w.model_dump(include={"run_id", "model", "prompt_hash", "prompt_tokens", "completion_tokens", "seconds",
                                 "created_at"}) for w in store.works_of(interaction_id)]
    verdicts = []
    for e in store.evals(run_id):
        failures = [f["why"] for f in e.details.get("failures", []) if f["id"] == interaction_id]
        verdicts.append({"metric": e.metric, "run_verdict": "pass" if e.success else "fail",
                         "measured": e.measured, "this_contact": "fail" if failures else "pass", "why": failures})
    notes = [n.model_dump(include={"note_key", "run_id", "status", "created_at", "delivered_at"})
             for n in ledger.notes(interaction_id)]
    outcome = store.outcome(interaction_id)
    run = store.run(run_id)
    return {
        "interaction_id": interaction_id, "run_id": run_id, "input_hash": contact.input_hash,
        "status": contact.status, "pii_redacted": contact.pii_counts, "after_call_work": acw,
        "outcome": outcome.model_dump() if outcome else None, "eval": verdicts, "crm_notes": notes,
        "releases": [r.model_dump() for r in ledger.releases(run_id)],
        "quarantine": [q.model_dump() for q in store.quarantined(run_id=run_id) if q.interaction_id == interaction_id],
        "run": {k: getattr(run, k) if run else None for k in ("started_at", "finished_at", "status")},
    }


def format_trail(trail: dict[str, Any]) -> str:
    """The audit trail as text for a governance lead."""
    lines = [f"contact {trail['interaction_id']} · run {trail['run_id']} · status {trail['status']}",
             f"  input sha256 {trail['input_hash']} · PII redacted before the LLM: {trail['pii_redacted'] or 'none'}"]
    for a in trail["after_call_work"]:
        lines.append(f"  after-call work: model {a['model']} · prompt {a['prompt_hash']} · "
                     f"{a['prompt_tokens']} in / {a['completion_tokens']} out tokens · {a['seconds']} s · "
                     f"{a['created_at']}")
    if trail["outcome"]:
        o = trail["outcome"]
        lines.append(f"  outcome: {o['label']} (confidence {o['confidence']:.2f})")
    for v in trail["eval"]:
        why = f" — {'; '.join(v['why'])}" if v["why"] else ""
        lines.append(f"  eval {v['metric']}: this contact {v['this_contact']}{why}")
    for n in trail["crm_notes"]:
        lines.append(f"  CRM note {n['note_key'][:12]}: {n['status']} (created {n['created_at']}, "
                     f"delivered {n['delivered_at'] or '—'})")
    for r in trail["releases"]:
        lines.append(f"  released {r['at']} by {r['released_by']}: {r['reason']} ({r['notes']} notes)")
    for q in trail["quarantine"]:
        lines.append(f"  quarantined at {q['stage']}: {q['reason']}")
    return "\n".join(lines)
