"""`cx-worker nightly` and `cx-worker eval`: the commands that run a flow (the CLI's one way into `flows`)."""

from __future__ import annotations

import json
import os
import sys

import click

import flows
from cx_worker.cli import EXIT_BREACH, EXIT_INSUFFICIENT, EXIT_PASS, say
from cx_worker.cli.settings_options import settings_options
from cx_worker.ops.progress import show_progress
from cx_worker.ops.reaper import start_reaper
from cx_worker.ops.summary import summary_text
from cx_worker.settings import Settings


@click.command()
@click.option("--limit", type=int, default=None, help="Contacts this run (default CX_LIMIT, 12).")
@click.option("--all", "all_contacts", is_flag=True, help="Every new contact.")
@click.option("--json", "as_json", is_flag=True, help="The last line printed is the run summary as JSON.")
@click.option("--progress", is_flag=True, help="Show the progress bar even when not on a terminal.")
@click.option("--verbose", is_flag=True, help="Prefect's INFO logs.")
@click.option("--quiet", is_flag=True, help="No stage or progress lines on stderr (only the summary).")
@settings_options
def nightly(limit: int | None, all_contacts: bool, as_json: bool, progress: bool, verbose: bool, quiet: bool) -> int:
    """Run the nightly flow over new contacts: redact, draft, classify, judge, write back.

    Exit 0: evals pass, notes delivered. 1: a governance threshold broke, notes held. 2: could not run.
    3: a gate lacks the audits to decide (insufficient evidence; notes held only if the suite says so).
    """
    if limit is not None and all_contacts:
        raise click.UsageError("--limit and --all exclude each other")
    if verbose:
        os.environ["PREFECT_LOGGING_LEVEL"] = "INFO"
    settings = Settings()
    start_reaper()  # whatever the run starts (Prefect's server, the LLM server, Dask) dies with it
    bar = (not as_json and sys.stderr.isatty()) or progress
    with show_progress(enabled=not quiet):  # stages, and timed progress lines where there is no bar
        summary = flows.run_nightly(settings, limit=limit, all_contacts=all_contacts, progress=bar and not quiet)
    say(json.dumps(summary) if as_json else summary_text(summary))
    return {"pass": EXIT_PASS, "insufficient": EXIT_INSUFFICIENT}.get(summary["eval"]["verdict"], EXIT_BREACH)


@click.command()
@click.option("--run", "run_id", required=True, help="The stored run to judge.")
@click.option("--no-judge", is_flag=True, help="Skip the LLM faithfulness judge (reported not measured).")
@click.option("--quiet", is_flag=True, help="No stage lines on stderr.")
@settings_options(show=("thresholds",))
def evals(run_id: str, no_judge: bool, quiet: bool) -> int:
    """(Re-)judge a stored run with the governance suite (--thresholds FILE: another suite)."""
    start_reaper()
    with show_progress(enabled=not quiet):
        result = flows.run_evals(run_id, use_judge=not no_judge)
    for metric, score in result["metrics"].items():
        say(f"{metric:22} {'n/a' if score is None else f'{score:.3f}'}")
    say(f"verdict: {result['verdict']}")
    for kind, path in result["paths"].items():
        say(f"{kind}: {path}")
    return {"pass": EXIT_PASS, "insufficient": EXIT_INSUFFICIENT}.get(result["verdict"], EXIT_BREACH)
