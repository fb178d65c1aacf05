"""Ops: what the people who schedule and watch the nightly runs see: the progress while a run goes, its summary
at the end."""

from cx_worker.ops.progress import progress_bar
from cx_worker.ops.summary import run_summary, summary_markdown, summary_text

__all__ = ["progress_bar", "run_summary", "summary_markdown", "summary_text"]
