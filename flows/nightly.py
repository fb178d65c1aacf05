"""The nightly run as a Prefect flow: pull → redact → after-call work → outcome → evals → CRM → artifacts.

Thin by design: every step is a `cx_worker` function tested without Prefect. Settings come from the `CX_*`
environment (secrets never become flow parameters, which Prefect stores).
"""

from __future__ import annotations

import time
from collections import Counter, deque
from collections.abc import Iterator
from contextlib import contextmanager
from itertools import chain

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
from flows.runners import SettingsDaskTaskRunner, SettingsThreadPoolTaskRunner, task_runner

draft_chunk = task(stages.draft_chunk, name="redact-and-draft", cache_policy=NO_CACHE)
classify = task(stages.outcomes, name="outcome", cache_policy=NO_CACHE)
judge = task(stages.judge, name="evals", cache_policy=NO_CACHE)
write_back = task(stages.write_back, name="crm-write-back", cache_policy=NO_CACHE)


@flow(name="cx-nightly", log_prints=False, task_runner=SettingsThreadPoolTaskRunner())
def nightly(
    source: str | None = None, limit: int | None = None, all_contacts: bool = False, progress: bool = False
) -> dict:
    """Process the night's new contacts; returns the run summary (see README, `cx-worker nightly --json`).

    Contacts stream through in chunks (`chunk_size`): each chunk is redacted and drafted by a task on the flow's
    task runner (threads, or Dask workers), `chunks_in_flight` at a time, while the flow classifies the outcomes of
    finished chunks; evals then judge the whole run from the store, and write-back streams it from the store.
    """
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
        pulled = stages.Pulled()
        chunks = stages.pull_chunks(settings, store=store, run_id=run_id, limit=limit, size=stages.chunk_size(settings),
                                    pulled=pulled)
        first = next(chunks, None)
        collection = open_collection(settings.chroma_path)
        ensure_exemplars(collection, settings.exemplars)
        model = ensure_model(collection, settings.models_dir / MODEL_FILE, k=settings.knn_k)
        contacts = open_contacts(settings.chroma_path)
        drafted: Counter = Counter()
        outcome_counts: Counter = Counter()
        workers: Counter = Counter()  # chunks per host:pid
        seconds: Counter = Counter()  # wall time per stage, in the flow's process

        def finish(future) -> None:
            """Take a drafted chunk; classify its outcomes here (Chroma has one writer: the flow's process)."""
            with _timed(seconds, "waiting_for_chunks"):
                done = future.result()
            drafted.update(done.counts)
            workers[done.worker] += 1
            seconds.update({f"chunks_{stage}": t for stage, t in done.seconds.items()})  # summed over chunks
            with _timed(seconds, "outcome"):
                outcome_counts.update(classify(
                    done.redacted, collection=collection, store=store, run_id=run_id, k=settings.knn_k,
                    settings=settings, model=model, contacts=contacts, embeddings=done.vectors,
                    issue_embeddings=done.issue_vectors, documents=done.documents or None))
            for _ in done.redacted if tick else ():
                tick()

        with stages.llm_endpoint(settings, needed=first is not None) as base_url:
            with progress_bar(limit or 0, enabled=progress) as tick, _timed(seconds, "pull_draft_outcome"):
                in_flight: deque = deque()
                for chunk in chain([first] if first else [], chunks):
                    in_flight.append(draft_chunk.submit(chunk, settings=settings, run_id=run_id, base_url=base_url,
                                                        dispositions=dispositions))
                    while len(in_flight) >= settings.chunks_in_flight:
                        finish(in_flight.popleft())
                while in_flight:
                    finish(in_flight.popleft())
            logger.info("read %d, new %d, rejected %d", pulled.read, pulled.new, pulled.rejected)
            with _timed(seconds, "evals"):
                outcomes_by_group = outcome_report(store, run_id, confusion=model.confusion if model else None)
                llm = build_llm(settings, base_url=base_url) if base_url else None
                report, paths = judge(run_id, settings=settings, store=store, crm=crm, llm=llm,
                                      outcome_report=outcomes_by_group)
        html = paths["html"]
        with _timed(seconds, "write_back"):
            notes = write_back(stages.run_interactions(store, run_id), store=store, crm=crm, run_id=run_id,
                               settings=settings, dispositions=dispositions, hold=report.verdict != "pass")
        stages.advance_watermark(settings, store=store, offsets=pulled.offsets)
        summary = run_summary(run_id, pulled=pulled, drafted=drafted, outcomes=outcome_counts, notes=notes,
                              report=report, report_html=html, store=store,
                              questions=load_questions(settings.questions))
        summary["workers"] = dict(workers)
        summary["stage_seconds"] = {k: round(v, 1) for k, v in seconds.items()}
        store.finish_run(run_id, status="finished", summary=summary)
        publish_artifacts(summary, report, outcome_table(outcomes_by_group))
        return summary
    except Exception as exc:
        store.finish_run(run_id, status="failed", summary={"error": f"{type(exc).__name__}: {exc}"})
        raise
    finally:
        store.close()
        crm.close()


@contextmanager
def _timed(seconds: Counter, stage: str) -> Iterator[None]:
    started = time.perf_counter()
    try:
        yield
    finally:
        seconds[stage] += time.perf_counter() - started


def nightly_for(settings: Settings):
    """The nightly flow on the task runner `settings` name (threads, or Dask)."""
    return nightly.with_options(task_runner=task_runner(settings))


# Deployment entrypoint for a Dask cluster (prefect.yaml: nightly-dask): scheduler address from CX_DASK_ADDRESS.
nightly_dask = nightly.with_options(name="cx-nightly-dask", task_runner=SettingsDaskTaskRunner())


if __name__ == "__main__":
    print(nightly())
