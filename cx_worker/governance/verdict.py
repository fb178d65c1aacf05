"""The run's verdict: judge a stored run with the governance suite, write its reports, and say whether the run's
CRM write-back is held (any gating metric breached: notes wait for a person to release them).
"""

from __future__ import annotations

from cx_worker.delivery.crm import Crm
from cx_worker.governance.evaluate import GovernanceReport, evaluate, load_references, load_suite
from cx_worker.governance.judge import make_judge
from cx_worker.governance.report import write_report
from cx_worker.governance.trust import TrustReport, trust_chart, trust_history
from cx_worker.settings import Settings
from cx_worker.store import Store


def judge_run(run_id: str, *, settings: Settings, store: Store, crm: Crm, llm=None, outcome_report=None,
              trust: TrustReport | None = None):
    """Judge a stored run with the governance suite and write its reports; returns (report, paths).

    `llm` (optional) is the faithfulness judge's model; without one, that metric is reported as not measured.
    `trust` (the audits' estimates, `trust.trust_report`) feeds the evidence metrics and the report's "How far to
    trust tonight"; every judge also judges the run's audited contacts, and its calls on them are kept.
    """
    suite = load_suite(settings.thresholds)
    references = load_references(labels=settings.labelled, summaries=settings.reference_summaries,
                                 dispositions=settings.disposition_map)
    context = {"crm_language": settings.crm_language, "trust": trust,
               "audited": {a.interaction_id for a in store.audit_items(run_id=run_id)}}
    if llm is not None and suite.needs_judge():
        context["judge"] = make_judge(llm, method=settings.llm_structured_output)
    report = evaluate(run_id, store=store, suite=suite, references=references, context=context)
    extra = {"releases": crm.releases(run_id)}
    if outcome_report is not None:
        extra["outcome_report"] = outcome_report
    if trust is not None:
        history = trust_history(store, tonight=trust, run_id=run_id)
        extra["trust_tonight"] = trust.as_dict() | {"history": history, "chart": trust_chart(history)}
    paths = write_report(report, settings.reports_dir / run_id, store=store, extra=extra)
    return report, paths


def holds_write_back(report: GovernanceReport) -> bool:
    """Whether a run's notes are held: a breach holds them; insufficient evidence only if the suite says so
    (`hold_on_insufficient: true`)."""
    return report.verdict == "breach" or (report.verdict == "insufficient" and report.suite.hold_on_insufficient)
