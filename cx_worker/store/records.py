"""What the store gives back: one model per kind of stored row, decoded (JSON columns parsed, the transcript an
`Interaction`, the after-call work an `AfterCallWork`), never a database row or a plain dict.

Times are ISO 8601 strings in UTC, as they were stored, so the JSON the CLI prints is what it always was.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from cx_worker.models import AfterCallWork, Interaction, NotePayload, Outcome


class RunRecord(BaseModel):
    """A nightly run: when, how it ended, its config and its summary (`cx-worker nightly --json`)."""

    run_id: str
    started_at: str
    finished_at: str | None = None
    status: str
    config: dict[str, Any] = Field(default_factory=dict)
    summary: dict[str, Any] | None = None


class RunUsage(BaseModel):
    """The LLM calls that drafted a run's after-call work: tokens in and out, calls, seconds."""

    prompt: int = 0
    completion: int = 0
    calls: int = 0
    llm_seconds: float = 0.0


class StoredContact(BaseModel):
    """A contact's progress: what the LLM saw (`redacted`), what redaction removed (counts), its status
    (`pending`, `done`, `acw_failed`)."""

    interaction_id: str
    run_id: str
    input_hash: str
    redacted: Interaction
    pii_counts: dict[str, int] = Field(default_factory=dict)
    status: str
    updated_at: str


class StoredWork(BaseModel):
    """A contact's validated after-call work, keyed by prompt hash and model, with what it cost."""

    interaction_id: str
    prompt_hash: str
    model: str
    run_id: str
    output: AfterCallWork
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    seconds: float | None = None
    created_at: str


class StoredOutcome(Outcome):
    """A contact's outcome as the store keeps it (the run that decided it, when)."""

    interaction_id: str
    run_id: str
    created_at: str


class EvalRow(BaseModel):
    """One contact of a run as the governance metrics read it: transcript, status, outcome, latest work."""

    interaction_id: str
    redacted: Interaction
    status: str
    outcome: str | None = None
    work: dict[str, Any] | None = None


class QuarantineRecord(BaseModel):
    """A record, contact or call set aside, at which stage and why."""

    id: int
    run_id: str | None = None
    interaction_id: str | None = None
    origin: str
    stage: str
    reason: str
    created_at: str


class RetryRecord(BaseModel):
    """A contact whose LLM call failed, waiting to be drafted again (or given up on), with why and when next."""

    interaction_id: str
    run_id: str
    attempts: int
    due_at: str
    reason: str
    status: str  # waiting | given_up | done
    updated_at: str


class Verdict(BaseModel):
    """A person's judgement of an audited contact: the true outcome, whether the summary is faithful (and if not,
    which errors), the right disposition."""

    true_outcome: str
    summary_ok: bool
    errors: list[str] = Field(default_factory=list)
    disposition: str | None = None
    decided_by: str
    reason: str = ""
    at: str


class AuditItem(BaseModel):
    """A contact drawn into a night's audit sample, and the people's verdict on it once recorded."""

    run_id: str
    interaction_id: str
    stratum: str  # the predicted outcome it was drawn from
    inclusion_probability: float
    segment: str | None = None
    drawn_at: str
    verdict: Verdict | None = None
    judges: dict[str, bool] = Field(default_factory=dict)  # automated judge -> flagged this contact


class AuditNight(BaseModel):
    """A night's audit design: its contacts per predicted outcome (overall and per segment), and the sample size."""

    run_id: str
    drawn_at: str
    stratum_sizes: dict[str, int]
    segment_sizes: dict[str, dict[str, int]] = Field(default_factory=dict)
    sample_size: int


class EvalRecord(BaseModel):
    """One governance metric's result for a run."""

    run_id: str
    metric: str
    score: float | None = None
    threshold: float | None = None
    success: bool
    measured: bool
    reason: str
    details: dict[str, Any] = Field(default_factory=dict)
    created_at: str


class Correction(BaseModel):
    """A person's correction of an outcome label (audited)."""

    id: int
    interaction_id: str
    old_label: str | None = None
    new_label: str
    corrected_by: str
    reason: str
    created_at: str


class ReviewFlag(BaseModel):
    """An outcome on the low-confidence review list."""

    interaction_id: str
    run_id: str
    label: str
    confidence: float
    reason: str
    status: str
    created_at: str
    closed_at: str | None = None
    closed_by: str | None = None


class ReviewDecision(BaseModel):
    """A reviewer's decision on a contact (approve, edit, relabel), audited."""

    id: int
    interaction_id: str
    decision: str
    decided_by: str
    reason: str
    detail: dict[str, Any] = Field(default_factory=dict)
    at: str


class LlmBatch(BaseModel):
    """A Batch API job submitted for a run's after-call work (`llm_mode=batch`)."""

    batch_id: str
    run_id: str
    prompt_hash: str
    model: str
    custom_ids: dict[str, str] = Field(default_factory=dict)
    status: str
    created_at: str
    updated_at: str


class Note(BaseModel):
    """A CRM note in the ledger: its key, delivery state, the text agents read and what it was rendered from."""

    note_key: str
    interaction_id: str
    run_id: str
    status: str
    body: str
    payload: NotePayload
    created_at: str
    delivered_at: str | None = None
    attempts: int = 0
    last_error: str | None = None
    sink: str | None = None
    revision: int = 0


class Release(BaseModel):
    """A reviewer releasing a held run's notes to agents (audited)."""

    run_id: str
    released_by: str
    reason: str
    notes: int
    at: str
