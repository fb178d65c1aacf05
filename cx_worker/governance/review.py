"""The review queue: contacts a human should look at before (or after) agents rely on them.

A contact waits for review when its outcome is below the confidence threshold (or otherwise flagged by the
classifier), when its after-call work failed a governance metric, or when the customer is an emotional risk.
A reviewer approves, edits or relabels it; every decision is audited, edits and relabels reach the CRM as a new
revision of the note, and relabels become exemplars the next run learns from.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from cx_worker.delivery.crm import Crm
from cx_worker.governance.estimates import ERROR_TYPES
from cx_worker.models import OUTCOME_LABELS, Evidence
from cx_worker.outcomes.corrections import correct_outcome
from cx_worker.store import AuditItem, Note, Store, Verdict


class ReviewError(ValueError):
    """A review decision that cannot be applied."""


class ReviewOutcome(BaseModel):
    """The outcome a reviewer checks, with the evidence for it."""

    label: str
    confidence: float
    evidence: list[Evidence] = Field(default_factory=list)  # the nearest exemplars (3)
    telling_words: list[str] = Field(default_factory=list)


class ReviewItem(BaseModel):
    """A contact waiting for a person (`review list --json`): `kind` "audit" (drawn at random into a night's audit
    sample: a verdict feeds the estimates) or "low_confidence" (flagged: an unsure outcome, a failed eval, an upset
    customer; never part of the estimates); why, the predicted outcome and its evidence, the summary."""

    interaction_id: str
    kind: Literal["audit", "low_confidence"] = "low_confidence"
    predicted_outcome: str | None = None
    run_id: str | None = None
    reasons: list[str] = Field(default_factory=list)
    outcome: ReviewOutcome | None = None
    summary: str | None = None


def review_queue(store: Store) -> list[ReviewItem]:
    """Every contact waiting for a person: the audit sample's open items first (oldest night first), then the
    flagged ones, most urgent first."""
    audits = [ReviewItem(interaction_id=a.interaction_id, kind="audit", predicted_outcome=a.stratum, run_id=a.run_id,
                         reasons=[f"audit sample of run {a.run_id} (drawn at random from the {a.stratum} contacts, "
                                  f"inclusion probability {a.inclusion_probability:.3f})"])
              for a in store.audit_items(open_only=True)]
    for item in audits:
        _fill(store, item)
    return audits + _flagged(store)


def _fill(store: Store, item: ReviewItem) -> None:
    outcome = store.outcome(item.interaction_id)
    acw = store.latest_acw(item.interaction_id)
    if outcome is not None:
        item.outcome = ReviewOutcome(label=outcome.label, confidence=outcome.confidence, evidence=outcome.evidence[:3],
                                     telling_words=(outcome.signals.get("words") or {}).get("telling", []))
        item.predicted_outcome = item.predicted_outcome or outcome.label
    item.summary = acw.output.summary if acw else None
    if item.run_id is None:
        item.run_id = contact.run_id if (contact := store.contact(item.interaction_id)) else None


def _flagged(store: Store) -> list[ReviewItem]:
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
    for item in items.values():
        _fill(store, item)
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


def record_verdict(iid: str, *, store: Store, crm: Crm, collection, outcome: str, summary_ok: bool,
                   errors: list[str] = (), disposition: str | None = None, by: str, reason: str = "") -> AuditItem:
    """A person's verdict on an audited contact: its true outcome, whether the summary is faithful (and if not,
    which errors), the right disposition. Audited like every review decision; the true outcome becomes a labelled
    exemplar (the fusion model is refitted by the next run, not per verdict) and, where it differs, the agent's
    note gets the corrected outcome. Returns the audit item with its verdict.

    Raises:
        ReviewError: the contact is not in an audit sample (use `relabel` for a flagged contact), an unknown
            outcome or error type, errors given for a faithful summary or none for a faulty one.
    """
    if outcome not in OUTCOME_LABELS:
        raise ReviewError(f"unknown outcome {outcome!r}: one of {', '.join(OUTCOME_LABELS)}")
    unknown = sorted(set(errors) - ERROR_TYPES)
    if unknown:
        raise ReviewError(f"unknown summary error(s) {', '.join(unknown)}: any of {', '.join(sorted(ERROR_TYPES))}")
    if summary_ok and errors:
        raise ReviewError("a faithful summary (--summary ok) has no errors; use --summary error")
    if not summary_ok and not errors:
        raise ReviewError("say which errors the summary has (--errors invented,misattributed,...)")
    sampled = [a for a in store.audit_items() if a.interaction_id == iid]
    if not sampled:
        raise ReviewError(f"{iid!r} is not in an audit sample: a flagged contact is relabelled or approved "
                          "(cx-worker review relabel|approve), so that only random audits enter the estimates")
    item = sampled[-1]  # its latest night
    verdict = Verdict(true_outcome=outcome, summary_ok=summary_ok, errors=sorted(set(errors)), disposition=disposition,
                      decided_by=by, reason=reason, at=datetime.now(UTC).isoformat(timespec="seconds"))
    store.put_verdict(item.run_id, iid, verdict)
    _record(store, iid, "verdict", by=by, reason=reason, detail={"run_id": item.run_id} | verdict.model_dump())
    before = store.outcome(iid)
    correct_outcome(iid, outcome, by=by, reason=f"audit verdict: {reason}".strip(), store=store, collection=collection,
                    model_path=None)
    notes = crm.notes(iid)
    if notes and (before is None or before.label != outcome):
        payload = notes[-1].payload
        corrected = payload.outcome.model_copy(update={"label": outcome, "confidence": 1.0})
        crm.revise(notes[-1], payload.model_copy(update={"outcome": corrected, "reviewed_by": by}))
    return item.model_copy(update={"verdict": verdict})
