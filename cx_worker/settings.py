"""Settings: one class, read from `CX_*` environment variables, each also a CLI option.

Built once at the entry point and passed down; nothing reads it at import time.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from cx_worker.bundled import bundled_path


class Settings(BaseSettings):
    """Everything a run can be configured with."""

    model_config = SettingsConfigDict(env_prefix="CX_", extra="ignore")

    llm_base_url: str | None = Field(
        default=None,
        description="OpenAI-compatible endpoint, e.g. https://api.openai.com/v1. Unset: the embedded llama.cpp server "
        "is started for the run and stopped after it.",
    )
    llm_api_key: SecretStr = Field(
        default=SecretStr("not-needed"), description="API key for the endpoint. Never logged."
    )
    llm_model: str = Field(default="qwen2.5-coder-1.5b-instruct", description="Model name sent to the endpoint.")
    llm_structured_output: Literal["function_calling", "json_schema", "json_mode"] = Field(
        default="function_calling",
        description="How structured output is asked for. llama.cpp's server rejects json_schema; use function_calling.",
    )
    llm_timeout: float = Field(default=180.0, description="Seconds before one LLM request times out.")
    llm_max_retries: int = Field(default=2, description="SDK retries on 429/5xx and timeouts, per call.")
    llm_max_tokens: int = Field(default=700, description="Output token cap per after-call-work call.")
    llm_concurrency: int = Field(default=1, description="LLM calls in flight at once.")
    llm_rpm: int | None = Field(
        default=None, description="Requests per minute to the LLM endpoint, across all concurrent calls of a run "
        "(at most this many in any 60 s). Unset: no limit.",
    )
    llm_tpm: int | None = Field(
        default=None, description="Tokens per minute to the LLM endpoint (prompt and tool-schema estimate + max "
        "tokens per request, as providers count them), across all concurrent calls of a run. Unset: no limit.",
    )
    llm_threads: int = Field(default=2, description="CPU threads of the embedded llama.cpp server.")
    llm_context: int = Field(default=4096, description="Context window of the embedded llama.cpp server (tokens).")
    llm_draft_tokens: int = Field(
        default=0, ge=0, le=32, description="Speculative decoding by prompt lookup on the embedded server: up to this "
        "many tokens a step copied from the prompt (the transcript a summary quotes) and checked by the model in one "
        "pass. Greedy outputs are the same. 0: off.")
    llm_mode: Literal["sync", "batch"] = Field(
        default="sync", description="How after-call work is requested. sync: one call per contact as the run goes. "
        "batch: the OpenAI Batch API, half the price, results within the 24 h completion window; needs an endpoint "
        "that implements /v1/files and /v1/batches (OpenAI does; the embedded llama.cpp server does not).",
    )
    batch_poll_seconds: float = Field(
        default=30.0, gt=0, description="Seconds between two status checks of a submitted batch (llm_mode=batch).")
    batch_max_wait: float = Field(
        default=86400.0, gt=0, description="Seconds a run waits for its batches (llm_mode=batch); then the unfinished "
        "ones are cancelled and their contacts quarantined.",
    )

    source: Path | str = Field(
        default=bundled_path("contacts"),
        description="Where contacts come from: a folder (or fsspec URL, e.g. s3://bucket/contacts/) of canonical "
        "Interaction JSONL files and vendor exports, or a SQL table of turns (sqlite:///x.db#table).",
    )
    data_dir: Path = Field(default=Path(".cx"), description="Store, Chroma, reports, models live here.")
    store_url: str | None = Field(
        default=None, description="Database of the run store and the CRM ledger, e.g. postgresql://cx@db/cx (the "
        "password is never logged). Unset: SQLite files in the data dir (store.sqlite, crm.sqlite).")
    chroma_url: str | None = Field(
        default=None, description="A Chroma server (`chroma run`) for the exemplars and past contacts, e.g. "
        "http://chroma:8000 (https:// for TLS). Unset: the embedded Chroma files in the data dir (chroma/).")
    dispositions: Path = Field(
        default=bundled_path("config", "dispositions.yaml"), description="Disposition taxonomy (ops-owned)."
    )
    thresholds: Path = Field(
        default=bundled_path("suites", "nightly.yaml"),
        description="Governance suite: metrics, thresholds, weights, sample sizes (governance-owned).",
    )
    exemplars: Path = Field(
        default=bundled_path("datasets", "exemplars.jsonl"),
        description="Labelled exemplar contacts that seed the outcome classifier.",
    )
    labelled: Path = Field(
        default=bundled_path("datasets", "labels.jsonl"),
        description="Reference outcome labels (id, label) for the outcome-accuracy metric.",
    )
    reference_summaries: Path = Field(
        default=bundled_path("datasets", "references.jsonl"),
        description="Human reference summaries (id, summaries) for the ROUGE-L metric.",
    )
    disposition_map: Path = Field(
        default=bundled_path("datasets", "abcd_subflow_dispositions.yaml"),
        description="Reference dispositions of labelled contacts, by queue/subflow prefix.",
    )
    redact: bool = Field(default=True, description="Redact personal data before anything reaches the LLM.")
    crm_sink: Literal["sqlite", "webhook"] = Field(
        default="sqlite", description="Where notes go: the embedded SQLite CRM, or a signed webhook."
    )
    webhook_url: str | None = Field(
        default=None,
        description="Webhook endpoint; may hold {placeholders} from the contact, e.g. {zendesk_ticket_id}.",
    )
    webhook_secret: SecretStr | None = Field(default=None, description="HMAC-SHA256 key signing each webhook body.")
    webhook_template: str = Field(
        default="generic",
        description="Webhook payload: generic | salesforce_task | salesforce_case_comment | zendesk_comment.",
    )
    questions: Path | None = Field(
        default=None,
        description="Ops' custom per-contact questions (YAML, e.g. config/questions.yaml), answered in the same "
        "LLM call. Unset: none.",
    )
    crm_language: str = Field(default="en", description="Language the summary and CRM note are written in.")
    max_transcript_tokens: int = Field(
        default=2800,
        description="Transcript tokens (estimated) sent to the LLM; a longer transcript is cut in the middle, the "
        "reason recorded. Default fits the 4096-token embedded model with the prompt and the 700-token answer.",
    )
    knn_k: int = Field(default=7, description="Neighbours in the outcome classifier's vote.")
    review_confidence: float = Field(default=0.5, description="Outcomes below this confidence go to review.")
    repeat_days: int = Field(
        default=7, description="A contact from the same customer about a similar issue within this many days is a "
        "repeat: the earlier contact's outcome becomes unresolved.")
    repeat_similarity: float = Field(
        default=0.6, description="Cosine similarity of two contacts' issue texts (the customer's opening turns) "
        "above which they are about the same issue.")
    limit: int | None = Field(default=12, description="Contacts per nightly run; None reads every new contact.")
    chunk_size: int = Field(
        default=25, ge=1, description="Contacts per Prefect task run of the nightly flow: redaction and after-call "
        "work run chunk by chunk, so memory holds a few chunks, not the night.")
    chunks_in_flight: int = Field(
        default=2, ge=1, description="Chunks submitted to the task runner ahead of the one being finished (with "
        "Dask: set it to at least the number of workers).")
    task_runner: Literal["threads", "dask"] = Field(
        default="threads", description="Where the chunks run: threads of the flow's process, or a Dask cluster "
        "(prefect-dask).")
    dask_address: str | None = Field(
        default=None, description="Scheduler of an existing Dask cluster, e.g. tcp://10.0.0.5:8786. Unset with "
        "task_runner=dask: a LocalCluster of dask_workers processes is started for the run. Workers must reach the "
        "store (the data dir's SQLite files; with store_url, its server: then they need no data dir) and the LLM "
        "endpoint.")
    dask_workers: int = Field(default=2, ge=1, description="Worker processes of the LocalCluster (no dask_address).")
    transcribe_first_speaker: Literal["agent", "customer"] = Field(
        default="agent", description="Amazon Transcribe standard output with speaker diarization: the role of the "
        "first speaker (every other speaker gets the other role). agent for inbound calls that open with the agent's "
        "greeting; customer for outbound or IVR-first recordings.")
    transcribe_agent_channel: str = Field(
        default="ch_0", pattern=r"^ch_\d+$", description="Amazon Transcribe standard output with channel "
        "identification: the agent's channel (the other is the customer). ch_0 follows AWS's Call Analytics "
        "examples; Amazon Connect recordings put the agent on the right channel: set ch_1 for them.")

    source_encoding: str = Field(
        default="auto", description="Text encoding of the source files. auto: UTF-8, and a file or line that is not "
        "UTF-8 in the legacy encoding it most likely is (cp1252 unless another reads clearly better); or a codec "
        "name (cp1252, latin-1, ...). Bytes the encoding cannot read set aside only the records that hold them.")
    retry_max_attempts: int = Field(
        default=3, ge=1, description="Tries of a contact whose LLM call failed (timeout, connection, 429/5xx after "
        "the SDK's retries, an expired batch) before it is given up (quarantined for good; `cx-worker quarantine "
        "retry` queues it again).")
    retry_backoff_hours: float = Field(
        default=12.0, ge=0, description="Wait before the first retry of a failed contact; each later wait doubles "
        "(12 h: the next night, the next, then two nights later).")
    pii_regions: str = Field(
        default="GB,US,FR,DE,ES,IT,NL,IE", pattern=r"^\s*[A-Za-z]{2}(\s*,\s*[A-Za-z]{2})*\s*$",
        description="Regions the contact centre serves (comma-separated ISO 3166 codes, most likely first): "
        "redaction reads phone numbers in their national formats.")

    audit_sample: int = Field(
        default=10, ge=0, description="Contacts a night drawn at random for people to judge (the audit sample: "
        "stratified by predicted outcome, rare labels over-sampled, never chosen by confidence); 0 turns it off.")
    audit_window_days: int = Field(
        default=30, ge=1, description="Days of audit verdicts the trust estimates (corrected rates, precision and "
        "recall, summary error rate, judge agreement) are computed from.")
    audit_min_n: int = Field(
        default=30, ge=1, description="Audits an estimate needs before it is shown as a number (fewer: 'not enough "
        "audits (n of m)').")
    @model_validator(mode="after")
    def _batch_needs_an_endpoint(self) -> Settings:
        if self.llm_mode == "batch" and not self.llm_base_url:
            raise ValueError("llm_mode=batch needs llm_base_url: an endpoint with the Batch API (/v1/files, "
                             "/v1/batches), e.g. https://api.openai.com/v1; the embedded llama.cpp server has none")
        return self

    @field_validator("source", mode="before")
    @classmethod
    def _source_path_or_url(cls, value: object) -> object:
        # A URL (memory://, s3://, sqlite:///...) stays a string: Path would fold its "//".
        return value if isinstance(value, str) and "://" in value else Path(value) if isinstance(value, str) else value

    @property
    def store_path(self) -> Path:
        return self.data_dir / "store.sqlite"

    @property
    def store_target(self) -> Path | str:
        """Where the run store lives: the database server of `store_url`, or `store.sqlite` in the data dir."""
        return self.store_url or self.store_path

    @property
    def ledger_target(self) -> Path | str:
        """Where the CRM ledger lives: the database server of `store_url`, or `crm.sqlite` in the data dir."""
        return self.store_url or self.data_dir / "crm.sqlite"

    @property
    def chroma_path(self) -> Path:
        return self.data_dir / "chroma"

    @property
    def reports_dir(self) -> Path:
        return self.data_dir / "reports"

    @property
    def models_dir(self) -> Path:
        return self.data_dir / "models"
