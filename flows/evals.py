"""Re-judge any stored run with a governance suite, standalone (e.g. an old night with a new thresholds file).

    python flows/evals.py RUN_ID [SUITE.yaml]      or      cx-worker eval --run RUN_ID [--thresholds SUITE.yaml]
"""

from __future__ import annotations

import sys

from prefect import flow, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from cx_worker.delivery.crm import open_crm
from cx_worker.governance.evaluate import load_suite
from cx_worker.governance.verdict import judge_run
from cx_worker.llm.client import build_llm
from cx_worker.llm.server import llm_endpoint
from cx_worker.outcomes.fusion import MODEL_FILE, saved_confusion
from cx_worker.outcomes.report import outcome_report
from cx_worker.settings import Settings
from cx_worker.store import Store

judge = task(judge_run, name="evals", cache_policy=NO_CACHE)


@flow(name="cx-evals")
def evals(run_id: str, suite: str | None = None, use_judge: bool = True) -> dict:
    """Judge stored run `run_id` with `suite` (default: the configured one); returns report.json's content."""
    settings = Settings(**({"thresholds": suite} if suite else {}))
    store, crm = Store(settings.store_target), open_crm(settings)
    try:
        if store.run(run_id) is None:
            raise ValueError(f"no run {run_id!r} in {settings.store_path}")
        wants_llm = use_judge and load_suite(settings.thresholds).needs_judge()
        with llm_endpoint(settings, needed=wants_llm) as base_url:
            llm = build_llm(settings, base_url=base_url) if (wants_llm and base_url) else None
            report, paths = judge(run_id, settings=settings, store=store, crm=crm, llm=llm,
                                  outcome_report=outcome_report(
                                      store, run_id, confusion=saved_confusion(settings.models_dir / MODEL_FILE)))
        verdict = report.verdict.upper()
        create_markdown_artifact(
            f"# Re-judged run {run_id}\n\n**Verdict: {verdict}** with `{settings.thresholds}` "
            f"(sha256 `{report.suite.sha256[:16]}`)\n\n" + "\n".join(
                f"- {r.metric}: {r.reason}" for r in report.results), key="cx-evals-rejudge")
        return {"verdict": report.verdict, "paths": {k: str(v) for k, v in paths.items()},
                "metrics": {r.metric: r.score for r in report.results}}
    finally:
        store.close()
        crm.close()


if __name__ == "__main__":
    print(evals(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else None))
