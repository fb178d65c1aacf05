"""CRM write-back: one note per contact with valid after-call work, held when the run's evals breached.

The note carries the after-call work, the outcome with its evidence, and for escalated or emotionally risky
contacts a hand-off brief (`handoff`). It is recorded in the ledger, then delivered by the CRM's sink; a contact
whose note is written is `done`.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable

from cx_worker.delivery.crm import Crm
from cx_worker.delivery.handoff import handoff_brief
from cx_worker.drafting.after_call_work import Disposition, prompt_hash
from cx_worker.drafting.questions import load_questions
from cx_worker.models import Interaction, NotePayload, Outcome
from cx_worker.settings import Settings
from cx_worker.store import Store


def write_back(
    interactions: Iterable[Interaction], *, store: Store, crm: Crm, run_id: str, settings: Settings,
    dispositions: tuple[Disposition, ...], hold: bool, page: int = 500,
) -> Counter:
    """One CRM note per contact with valid after-call work, delivered by the CRM's sink; all held when the run's
    evals breached. Notes that failed to deliver on an earlier run are retried. `interactions` is consumed `page` at
    a time (pass `run_interactions(...)` to stream a night of any size). Returns counts per delivery state.
    """
    key = prompt_hash(dispositions, questions=load_questions(settings.questions))
    counts: Counter = Counter()
    batch: list[Interaction] = []
    for interaction in interactions:
        batch.append(interaction)
        if len(batch) >= page:
            _write_page(batch, key=key, store=store, crm=crm, run_id=run_id, settings=settings, hold=hold,
                        counts=counts)
            batch = []
    _write_page(batch, key=key, store=store, crm=crm, run_id=run_id, settings=settings, hold=hold, counts=counts)
    return counts


# The payload's text, as opposed to the keys a note is found by (interaction id, run, model, prompt hash).
def _write_page(
    interactions: list[Interaction], *, key: str, store: Store, crm: Crm, run_id: str, settings: Settings,
    hold: bool, counts: Counter,
) -> None:
    for interaction in interactions:
        acw = store.acw(interaction.id, prompt_hash=key, model=settings.llm_model)
        if acw is None:
            continue
        stored = store.outcome(interaction.id)
        outcome = (Outcome(label=stored.label, confidence=stored.confidence, evidence=stored.evidence,
                           signals=stored.signals) if stored else Outcome(label="unresolved", confidence=0.0))
        payload = NotePayload(
            interaction_id=interaction.id, run_id=run_id, channel=interaction.channel, queue=interaction.queue,
            customer_id=interaction.customer_id, model=settings.llm_model, prompt_hash=key, work=acw.output,
            metadata=json.loads(json.dumps(interaction.metadata, default=str)), outcome=outcome,
            handoff=handoff_brief(acw.output, outcome))  # the CRM cleans it for display (notes.displayable)
        status = crm.write(payload, hold=hold)
        if status != "pending":
            counts[status] += 1
    counts.update(crm.deliver_pending())
    for interaction in interactions:
        if (c := store.contact(interaction.id)) and c.status == "pending":
            store.set_contact_status(interaction.id, "done")
