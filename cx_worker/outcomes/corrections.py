"""Corrections: a person overrides a contact's outcome, and the classifier learns from it.

`cx-worker label ID LABEL --by NAME --reason TEXT`. The correction is audited in the store (who, when, the old
and the new label, why), the stored outcome takes the new label, the contact leaves the review list, and its
stored redacted transcript joins the exemplar collection (source `correction`): the next run's kNN vote sees it,
and the fusion model is refitted on the collection including it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from cx_worker.models import OUTCOME_LABELS, Exemplar
from cx_worker.outcomes.exemplars import add_exemplars
from cx_worker.outcomes.fusion import ensure_model
from cx_worker.store import Correction, Store


class CorrectionError(ValueError):
    """The correction cannot be applied (unknown label, contact not in the store)."""


def correct_outcome(
    interaction_id: str, label: str, *, by: str, reason: str = "", store: Store, collection,
    model_path: Path | None = None,
    k: int = 7,
) -> Correction:
    """Apply one correction; returns the audit record.

    Args:
        interaction_id: The contact, as stored by a run (its redacted transcript is in the store).
        label: The right outcome label.
        by: Who corrects (a governance lead, an agent).
        reason: Why, free text.
        store: The run store.
        collection: The exemplar collection the contact is added to.
        model_path: Where the fusion model lives; refitted there when given.
        k: Neighbours of the vote the model is fitted for.
    """
    if label not in OUTCOME_LABELS:
        raise CorrectionError(f"unknown label {label!r}: one of {', '.join(OUTCOME_LABELS)}")
    contact = store.contact(interaction_id)
    if contact is None:
        raise CorrectionError(f"no contact {interaction_id!r} in the store: only contacts a run has read can be "
                              "corrected")
    interaction = contact.redacted
    old = store.outcome(interaction_id)
    record = store.add_correction(interaction_id, old_label=old.label if old else None, new_label=label, by=by,
                                  reason=reason)
    signals = dict(old.signals) if old else {}
    signals["corrected"] = {"by": by, "at": record.created_at, "from": old.label if old else None,
                            "reason": reason}
    signals["needs_review"] = False
    store.put_outcome(interaction_id, run_id=old.run_id if old else contact.run_id, outcome={
        "label": label, "confidence": 1.0, "evidence": [e.model_dump() for e in old.evidence] if old else [],
        "signals": signals})
    store.close_review(interaction_id, by=by)
    add_exemplars([Exemplar(interaction=interaction, label=label, source="correction",
                            reason=f"corrected by {by} on {datetime.now(UTC).date()}: {reason}".strip())],
                  collection=collection)
    if model_path is not None:
        ensure_model(collection, model_path, k=k, refit=True)
    return record
