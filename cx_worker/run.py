"""The stages of a nightly run as plain functions; `flows/nightly.py` wires them into Prefect.

pull → redact → after-call work → outcome → evals → CRM write-back (held on a breach). Each stage reads and writes
the store, keyed so that a re-run after a crash redoes only what is missing and never duplicates a note.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from threading import BoundedSemaphore, Lock

from cx_worker.acw import AcwError, Disposition, build_llm, prompt_hash, write_after_call_work
from cx_worker.classify import classify
from cx_worker.repeats import link_repeats
from cx_worker.crm import SqliteCrm
from cx_worker.handoff import handoff_brief
from cx_worker.context_limit import fit_transcript
from cx_worker.injection import batch_identifiers
from cx_worker.models import Interaction
from cx_worker.ratelimit import RateLimiter
from cx_worker.questions import load_questions
from cx_worker.redact import redact_interaction
from cx_worker.settings import Settings
from cx_worker.source import Read, read_interactions
from cx_worker.store import Store


@dataclass
class Pulled:
    """What a night's pull found."""

    interactions: list[Interaction] = field(default_factory=list)  # filled by `pull` only; `pull_chunks` streams
    new: int = 0
    read: int = 0
    rejected: int = 0
    skipped: int = 0  # already done in an earlier run
    offsets: dict[str, int] = field(default_factory=dict)


def input_hash(interaction: Interaction) -> str:
    """sha256 of the canonical interaction as read (before redaction)."""
    return hashlib.sha256(interaction.model_dump_json().encode()).hexdigest()[:16]


def pull(settings: Settings, *, store: Store, run_id: str, limit: int | None) -> Pulled:
    """Read new contacts after the watermark into one list (see `pull_chunks`, which streams them)."""
    pulled = Pulled()
    for chunk in pull_chunks(settings, store=store, run_id=run_id, limit=limit, size=1000, pulled=pulled):
        pulled.interactions.extend(chunk)
    return pulled


def pull_chunks(
    settings: Settings, *, store: Store, run_id: str, limit: int | None, size: int, pulled: Pulled
) -> Iterator[list[Interaction]]:
    """Read new contacts after the watermark, `size` at a time; quarantine bad lines and duplicate ids; stop after
    `limit` good ones. `pulled` is updated as the reading goes (counts, and the offsets the watermark may advance
    to once the run is done): only one chunk is in memory here, however big the night.
    """
    seen: set[str] = set()  # ids only: ~100 bytes a contact
    chunk: list[Interaction] = []
    for item in read_interactions(settings.source, offsets=_offsets(store, settings)):
        if limit is not None and pulled.new >= limit:
            break
        pulled.read += 1
        pulled.offsets[item.file] = item.end_offset
        if not isinstance(item, Read):
            pulled.rejected += 1
            store.quarantine(run_id=run_id, interaction_id=item.interaction_id, origin=item.origin, stage="read",
                             reason=item.reason)
            continue
        iid = item.interaction.id
        if iid in seen:
            pulled.rejected += 1
            store.quarantine(run_id=run_id, interaction_id=iid, origin=item.origin, stage="read",
                             reason=f"duplicate id {iid!r} in this batch")
            continue
        seen.add(iid)
        done = store.contact(iid)
        if done is not None and done["status"] in ("done", "acw_failed") and done["input_hash"] == input_hash(
            item.interaction
        ):
            pulled.skipped += 1
            continue
        pulled.new += 1
        chunk.append(item.interaction)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _offsets(store: Store, settings: Settings) -> dict[str, int]:
    return {p: store.watermark(_origin(settings, p)) for p in _names(settings)}


def _names(settings: Settings) -> list[str]:
    from cx_worker.source import source_names

    return source_names(settings.source)


def _origin(settings: Settings, name: str) -> str:
    from cx_worker.source import source_key

    return f"{source_key(settings.source)}::{name}"


def advance_watermark(settings: Settings, *, store: Store, offsets: dict[str, int]) -> None:
    """Record how far each source file has been read: the next run starts there."""
    for name, offset in offsets.items():
        store.set_watermark(_origin(settings, name), offset)


