"""What the LLM may see: each contact redacted, fitted to the model's context, and recorded as pending.

The stored transcript is exactly what the model is sent, so the governance metric `pii_in_llm_input` judges the
real input, and a run killed mid-night finds its contacts `pending` and picks them up.
"""

from __future__ import annotations

from cx_worker.drafting.context_limit import fit_transcript
from cx_worker.ingest.pull import input_hash
from cx_worker.models import Interaction
from cx_worker.redaction.redactor import redact_interaction
from cx_worker.store import Store


def prepare_contacts(
    interactions: list[Interaction], *, store: Store, run_id: str, enabled: bool, max_tokens: int | None = None,
    regions: tuple[str, ...] | None = None,
) -> list[Interaction]:
    """Redact personal data and record each contact's progress; returns what the LLM may see.

    `regions`: the regions whose national phone formats redaction reads (`Settings.pii_regions`; None: the
    default ones). A transcript over `max_tokens` (estimated) is cut to fit, and the reason recorded in the
    quarantine table (stage "truncate") and in the contact's metadata: the contact is still processed. A contact
    that cannot be redacted or recorded is quarantined (stage "prepare") and left out; the others go on.
    """
    out = []
    for interaction in interactions:
        try:
            redacted, counts = redact_interaction(interaction, regions=regions) if enabled else (interaction, {})
            cut = None
            if max_tokens:
                redacted, cut = fit_transcript(redacted, max_tokens=max_tokens)
            store.put_contact(interaction.id, run_id=run_id, input_hash=input_hash(interaction),
                              redacted=redacted, pii_counts=counts, status="pending")
        except Exception as exc:  # this contact, not the night: nothing unredacted goes on
            store.quarantine(run_id=run_id, interaction_id=interaction.id, origin=interaction.id, stage="prepare",
                             reason=f"could not be redacted or recorded: {type(exc).__name__}: {str(exc)[:300]}")
            continue
        if cut:
            store.quarantine(run_id=run_id, interaction_id=interaction.id, origin=interaction.id,
                             stage="truncate", reason=f"processed truncated: {cut}")
        out.append(redacted)
    return out

