"""A night through the capability functions, without Prefect: what `flows/nightly.py` wires, in one call."""

from __future__ import annotations

from types import SimpleNamespace

from cx_worker.delivery.write_back import write_back
from cx_worker.drafting.draft import draft
from cx_worker.drafting.failures import take_due_retries
from cx_worker.drafting.prepare import prepare_contacts
from cx_worker.governance.trust import draw_audit, trust_report
from cx_worker.governance.verdict import holds_write_back, judge_run
from cx_worker.ingest.pull import advance_watermark, pull
from cx_worker.ops.summary import accounting
from cx_worker.outcomes.classifier import Classifier
from cx_worker.redaction.detectors import parse_regions


def run_night(e, llm, run_id: str, *, limit: int | None = None) -> SimpleNamespace:
    """Take due retries, pull, prepare, draft, classify, draw the audit sample, judge, write back and advance the
    watermark for the `env` fixture's night; returns what each stage counted, the audits' estimates and the night's
    books (`ops.summary.accounting`)."""
    e.store.start_run(run_id, config={})
    retries = take_due_retries(store=e.store, run_id=run_id)
    pulled = pull(e.settings, store=e.store, run_id=run_id, limit=limit)
    redacted = prepare_contacts(pulled.interactions, store=e.store, run_id=run_id, enabled=e.settings.redact,
                                max_tokens=e.settings.max_transcript_tokens,
                                regions=parse_regions(e.settings.pii_regions))
    contacts = retries + redacted
    drafted = draft(contacts, llm=llm, settings=e.settings, dispositions=e.dispositions, store=e.store,
                    run_id=run_id)
    outcomes = Classifier(collection=e.collection, model=None, contacts=None, k=5).classify_and_store(
        contacts, store=e.store, run_id=run_id)
    draw_audit(e.store, run_id, size=e.settings.audit_sample)
    trust = trust_report(e.store, run_id, window_days=e.settings.audit_window_days, min_n=e.settings.audit_min_n,
                         before=e.store.run(run_id).started_at)
    report, paths = judge_run(run_id, settings=e.settings, store=e.store, crm=e.crm, llm=None, trust=trust)
    notes = write_back(e.store.run_interactions(run_id), store=e.store, crm=e.crm, run_id=run_id,
                       settings=e.settings, dispositions=e.dispositions, hold=holds_write_back(report))
    advance_watermark(e.settings, store=e.store, offsets=pulled.offsets)
    return SimpleNamespace(pulled=pulled, drafted=drafted, outcomes=outcomes, report=report, notes=notes,
                           paths=paths, retried=len(retries), trust=trust,
                           books=accounting(run_id, pulled=pulled, store=e.store, retried=len(retries)))
