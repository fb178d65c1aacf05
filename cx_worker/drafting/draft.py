"""Drafting a chunk of contacts: one structured LLM call each (or the Batch API), bounded and rate-limited per
process, every failure quarantined with its reason and never the end of the night.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from threading import BoundedSemaphore, Lock

from cx_worker.drafting.after_call_work import AcwError, Disposition, prompt_hash, write_after_call_work
from cx_worker.drafting.batch_api import MAX_REQUESTS, draft_batch, openai_client
from cx_worker.drafting.failures import record_failure
from cx_worker.drafting.questions import load_questions
from cx_worker.guard.outbound import batch_identifiers
from cx_worker.llm.client import build_llm
from cx_worker.llm.ratelimit import RateLimiter
from cx_worker.models import Interaction
from cx_worker.settings import Settings
from cx_worker.store import Store


def draft_contacts(
    interactions: list[Interaction], *, settings: Settings, dispositions: tuple[Disposition, ...], store: Store,
    run_id: str, base_url: str | None,
) -> Counter:
    """The after-call work of a chunk, as the settings ask: one call per contact (`draft`), or one Batch API job
    (`llm_mode=batch`). Returns counts of drafted, repaired, reused and failed contacts."""
    llm = build_llm(settings, base_url=base_url) if base_url else None
    if settings.llm_mode == "batch":
        return draft_batch(interactions, client=openai_client(settings, base_url), settings=settings,
                           dispositions=dispositions, store=store, run_id=run_id, llm=llm)
    return draft(interactions, llm=llm, settings=settings, dispositions=dispositions, store=store, run_id=run_id)


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
    (after the SDK's retries and one repair re-ask) is quarantined with the reason and, when the call itself failed,
    queued for a retry on a later night (`failures`); the others go on. The calls
    share one `llm_rpm`/`llm_tpm` limiter per process (on a Dask cluster: per worker). Returns counts of drafted,
    repaired (valid after the re-ask), reused, failed.
    """
    questions = load_questions(settings.questions)
    key = prompt_hash(dispositions, questions=questions)
    counts: Counter = Counter()
    slots, limiter = _process_limits(settings)
    _, known = batch_identifiers(interactions)

    def one(interaction: Interaction) -> str:
        if store.acw(interaction.id, prompt_hash=key, model=settings.llm_model) is not None:
            store.retry_done(interaction.id)
            return "reused"
        try:
            with slots:
                result = write_after_call_work(
                    interaction, llm=llm, model=settings.llm_model, dispositions=dispositions,
                    method=settings.llm_structured_output, language=settings.crm_language, limiter=limiter,
                    known_identifiers=known, questions=questions)
        except AcwError as exc:  # the answer could not be used: the same call would fail the same way
            return _fail(interaction.id, str(exc), retryable=False)
        except Exception as exc:  # network, timeout after retries: another night, another try
            return _fail(interaction.id, f"LLM call failed: {type(exc).__name__}: {str(exc)[:300]}", retryable=True)
        try:
            store.put_acw(interaction.id, prompt_hash=key, model=settings.llm_model, run_id=run_id,
                          output=result.work.model_dump(), usage=result.usage)
        except Exception as exc:  # the store refused this one record: set it aside, keep the night going
            return _fail(interaction.id, f"could not store the after-call work: {type(exc).__name__}: "
                                         f"{str(exc)[:300]}", retryable=True)
        store.retry_done(interaction.id)
        return "repaired" if result.usage.get("repaired") else "drafted"

    def _fail(iid: str, reason: str, *, retryable: bool) -> str:
        return record_failure(iid, store=store, run_id=run_id, reason=reason, retryable=retryable,
                              settings=settings)

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
    return MAX_REQUESTS if settings.llm_mode == "batch" else settings.chunk_size
