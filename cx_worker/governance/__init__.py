"""Governance: a run's stored outputs judged by the suite the AI-governance leads own (metrics with their judges),
the verdict that holds write-back, the report, the review queue and the audit trail."""

from cx_worker.governance.evaluate import GovernanceReport, Suite, evaluate, load_suite
from cx_worker.governance.verdict import holds_write_back, judge_run

__all__ = ["GovernanceReport", "Suite", "evaluate", "holds_write_back", "judge_run", "load_suite"]