def redact(
    interactions: list[Interaction], *, store: Store, run_id: str, enabled: bool, max_tokens: int | None = None
) -> list[Interaction]:
    """Redact personal data and record each contact's progress; returns what the LLM may see.

    A transcript over `max_tokens` (estimated) is cut to fit, and the reason recorded in the quarantine table
    (stage "truncate") and in the contact's metadata: the contact is still processed.
    """
    out = []
    for interaction in interactions:
        redacted, counts = redact_interaction(interaction) if enabled else (interaction, {})
        if max_tokens:
            redacted, cut = fit_transcript(redacted, max_tokens=max_tokens)
            if cut:
                store.quarantine(run_id=run_id, interaction_id=interaction.id, origin=interaction.id,
                                 stage="truncate", reason=f"processed truncated: {cut}")
        store.put_contact(interaction.id, run_id=run_id, input_hash=input_hash(interaction),
                          redacted=redacted.model_dump_json(), pii_counts=counts, status="pending")
        out.append(redacted)
    return out


def draft(
    interactions: list[Interaction],
    *,
    llm,
    settings: Settings,
    dispositions: tuple[Disposition, ...],
    store: Store,
    run_id: str,
    on_progress: Callable[[], None] | None = None,
) -> Counter:
    """Write the after-call work of every contact, at most `settings.llm_concurrency` calls in flight in this
    process, however many chunks are drafted at once.

    A contact whose work is already stored for this prompt and model is not sent again. A contact whose call fails
    (after the SDK's retries and one repair re-ask) is quarantined with the reason; the others go on. The calls
    share one `llm_rpm`/`llm_tpm` limiter per process (on a Dask cluster: per worker). Returns counts of drafted, repaired (valid after the re-ask), reused,
    failed.
    """
    questions = load_questions(settings.questions)
    key = prompt_hash(dispositions, questions=questions)
    counts: Counter = Counter()
    slots, limiter = _process_limits(settings)
    _, known = batch_identifiers(interactions)

    def one(interaction: Interaction) -> str:
        if store.acw(interaction.id, prompt_hash=key, model=settings.llm_model) is not None:
            return "reused"
        try:
            with slots:
                    result = write_after_call_work(
                    interaction, llm=llm, model=settings.llm_model, dispositions=dispositions,
                    method=settings.llm_structured_output, language=settings.crm_language, limiter=limiter,
                    known_identifiers=known, questions=questions)
        except AcwError as exc:
            return _fail(interaction.id, str(exc))
        except Exception as exc:  # network, timeout after retries: quarantine, never kill the run
            return _fail(interaction.id, f"LLM call failed: {type(exc).__name__}: {str(exc)[:300]}")
        store.put_acw(interaction.id, prompt_hash=key, model=settings.llm_model, run_id=run_id,
                      output=result.work.model_dump(), usage=result.usage)
        return "repaired" if result.usage.get("repaired") else "drafted"

    def _fail(iid: str, reason: str) -> str:
        store.quarantine(run_id=run_id, interaction_id=iid, origin=iid, stage="after_call_work", reason=reason)
        store.set_contact_status(iid, "acw_failed")
        return "failed"

    with ThreadPoolExecutor(max_workers=max(1, settings.llm_concurrency)) as pool:
        for status in pool.map(one, interactions):
            counts[status] += 1
            if on_progress:
                on_progress()
    return counts


_LIMITS: dict[tuple, tuple[BoundedSemaphore, RateLimiter | None]] = {}
_LIMITS_LOCK = Lock()


def _process_limits(settings: Settings) -> tuple[BoundedSemaphore, RateLimiter | None]:
    """The calls-in-flight bound and the rate limiter this process shares across all chunks of a run."""
    key = (settings.llm_base_url, settings.llm_model, settings.llm_concurrency, settings.llm_rpm, settings.llm_tpm)
    with _LIMITS_LOCK:
        if key not in _LIMITS:
            _LIMITS[key] = (BoundedSemaphore(max(1, settings.llm_concurrency)), RateLimiter.from_settings(settings))
        return _LIMITS[key]


def chunk_size(settings: Settings) -> int:
    """Contacts per chunk: `settings.chunk_size`; in Batch API mode one batch file's worth (a batch per chunk)."""
    if settings.llm_mode == "batch":
        from cx_worker.batch_api import MAX_REQUESTS

        return MAX_REQUESTS
    return settings.chunk_size


