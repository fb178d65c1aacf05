"""The review queue: contacts a human should look at before (or after) agents rely on them.

A contact waits for review when its outcome is below the confidence threshold (or otherwise flagged by the
classifier), when its after-call work failed a governance metric, or when the customer is an emotional risk.
A reviewer approves, edits or relabels it; every decision is audited, edits and relabels reach the CRM as a new
revision of the note, and relabels become exemplars the next run learns from.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from cx_worker.delivery.crm import Crm
from cx_worker.models import Evidence
from cx_worker.outcomes.corrections import correct_outcome
from cx_worker.store import Note, Store


class ReviewError(ValueError):
    """A review decision that cannot be applied."""


class ReviewOutcome(BaseModel):
    """The outcome a reviewer checks, with the evidence for it."""

    label: str
    confidence: float
    evidence: list[Evidence] = Field(default_factory=list)  # the nearest exemplars (3)
    telling_words: list[str] = Field(default_factory=list)


class ReviewItem(BaseModel):
    """A contact waiting for review: why, the outcome and its evidence, the summary (`review list --json`)."""

    interaction_id: str
    reasons: list[str] = Field(default_factory=list)
    outcome: ReviewOutcome | None = None
    summary: str | None = None
    run_id: str | None = None


def review_queue(store: Store) -> list[ReviewItem]:
    """Every contact waiting for review, with why and the evidence, most urgent first."""
    decided = store.decided_ids()
    items: dict[str, ReviewItem] = {}

    def add(iid: str, reason: str) -> None:
        if iid not in decided:
            items.setdefault(iid, ReviewItem(interaction_id=iid)).reasons.append(reason)

    for r in store.review_list():
        add(r.interaction_id, f"outcome {r.label} at confidence {r.confidence:.2f}: {r.reason}")
    for e in store.failed_evals():
        for f in e.details.get("failures", []):
            add(f["id"], f"eval {e.metric} failed: {f['why']}")
    for work in store.iter_works():
        risk = work.output.emotional_risk
        if risk.flag:
            add(work.interaction_id, f"emotional risk: {risk.reason or 'flagged'}")
    for iid, item in items.items():
        outcome = store.outcome(iid)
        acw = store.latest_acw(iid)
        if outcome is not None:
            item.outcome = ReviewOutcome(label=outcome.label, confidence=outcome.confidence,
                                         evidence=outcome.evidence[:3],
                                         telling_words=(outcome.signals.get("words") or {}).get("telling", []))
        item.summary = acw.output.summary if acw else None
        item.run_id = contact.run_id if (contact := store.contact(iid)) else None
    return sorted(items.values(), key=lambda i: (-len(i.reasons), i.outcome.confidence if i.outcome else 0))


def _record(store: Store, iid: str, decision: str, *, by: str, reason: str, detail: dict[str, Any]) -> None:
    store.add_review_decision(iid, decision, by=by, reason=reason, detail=detail)
    store.close_review(iid, by=by)


def _latest_note(crm: Crm, iid: str) -> Note:
    notes = crm.notes(iid)
    if not notes:
        raise ReviewError(f"no CRM note for {iid!r}")
    return notes[-1]


def approve(iid: str, *, store: Store, crm: Crm, by: str, reason: str = "") -> None:
    """The reviewer agrees with the outputs as they are; a note held for this contact alone stays held."""
    if store.contact(iid) is None:
        raise ReviewError(f"no contact {iid!r} in the store")
    _record(store, iid, "approve", by=by, reason=reason, detail={})


def edit(iid: str, *, store: Store, crm: Crm, by: str, reason: str = "", summary: str | None = None,
         crm_note: str | None = None) -> None:
    """Correct the summary and/or CRM note; agents get the edited note as a new revision."""
    note = _latest_note(crm, iid)
    work = note.payload.work
    changed = work.model_copy(update={k: v for k, v in (("summary", summary), ("crm_note", crm_note)) if v})
    _record(store, iid, "edit", by=by, reason=reason,
            detail={"before": {"summary": work.summary, "crm_note": work.crm_note},
                    "after": {"summary": changed.summary, "crm_note": changed.crm_note}})
    crm.revise(note, note.payload.model_copy(update={"work": changed, "reviewed_by": by}))


def relabel(iid: str, label: str, *, store: Store, crm: Crm, collection, by: str, reason: str = "",
            model_path=None) -> None:
    """Correct the outcome (the contact becomes an exemplar) and update the agent's note."""
    record = correct_outcome(iid, label, by=by, reason=reason, store=store, collection=collection,
                             model_path=model_path)
    _record(store, iid, "relabel", by=by, reason=reason, detail={"from": record.old_label, "to": label})
    notes = crm.notes(iid)
    if notes:
        payload = notes[-1].payload
        outcome = payload.outcome.model_copy(update={"label": label, "confidence": 1.0})
        crm.revise(notes[-1], payload.model_copy(update={"outcome": outcome, "reviewed_by": by}))
