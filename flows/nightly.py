"""The nightly run as a Prefect flow: pull → redact → after-call work → outcome → evals → CRM → artifacts.

Thin by design: every step is a `cx_worker` function tested without Prefect. Settings come from the `CX_*`
environment (secrets never become flow parameters, which Prefect stores).
"""

from __future__ import annotations

import os
import socket
import time
from collections import Counter, deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import chain

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.utilities.annotations import quote

from cx_worker.delivery.crm import open_crm
from cx_worker.delivery.write_back import write_back
from cx_worker.drafting.after_call_work import Disposition, load_dispositions
from cx_worker.drafting.draft import chunk_size, draft_contacts
from cx_worker.drafting.failures import take_due_retries
from cx_worker.drafting.prepare import prepare_contacts
from cx_worker.drafting.questions import load_questions
from cx_worker.governance.trust import draw_audit, trust_report
from cx_worker.governance.verdict import holds_write_back, judge_run
from cx_worker.ingest.pull import Pulled, advance_watermark, pull_chunks
from cx_worker.ingest.source import source_key
from cx_worker.llm.client import build_llm
from cx_worker.llm.server import llm_endpoint, server_stats
from cx_worker.models import Interaction
from cx_worker.ops.progress import progress_bar, stage
from cx_worker.ops.summary import run_summary
from cx_worker.outcomes.classifier import Classifier, ContactVectors, embed_contacts
from cx_worker.outcomes.report import outcome_report, outcome_table
from cx_worker.outcomes.words import TextModel
from cx_worker.redaction.detectors import parse_regions
from cx_worker.settings import Settings
from cx_worker.store import Store, new_run_id
from flows.artifacts import publish_artifacts
from flows.runners import SettingsDaskTaskRunner, SettingsThreadPoolTaskRunner, task_runner


@dataclass
class DraftedChunk:
    """A chunk back from `draft_chunk`: what the LLM saw, the draft counts, what the outcome stage reads of it
    (documents, vectors, signals, outcome words), where it ran (host:pid) and how long each step took there."""

    redacted: list[Interaction]
    counts: Counter
    worker: str
    vectors: ContactVectors = field(default_factory=ContactVectors)
    seconds: Counter = field(default_factory=Counter)


@task(name="redact-and-draft", cache_policy=NO_CACHE)
def draft_chunk(
    chunk: list[Interaction], *, settings: Settings, run_id: str, base_url: str | None,
    dispositions: tuple[Disposition, ...], prepared: bool = False, words: TextModel | None = None,
) -> DraftedChunk:
    """Redact, read for the outcome stage (one embedding pass, signals, outcome `words`) and draft one chunk with its
    own store connection and LLM client: it runs in any thread or process (a Dask worker) that reaches the store.
    `prepared`: contacts already redacted and recorded (retries)."""
    seconds: Counter = Counter()
    store = Store(settings.store_target)
    try:
        with _timed(seconds, "redact"):
            redacted = chunk if prepared else prepare_contacts(chunk, store=store, run_id=run_id,
                                                               enabled=settings.redact,
                                                               max_tokens=settings.max_transcript_tokens,
                                                               regions=parse_regions(settings.pii_regions))
        with _timed(seconds, "embed"):
            vectors = embed_contacts(redacted, words=words)
        with _timed(seconds, "draft"):
            counts = draft_contacts(redacted, settings=settings, dispositions=dispositions, store=store,
                                    run_id=run_id, base_url=base_url)
    finally:
        store.close()
    return DraftedChunk(redacted=redacted, counts=counts, worker=f"{socket.gethostname()}:{os.getpid()}",
                        vectors=vectors, seconds=seconds)


classify = task(Classifier.classify_and_store, name="outcome", cache_policy=NO_CACHE)
judge = task(judge_run, name="evals", cache_policy=NO_CACHE)
write_notes = task(write_back, name="crm-write-back", cache_policy=NO_CACHE)


@flow(name="cx-nightly", log_prints=False, task_runner=SettingsThreadPoolTaskRunner())
def nightly(
    source: str | None = None, limit: int | None = None, all_contacts: bool = False, progress: bool = False
) -> dict:
    """Process the night's new contacts; returns the run summary (see README, `cx-worker nightly --json`).

    Contacts stream through in chunks (`chunk_size`): each chunk is redacted and drafted by a task on the flow's
    task runner (threads, or Dask workers), `chunks_in_flight` at a time, while the flow classifies the outcomes of
    finished chunks; evals then judge the whole run from the store, and write-back streams it from the store.
    """
    settings = Settings(**({"source": source} if source else {}))
    limit = None if all_contacts else (limit if limit is not None else settings.limit)
    store, crm = Store(settings.store_target), open_crm(settings)
    run_id = new_run_id()
    try:
        with store.run_lock(run_id):  # one run at a time on a store: a second one stops here, naming this one
            return _night(settings, store=store, crm=crm, run_id=run_id, limit=limit, progress=progress)
    finally:
        store.close()
        crm.close()