@dataclass
class DraftedChunk:
    """A chunk back from `draft_chunk`: the redacted contacts, the draft counts, and where it ran (host:pid)."""

    redacted: list[Interaction]
    counts: Counter
    worker: str
    documents: list[str] = field(default_factory=list)  # each contact's document (`exemplars.document`)
    vectors: list = field(default_factory=list)  # each contact's document embedding (outcome classifier)
    issue_vectors: list = field(default_factory=list)  # each contact's issue-text embedding (repeat links)
    seconds: Counter = field(default_factory=Counter)  # time spent redacting, embedding, drafting


def draft_chunk(
    chunk: list[Interaction], *, settings: Settings, run_id: str, base_url: str | None,
    dispositions: tuple[Disposition, ...],
) -> DraftedChunk:
    """Redact, embed and draft one chunk of contacts with its own store connection and LLM client, so that it can
    run in any thread or process (a Dask worker) that sees the data dir. The embeddings the outcome classifier and
    the repeat links need are computed here too: they are the costly part of classifying, and spread with the
    chunks; the Chroma queries and writes stay with the flow.
    """
    from cx_worker.embeddings import shared_embedding
    from cx_worker.exemplars import document
    from cx_worker.repeats import issue_text

    seconds: Counter = Counter()
    clock = time.perf_counter()

    def lap(stage: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        seconds[stage] += now - clock
        clock = now

    store = Store(settings.store_path)
    try:
        redacted = redact(chunk, store=store, run_id=run_id, enabled=settings.redact,
                          max_tokens=settings.max_transcript_tokens)
        lap("redact")
        embed = shared_embedding()
        documents = [document(i) for i in redacted]
        vectors = embed(documents)
        issue_vectors = embed([issue_text(i) for i in redacted])
        lap("embed")
        llm = build_llm(settings, base_url=base_url) if base_url else None
        if settings.llm_mode == "batch":
            from cx_worker.batch_api import draft_batch, openai_client

            counts = draft_batch(redacted, client=openai_client(settings, base_url), settings=settings,
                                 dispositions=dispositions, store=store, run_id=run_id, llm=llm)
        else:
            counts = draft(redacted, llm=llm, settings=settings, dispositions=dispositions, store=store,
                           run_id=run_id)
        lap("draft")
    finally:
        store.close()
    return DraftedChunk(redacted=redacted, counts=counts, worker=f"{socket.gethostname()}:{os.getpid()}",
                        documents=documents, vectors=vectors, issue_vectors=issue_vectors, seconds=seconds)


def run_interactions(store: Store, run_id: str, *, page: int = 500) -> Iterator[Interaction]:
    """The run's (redacted) contacts back from the store, `page` rows at a time."""
    for rows in store.run_pages(run_id, select="SELECT c.interaction_id, c.redacted FROM contacts c", page=page):
        for row in rows:
            yield Interaction.model_validate_json(row["redacted"])


def outcomes(
    interactions: list[Interaction], *, collection, store: Store, run_id: str, k: int, model=None, contacts=None,
    settings: Settings | None = None, embeddings=None, issue_embeddings=None, documents: list[str] | None = None,
) -> Counter:
    """Classify every contact's outcome (no LLM involved), link repeat contacts, flag low confidence, store it.

    `model` is the fitted fusion model (None: plain kNN vote); `contacts` the past-contacts collection for repeat
    detection (None: no repeat linking); `settings` gives review_confidence, repeat_days, repeat_similarity;
    `documents`, `embeddings` and `issue_embeddings` are the contacts' documents and vectors if already computed
    (`draft_chunk`).
    """
    review = settings.review_confidence if settings else 0.0
    found = classify(interactions, collection=collection, k=k, model=model, review_confidence=review,
                     embeddings=embeddings, documents=documents)
    if contacts is not None:
        link_repeats(interactions, found, contacts=contacts, store=store, run_id=run_id,
                     days=settings.repeat_days if settings else 7,
                     min_similarity=settings.repeat_similarity if settings else 0.6, embeddings=issue_embeddings)
    counts: Counter = Counter()
    for interaction, outcome in zip(interactions, found, strict=True):
        store.put_outcome(interaction.id, run_id=run_id, outcome=outcome.model_dump())
        if outcome.signals.get("needs_review"):
            store.flag_for_review(interaction.id, run_id=run_id, label=outcome.label,
                                  confidence=outcome.confidence,
                                  reason=f"confidence {outcome.confidence:.2f} below {review:.2f}")
        counts[outcome.label] += 1
    return counts


def write_back(
    interactions: Iterable[Interaction], *, store: Store, crm: SqliteCrm, run_id: str, settings: Settings,
    dispositions: tuple[Disposition, ...], hold: bool, page: int = 500,
) -> Counter:
    """One CRM note per contact with valid after-call work, delivered by the CRM's sink; all held when the run's
    evals breached. Notes that failed to deliver on an earlier run are retried. `interactions` is consumed `page` at
    a time (pass `run_interactions(...)` to stream a night of any size). Returns counts per delivery state.
    """
    key = prompt_hash(dispositions, questions=load_questions(settings.questions))
    counts: Counter = Counter()
    batch: list[Interaction] = []
    for interaction in interactions:
        batch.append(interaction)
        if len(batch) >= page:
            _write_page(batch, key=key, store=store, crm=crm, run_id=run_id, settings=settings, hold=hold,
                        counts=counts)
            batch = []
    _write_page(batch, key=key, store=store, crm=crm, run_id=run_id, settings=settings, hold=hold, counts=counts)
    return counts


def _write_page(
    interactions: list[Interaction], *, key: str, store: Store, crm: SqliteCrm, run_id: str, settings: Settings,
    hold: bool, counts: Counter,
) -> None:
    for interaction in interactions:
        acw = store.acw(interaction.id, prompt_hash=key, model=settings.llm_model)
        if acw is None:
            continue
        outcome = store.outcome(interaction.id)
        payload = {
            "interaction_id": interaction.id, "run_id": run_id, "channel": interaction.channel,
            "queue": interaction.queue, "customer_id": interaction.customer_id, "model": settings.llm_model,
            "prompt_hash": key, "work": acw["output"], "metadata": interaction.metadata,
            "outcome": {k: outcome[k] for k in ("label", "confidence", "evidence", "signals")} if outcome else
            {"label": "unresolved", "confidence": 0.0, "evidence": [], "signals": {}},
        }
        payload["handoff"] = handoff_brief(payload["work"], payload["outcome"])
        status = crm.write(json.loads(json.dumps(payload, default=str)), hold=hold)
        if status != "pending":
            counts[status] += 1
    counts.update(crm.deliver_pending())
    for interaction in interactions:
        if (c := store.contact(interaction.id)) and c["status"] == "pending":
            store.set_contact_status(interaction.id, "done")


def judge(run_id: str, *, settings: Settings, store: Store, crm: SqliteCrm, llm=None, outcome_report=None):
    """Judge a stored run with the governance suite and write its reports; returns (report, paths).

    `llm` (optional) is the faithfulness judge's model; without one, that metric is reported as not measured.
    """
    from cx_worker.governance import evaluate, load_references, load_suite
    from cx_worker.judge import make_judge
    from cx_worker.report import write_report

    suite = load_suite(settings.thresholds)
    references = load_references(labels=settings.labelled, summaries=settings.reference_summaries,
                                 dispositions=settings.disposition_map)
    context = {"crm_language": settings.crm_language}
    if llm is not None and suite.needs_judge():
        context["judge"] = make_judge(llm, method=settings.llm_structured_output)
    report = evaluate(run_id, store=store, suite=suite, references=references, context=context)
    extra = {"releases": crm.releases(run_id)}
    if outcome_report is not None:
        extra["outcome_report"] = outcome_report
    paths = write_report(report, settings.reports_dir / run_id, store=store, extra=extra)
    return report, paths


@contextmanager
def llm_endpoint(settings: Settings, *, needed: bool = True) -> Iterator[str | None]:
    """The configured endpoint, or the embedded llama.cpp server started for the duration of the block."""
    if settings.llm_base_url or not needed:
        yield settings.llm_base_url
        return
    from cx_worker.llm_server import EmbeddedServer

    with EmbeddedServer(settings) as server:
        yield server.base_url
