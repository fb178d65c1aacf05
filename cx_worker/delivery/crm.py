"""CRM write-back: one note per contact, where agents read it.

Every note first goes into the ledger (`cx_worker.store.Ledger`) with its delivery state — pending, delivered,
held or failed — and is then delivered by the configured sink: the embedded CRM itself (default) or a signed
webhook (`cx_worker.delivery.webhook`). A note's key is interaction id + prompt hash + model: a re-run can never
create or send a second note. Notes of a run whose evals breached a threshold are `held`: nothing reaches agents
until a reviewer releases them.
"""

from __future__ import annotations

from collections import Counter

from cx_worker.delivery.notes import displayable, note_key, render_note
from cx_worker.delivery.sinks import Delivery, DeliveryError, EmbeddedDelivery
from cx_worker.delivery.webhook import WebhookDelivery
from cx_worker.models import NotePayload
from cx_worker.settings import Settings
from cx_worker.store import Ledger, Note, Release


class Crm:
    """The note ledger, delivering through `delivery` (default: the embedded CRM)."""

    def __init__(self, ledger: Ledger, *, delivery: Delivery | None = None) -> None:
        self.ledger = ledger
        self.delivery = delivery or EmbeddedDelivery()

    def close(self) -> None:
        self.ledger.close()

    def write(self, payload: NotePayload, *, hold: bool) -> str:
        """Record one note as `held` or `pending`; a note already delivered stays as it is. Returns its status."""
        key = note_key(payload.interaction_id, prompt_hash=payload.prompt_hash, model=payload.model)
        if self.ledger.status(key) == "delivered":
            return "delivered"
        payload = displayable(payload)
        return self.ledger.put_note(key, payload=payload, body=render_note(payload),
                                    status="held" if hold else "pending")

    def deliver_pending(self, *, run_id: str | None = None) -> Counter:
        """Deliver every pending (and earlier failed, retryable) note; returns counts of delivered and failed."""
        counts: Counter = Counter()
        for note in self.ledger.deliverable(run_id=run_id):
            with self.ledger.claim(note.note_key) as claim:
                if claim is None:  # another writer is delivering it, or has
                    continue
                try:
                    self.delivery.deliver(claim.note)
                except DeliveryError as exc:
                    claim.failed(sink=self.delivery.name, error=str(exc))
                    counts["failed"] += 1
                    continue
                claim.delivered(sink=self.delivery.name)
                counts["delivered"] += 1
        return counts

    def revise(self, note: Note, payload: NotePayload) -> None:
        """Store a reviewer's revision of a note and deliver it (a held run stays held: the reviewer releases it)."""
        status = "held" if note.status == "held" else "pending"
        payload = displayable(payload)  # a reviewer's text is cleaned like a model's
        self.ledger.revise(note.note_key, payload=payload, body=render_note(payload), status=status)
        self.deliver_pending()

    def release(self, run_id: str, *, by: str, reason: str) -> int:
        """Release a run's held notes after review and deliver them; the release is audited. Returns how many."""
        released = self.ledger.release(run_id, by=by, reason=reason)
        self.deliver_pending(run_id=run_id)
        return released

    def releases(self, run_id: str | None = None) -> list[Release]:
        return self.ledger.releases(run_id)

    def notes(self, interaction_id: str | None = None, *, status: str | None = None) -> list[Note]:
        """Notes, oldest first, optionally for one interaction and/or one status."""
        return self.ledger.notes(interaction_id, status=status)

    def visible(self, interaction_id: str) -> Note | None:
        """The newest delivered note of a contact: what an agent sees. Held notes are invisible."""
        rows = self.notes(interaction_id, status="delivered")
        return rows[-1] if rows else None


def open_crm(settings: Settings) -> Crm:
    """The note ledger with the sink chosen in settings (`CX_CRM_SINK`)."""
    ledger = Ledger(settings.ledger_target)
    if settings.crm_sink == "webhook":
        return Crm(ledger, delivery=WebhookDelivery.from_settings(settings))
    return Crm(ledger)
