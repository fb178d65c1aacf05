"""The review queue: contacts a human should look at before (or after) agents rely on them.

A contact waits for review when its outcome is below the confidence threshold (or otherwise flagged by the
classifier), when its after-call work failed a governance metric, or when the customer is an emotional risk.
A reviewer approves, edits or relabels it; every decision is audited, edits and relabels reach the CRM as a new
revision of the note, and relabels become exemplars the next run learns from.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

from cx_worker.delivery.crm import SqliteCrm
from cx_worker.delivery.notes import render_note
from cx_worker.store import Store

_SCHEMA = """
CREATE TABLE IF NOT EXISTS review_decisions (
    id INTEGER PRIMARY KEY AUTOINCREMENT, interaction_id TEXT NOT NULL, decision TEXT NOT NULL,
    decided_by TEXT NOT NULL, reason TEXT NOT NULL, detail TEXT NOT NULL, at TEXT NOT NULL
);
"""


class ReviewError(ValueError):
    """A review decision that cannot be applied."""


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _decided(store: Store) -> set[str]:
    store.db.executescript(_SCHEMA)
    return {r["interaction_id"] for r in store.iter_rows("SELECT DISTINCT interaction_id FROM review_decisions")}


def review_queue(store: Store) -> list[dict[str, Any]]:
    """Every contact waiting for review, with why and the evidence, most urgent first."""
    decided = _decided(store)
    items: dict[str, dict[str, Any]] = {}

    def add(iid: str, reason: str) -> None:
        if iid in decided:
            return
        items.setdefault(iid, {"interaction_id": iid, "reasons": []})["reasons"].append(reason)

    for r in store.review_list():
        add(r["interaction_id"], f"outcome {r['label']} at confidence {r['confidence']:.2f}: {r['reason']}")
    for row in store.iter_rows("SELECT run_id, metric, details FROM eval_results WHERE success = 0 AND measured = 1"):
        for f in json.loads(row["details"]).get("failures", []):
            add(f["id"], f"eval {row['metric']} failed: {f['why']}")
    for row in store.iter_rows("SELECT interaction_id, output FROM after_call_work"):
        risk = json.loads(row["output"]).get("emotional_risk") or {}
        if risk.get("flag"):
            add(row["interaction_id"], f"emotional risk: {risk.get('reason') or 'flagged'}")
    for iid, item in items.items():
        outcome = store.outcome(iid)
        acw = store.latest_acw(iid)
        words = ((outcome or {}).get("signals") or {}).get("words") or {}
        item["outcome"] = {k: outcome[k] for k in ("label", "confidence")} | {
            "evidence": outcome["evidence"][:3], "telling_words": words.get("telling", [])} if outcome else None
        item["summary"] = acw["output"]["summary"] if acw else None
        item["run_id"] = (store.contact(iid) or {}).get("run_id")
    return sorted(items.values(), key=lambda i: (-len(i["reasons"]), (i["outcome"] or {}).get("confidence", 0)))


def _record(store: Store, iid: str, decision: str, *, by: str, reason: str, detail: dict[str, Any]) -> None:
    store.db.executescript(_SCHEMA)
    store.db.execute("INSERT INTO review_decisions (interaction_id, decision, decided_by, reason, detail, at) "
                     "VALUES (?, ?, ?, ?, ?, ?)", (iid, decision, by, reason, json.dumps(detail, default=str), _now()))
    store.close_review(iid, by=by)


def decisions(store: Store, interaction_id: str | None = None) -> list[dict[str, Any]]:
    """The audit of review decisions."""
    store.db.executescript(_SCHEMA)
    sql, args = "SELECT * FROM review_decisions", ()
    if interaction_id is not None:
        sql, args = sql + " WHERE interaction_id = ?", (interaction_id,)
    return [{**r, "detail": json.loads(r["detail"])} for r in store.iter_rows(sql + " ORDER BY id", args)]


def _latest_note(crm: SqliteCrm, iid: str) -> dict[str, Any]:
    notes = crm.notes(iid)
    if not notes:
        raise ReviewError(f"no CRM note for {iid!r}")
    return notes[-1]


def _revise(crm: SqliteCrm, note: dict[str, Any], payload: dict[str, Any]) -> None:
    """Store a revised note and deliver it (a held run stays held: the reviewer releases the run)."""
    status = "held" if note["status"] == "held" else "pending"
    crm.db.execute("UPDATE notes SET payload = ?, body = ?, status = ?, revision = revision + 1 WHERE note_key = ?",
                   (json.dumps(payload, default=str), render_note(payload), status, note["note_key"]))
    crm.deliver_pending()


def approve(iid: str, *, store: Store, crm: SqliteCrm, by: str, reason: str = "") -> None:
    """The reviewer agrees with the outputs as they are; a note held for this contact alone stays held."""
    if store.contact(iid) is None:
        raise ReviewError(f"no contact {iid!r} in the store")
    _record(store, iid, "approve", by=by, reason=reason, detail={})


def edit(iid: str, *, store: Store, crm: SqliteCrm, by: str, reason: str = "", summary: str | None = None,
         crm_note: str | None = None) -> None:
    """Correct the summary and/or CRM note; agents get the edited note as a new revision."""
    note = _latest_note(crm, iid)
    payload = note["payload"]
    before = {k: payload["work"][k] for k in ("summary", "crm_note")}
    if summary:
        payload["work"]["summary"] = summary
    if crm_note:
        payload["work"]["crm_note"] = crm_note
    payload["reviewed_by"] = by
    _record(store, iid, "edit", by=by, reason=reason,
            detail={"before": before, "after": {k: payload["work"][k] for k in ("summary", "crm_note")}})
    _revise(crm, note, payload)


def relabel(iid: str, label: str, *, store: Store, crm: SqliteCrm, collection, by: str, reason: str = "",
            model_path=None) -> None:
    """Correct the outcome (the contact becomes an exemplar) and update the agent's note."""
    from cx_worker.outcomes.corrections import correct_outcome

    record = correct_outcome(iid, label, by=by, reason=reason, store=store, collection=collection,
                             model_path=model_path)
    _record(store, iid, "relabel", by=by, reason=reason, detail={"from": record["old_label"], "to": label})
    notes = crm.notes(iid)
    if notes:
        payload = notes[-1]["payload"]
        payload["outcome"] = {**payload["outcome"], "label": label, "confidence": 1.0}
        payload["reviewed_by"] = by
        _revise(crm, notes[-1], payload)
