"""Prefect artifacts of a run: the ops summary (markdown) and the governance metrics (table)."""

from __future__ import annotations

from prefect.artifacts import create_markdown_artifact, create_table_artifact

from cx_worker.ops.summary import summary_markdown


def publish_artifacts(summary: dict, report, outcome_rows: list[dict] | None = None) -> None:
    """Post the run's summary, its metrics table and the outcome rates per queue, channel and intent to Prefect."""
    create_markdown_artifact(summary_markdown(summary, report), key="cx-nightly-summary",
                             description="cx-worker nightly run")
    create_table_artifact(
        [{"metric": r.metric, "score": r.score, "threshold": r.threshold, "direction": r.direction,
          "result": ("pass" if r.success else "FAIL") if r.measured else "not measured", "reason": r.reason}
         for r in report.results],
        key="cx-governance-metrics", description="Governance metrics against thresholds",
    )
    if outcome_rows:
        create_table_artifact(outcome_rows, key="cx-outcome-rates",
                              description="True-resolution, deflection, escalation and repeat-contact rates by group")
