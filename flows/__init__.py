"""The Prefect flows: the nightly run (`nightly`) and the re-judging of a stored run (`evals`).

The CLI reaches them through this entry point only: `run_nightly` and `run_evals`.
"""

from __future__ import annotations

from cx_worker.settings import Settings
from flows.evals import evals
from flows.nightly import nightly_for

__all__ = ["run_evals", "run_nightly"]


def run_nightly(settings: Settings, *, limit: int | None, all_contacts: bool, progress: bool) -> dict:
    """Run the nightly flow on the task runner the settings name; returns the run summary."""
    return nightly_for(settings)(limit=limit, all_contacts=all_contacts, progress=progress)


def run_evals(run_id: str, *, use_judge: bool = True) -> dict:
    """Re-judge stored run `run_id` with the configured suite; returns the verdict, metrics and report paths."""
    return evals(run_id, use_judge=use_judge)
