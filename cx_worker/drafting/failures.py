"""What happens to a contact whose after-call work could not be drafted.

Two kinds of failure, two fates. The LLM call itself failed (a timeout, a dropped connection, 429/5xx after the
SDK's own retries, a Batch API job that expired or was cancelled): not the contact's fault, so it waits in the retry
queue and is drafted again on a later night (`Settings.retry_max_attempts`, `retry_backoff_hours`). The answer came
back but could not be used (invalid after the repair re-ask, cut off at max_tokens, rejected by the output check):
the same contact, prompt and model would fail the same way, so it is quarantined for good. Either way the reason
is recorded (`cx-worker quarantine list`) and the night goes on.
"""

from __future__ import annotations

from cx_worker.models import Interaction
from cx_worker.settings import Settings
from cx_worker.store import Store

RETRY = "waiting_retry"  # draft count of a contact queued for another try
FAILED = "failed"  # draft count of a contact quarantined for good


def record_failure(iid: str, *, store: Store, run_id: str, reason: str, retryable: bool, settings: Settings) -> str:
    """Quarantine the contact's failed attempt and queue a retry when the failure allows one; returns the draft
    count it falls under (`RETRY` or `FAILED`)."""
    if retryable:
        entry = store.schedule_retry(iid, run_id=run_id, reason=reason, max_attempts=settings.retry_max_attempts,
                                     backoff_hours=settings.retry_backoff_hours)
        if entry.status == "waiting":
            store.quarantine(run_id=run_id, interaction_id=iid, origin=iid, stage="after_call_work",
                             reason=f"{reason} (try {entry.attempts} of {settings.retry_max_attempts}; "
                                    f"retried by the first run after {entry.due_at})")
            store.set_contact_status(iid, "awaiting_retry")
            return RETRY
        reason = f"{reason} (gave up after {entry.attempts} tries)"
    store.quarantine(run_id=run_id, interaction_id=iid, origin=iid, stage="after_call_work", reason=reason)
    store.set_contact_status(iid, "acw_failed")
    return FAILED


def take_due_retries(*, store: Store, run_id: str) -> list[Interaction]:
    """The contacts whose retry is due, brought into tonight's run as the LLM saw them last time (already redacted
    and fitted: their stored input hash is kept, so the source never hands them in twice)."""
    taken = []
    for entry in store.due_retries():
        contact = store.take_contact(entry.interaction_id, run_id=run_id)
        if contact is None:  # its record is gone from this store: nothing to retry
            store.retry_done(entry.interaction_id)
            continue
        taken.append(contact.redacted)
    return taken