def _night(settings: Settings, *, store: Store, crm, run_id: str, limit: int | None, progress: bool) -> dict:
    store.start_run(run_id, config={"source": source_key(settings.source), "limit": limit,
                                    "model": settings.llm_model, "base_url": settings.llm_base_url or "embedded"})
    logger = get_run_logger()
    try:
        dispositions = load_dispositions(settings.dispositions)
        pulled = Pulled()
        chunks = pull_chunks(settings, store=store, run_id=run_id, limit=limit, size=chunk_size(settings),
                             pulled=pulled)
        retries = take_due_retries(store=store, run_id=run_id)  # failed LLM calls of earlier nights, due again
        size = chunk_size(settings)
        retry_chunks = [(retries[i:i + size], True) for i in range(0, len(retries), size)]
        stage("pulling new contacts from %s", source_key(settings.source))
        first = next(chunks, None)
        stage("opening the exemplar store and the outcome model (built once, on the first night)")
        classifier = Classifier.open(settings)
        words = quote(classifier.model.word_model if classifier.model else None)  # passed as is, not walked
        drafted: Counter = Counter()
        outcome_counts: Counter = Counter()
        workers: Counter = Counter()  # chunks per host:pid
        seconds: Counter = Counter()  # wall time per stage, in the flow's process

        def take(future) -> DraftedChunk:
            with _timed(seconds, "waiting_for_chunks"):
                return future.result()

        def finish(done: DraftedChunk) -> None:
            """Decide and store a drafted chunk's outcomes here (the kNN query, the fusion of what the chunk read,
            repeat links: Chroma and the store have one writer, the flow's process)."""
            drafted.update(done.counts)
            workers[done.worker] += 1
            seconds.update({f"chunks_{stage}": t for stage, t in done.seconds.items()})  # summed over chunks
            with _timed(seconds, "outcome"):
                outcome_counts.update(classify(classifier, done.redacted, store=store, run_id=run_id,
                                               vectors=done.vectors))
            for _ in done.redacted if tick else ():
                tick()

        with llm_endpoint(settings, needed=first is not None or bool(retries)) as base_url:
            stage("drafting the after-call work and deciding outcomes, %d chunk(s) at a time",
                  settings.chunks_in_flight)
            total = (limit or 0) + len(retries)
            with progress_bar(total, enabled=progress) as tick, _timed(seconds, "pull_draft_outcome"):
                in_flight: deque = deque()
                fresh = ((chunk, False) for chunk in chain([first] if first else [], chunks))
                for chunk, prepared in chain(retry_chunks, fresh):
                    # A full pipeline waits for its oldest chunk, submits the next one, and only then decides the
                    # oldest one's outcomes: `chunks_in_flight` chunks keep drafting while the flow does.
                    done = take(in_flight.popleft()) if len(in_flight) >= settings.chunks_in_flight else None
                    in_flight.append(draft_chunk.submit(chunk, settings=settings, run_id=run_id, base_url=base_url,
                                                        dispositions=dispositions, prepared=prepared,
                                                        words=words))
                    if done is not None:
                        finish(done)
                while in_flight:
                    finish(take(in_flight.popleft()))
            logger.info("read %d, new %d, rejected %d", pulled.read, pulled.new, pulled.rejected)
            with _timed(seconds, "audit"):
                draw_audit(store, run_id, size=settings.audit_sample)
                run = store.run(run_id)
                trust = trust_report(store, run_id, window_days=settings.audit_window_days,
                                     min_n=settings.audit_min_n, before=run.started_at if run else None)
            stage("judging the night against the governance thresholds")
            with _timed(seconds, "evals"):
                outcomes_by_group = outcome_report(store, run_id, confusion=classifier.model.confusion
                                                   if classifier.model else None)
                llm = build_llm(settings, base_url=base_url) if base_url else None
                report, paths = judge(run_id, settings=settings, store=store, crm=crm, llm=llm,
                                      outcome_report=outcomes_by_group, trust=trust)
            server = server_stats(base_url)  # before the embedded server stops with the block
        hold = holds_write_back(report)
        stage("writing back to the CRM (%s)", "held: a threshold broke" if hold else "delivering")
        with _timed(seconds, "write_back"):
            notes = write_notes(store.run_interactions(run_id), store=store, crm=crm, run_id=run_id,
                                settings=settings, dispositions=dispositions, hold=hold)
        advance_watermark(settings, store=store, offsets=pulled.offsets)
        summary = run_summary(run_id, pulled=pulled, drafted=drafted, outcomes=outcome_counts, notes=notes,
                              report=report, report_html=paths["html"], store=store,
                              questions=load_questions(settings.questions), retried=len(retries))
        summary["estimates"] = trust.estimates_json()
        summary["audit"] = {"drawn": len(store.audit_items(run_id=run_id)), "verdicts_in_window": trust.audits,
                            "outstanding": trust.outstanding}
        summary["workers"] = dict(workers)
        if server is not None:
            summary["llm_server"] = server
        summary["stage_seconds"] = {k: round(v, 1) for k, v in seconds.items()}
        store.finish_run(run_id, status="finished", summary=summary)
        publish_artifacts(summary, report, outcome_table(outcomes_by_group))
        return summary
    except Exception as exc:
        store.finish_run(run_id, status="failed", summary={"error": f"{type(exc).__name__}: {exc}"})
        raise


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
