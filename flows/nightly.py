"""The nightly run as a Prefect flow: pull → redact → after-call work → outcome → evals → CRM → artifacts.

Thin by design: every step is a `cx_worker` function tested without Prefect. Settings come from the `CX_*`
environment (secrets never become flow parameters, which Prefect stores).
"""

from __future__ import annotations

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from cx_worker import run as stages
from cx_worker.acw import build_llm, load_dispositions
from cx_worker.crm import open_crm
from cx_worker.exemplars import ensure_exemplars, open_collection
from cx_worker.fusion import MODEL_FILE, ensure_model
from cx_worker.repeats import open_contacts
from cx_worker.settings import Settings
from cx_worker.source import source_key as stages_source_key
from cx_worker.store import Store, new_run_id
from cx_worker.questions import load_questions
from cx_worker.outcome_report import outcome_report, outcome_table
from cx_worker.summary import progress_bar, run_summary
from flows.artifacts import publish_artifacts

pull = task(stages.pull, name="pull", cache_policy=NO_CACHE)
redact = task(stages.redact, name="redact", cache_policy=NO_CACHE)
draft = task(stages.draft, name="after-call-work", cache_policy=NO_CACHE)
classify = task(stages.outcomes, name="outcome", cache_policy=NO_CACHE)
judge = task(stages.judge, name="evals", cache_policy=NO_CACHE)
write_back = task(stages.write_back, name="crm-write-back", cache_policy=NO_CACHE)


@flow(name="cx-nightly", log_prints=False)
def nightly(
    source: str | None = None, limit: int | None = None, all_contacts: bool = False, progress: bool = False
) -> dict:
    """Process the night's new contacts; returns the run summary (see README, `cx-worker nightly --json`)."""
    overrides = {"source": source} if source else {}
    settings = Settings(**overrides)
    limit = None if all_contacts else (limit if limit is not None else settings.limit)
    store, crm = Store(settings.store_path), open_crm(settings)
    run_id = new_run_id()
    store.start_run(run_id, config={"source": stages_source_key(settings.source), "limit": limit, "model": settings.llm_model,
                                    "base_url": settings.llm_base_url or "embedded"})
    logger = get_run_logger()
    try:
        dispositions = load_dispositions(settings.dispositions)
        pulled = pull(settings, store=store, run_id=run_id, limit=limit)
        logger.info("read %d, new %d, rejected %d", pulled.read, len(pulled.interactions), pulled.rejected)
        redacted = redact(pulled.interactions, store=store, run_id=run_id, enabled=settings.redact,
                          max_tokens=settings.max_transcript_tokens)
        with stages.llm_endpoint(settings, needed=bool(redacted)) as base_url:
            llm = build_llm(settings, base_url=base_url) if base_url else None
            with progress_bar(len(redacted), enabled=progress) as tick:
                drafted = draft(redacted, llm=llm, settings=settings, dispositions=dispositions, store=store,
                                run_id=run_id, on_progress=tick)
            collection = open_collection(settings.chroma_path)
            ensure_exemplars(collection, settings.exemplars)
            outcome_counts = classify(redacted, collection=collection, store=store, run_id=run_id,
                                      k=settings.knn_k, settings=settings,
                                      model=ensure_model(collection, settings.models_dir / MODEL_FILE,
                                                         k=settings.knn_k),
                                      contacts=open_contacts(settings.chroma_path))
            outcomes_by_group = outcome_report(store, run_id)
            report, paths = judge(run_id, settings=settings, store=store, crm=crm, llm=llm,
                                  outcome_report=outcomes_by_group)
        html = paths["html"]
        notes = write_back(redacted, store=store, crm=crm, run_id=run_id, settings=settings,
                           dispositions=dispositions, hold=report.verdict != "pass")
        stages.advance_watermark(settings, store=store, offsets=pulled.offsets)
        summary = run_summary(run_id, pulled=pulled, drafted=drafted, outcomes=outcome_counts, notes=notes,
                              report=report, report_html=html, store=store,
                              questions=load_questions(settings.questions))
        store.finish_run(run_id, status="finished", summary=summary)
        publish_artifacts(summary, report, outcome_table(outcomes_by_group))
        return summary
    except Exception as exc:
        store.finish_run(run_id, status="failed", summary={"error": f"{type(exc).__name__}: {exc}"})
        raise
    finally:
        store.close()
        crm.close()


if __name__ == "__main__":
    print(nightly())
