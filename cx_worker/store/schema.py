"""The tables, and the versioned migrations that bring any database to them.

Two databases by default, as SQLite files in the data dir: the run store (`store.sqlite`: runs, contacts, after-call
work, outcomes, evals, quarantine, watermark, corrections, review, LLM batches) and the CRM ledger (`crm.sqlite`:
notes, releases). With `CX_STORE_URL` pointing at a server (PostgreSQL), both sets of tables live in that one
database. Uniqueness is in the keys (a re-run upserts, never duplicates), not in file locks.

Every column type means the same on both: times are ISO 8601 strings in UTC, JSON is text the store encodes and
decodes, flags are integers, `seq` is a 64-bit integer (nanoseconds).

Migrations are a plain ordered list: each step a function that moves a database from version N-1 to N inside one
transaction, the version kept in `schema_version` (`engine.migrate`; on PostgreSQL under a transaction-level
advisory lock, so two processes opening a new database at once apply each step once). A database written before
versions existed (an earlier cx-worker) is version 0: step 1 adds what it lacks and keeps every row.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Float,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    TypeDecorator,
    UniqueConstraint,
    inspect,
    text,
)
from sqlalchemy import Text as _Text


class Text(TypeDecorator):
    """TEXT that both databases can hold: PostgreSQL refuses the NUL character SQLite keeps, so a NUL that reached a
    value (an exception message, a reviewer's form) is written there as U+FFFD, keys and the values they are
    compared with alike, instead of failing the write."""

    impl = _Text
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if dialect.name == "postgresql" and isinstance(value, str) and "\x00" in value:
            return value.replace("\x00", "\ufffd")
        return value


RUN_STORE = MetaData()
LEDGER = MetaData()

runs = Table(
    "runs", RUN_STORE,
    Column("run_id", Text, primary_key=True), Column("started_at", Text, nullable=False),
    Column("finished_at", Text), Column("status", Text, nullable=False), Column("config", Text),
    Column("summary", Text),
    Column("seq", BigInteger),  # start order (nanoseconds since the epoch; older rows: their rowid)
)
contacts = Table(
    "contacts", RUN_STORE,
    Column("interaction_id", Text, primary_key=True), Column("run_id", Text, nullable=False),
    Column("input_hash", Text, nullable=False), Column("redacted", Text, nullable=False),
    Column("pii_counts", Text, nullable=False), Column("status", Text, nullable=False),
    Column("updated_at", Text, nullable=False),
    Index("contacts_by_run", "run_id", "interaction_id"),
)
after_call_work = Table(
    "after_call_work", RUN_STORE,
    Column("interaction_id", Text, nullable=False), Column("prompt_hash", Text, nullable=False),
    Column("model", Text, nullable=False), Column("run_id", Text, nullable=False),
    Column("output", Text, nullable=False),
    Column("prompt_tokens", Integer), Column("completion_tokens", Integer), Column("seconds", Float),
    Column("created_at", Text, nullable=False),
    Column("seq", BigInteger),  # write order, as `runs.seq`: the latest work of a contact is its highest seq
    PrimaryKeyConstraint("interaction_id", "prompt_hash", "model"),
    Index("work_by_run", "run_id"),
)
outcomes = Table(
    "outcomes", RUN_STORE,
    Column("interaction_id", Text, primary_key=True), Column("run_id", Text, nullable=False),
    Column("label", Text, nullable=False), Column("confidence", Float, nullable=False),
    Column("evidence", Text, nullable=False), Column("signals", Text, nullable=False),
    Column("created_at", Text, nullable=False),
    Index("outcomes_by_run", "run_id"),
)
quarantine = Table(
    "quarantine", RUN_STORE,
    Column("id", Integer, primary_key=True, autoincrement=True), Column("run_id", Text),
    Column("interaction_id", Text), Column("origin", Text, nullable=False), Column("stage", Text, nullable=False),
    Column("reason", Text, nullable=False), Column("created_at", Text, nullable=False),
    UniqueConstraint("origin", "stage", "reason"),
    sqlite_autoincrement=True,
)
eval_results = Table(
    "eval_results", RUN_STORE,
    Column("run_id", Text, nullable=False), Column("metric", Text, nullable=False), Column("score", Float),
    Column("threshold", Float), Column("success", Integer, nullable=False), Column("measured", Integer, nullable=False),
    Column("reason", Text, nullable=False), Column("details", Text, nullable=False),
    Column("created_at", Text, nullable=False),
    PrimaryKeyConstraint("run_id", "metric"),
)
watermark = Table(
    "watermark", RUN_STORE,
    Column("origin", Text, primary_key=True), Column("offset", BigInteger, nullable=False),
    Column("updated_at", Text, nullable=False),
)
outcome_corrections = Table(
    "outcome_corrections", RUN_STORE,
    Column("id", Integer, primary_key=True, autoincrement=True), Column("interaction_id", Text, nullable=False),
    Column("old_label", Text), Column("new_label", Text, nullable=False), Column("corrected_by", Text, nullable=False),
    Column("reason", Text, nullable=False), Column("created_at", Text, nullable=False),
    sqlite_autoincrement=True,
)
llm_batches = Table(
    "llm_batches", RUN_STORE,
    Column("batch_id", Text, primary_key=True), Column("run_id", Text, nullable=False),
    Column("prompt_hash", Text, nullable=False), Column("model", Text, nullable=False),
    Column("custom_ids", Text, nullable=False), Column("status", Text, nullable=False),
    Column("created_at", Text, nullable=False), Column("updated_at", Text, nullable=False),
)
outcome_review = Table(
    "outcome_review", RUN_STORE,
    Column("interaction_id", Text, primary_key=True), Column("run_id", Text, nullable=False),
    Column("label", Text, nullable=False), Column("confidence", Float, nullable=False),
    Column("reason", Text, nullable=False), Column("status", Text, nullable=False),
    Column("created_at", Text, nullable=False), Column("closed_at", Text), Column("closed_by", Text),
)
review_decisions = Table(
    "review_decisions", RUN_STORE,
    Column("id", Integer, primary_key=True, autoincrement=True), Column("interaction_id", Text, nullable=False),
    Column("decision", Text, nullable=False), Column("decided_by", Text, nullable=False),
    Column("reason", Text, nullable=False), Column("detail", Text, nullable=False), Column("at", Text, nullable=False),
    sqlite_autoincrement=True,
)

retries = Table(
    "retries", RUN_STORE,
    Column("interaction_id", Text, primary_key=True), Column("run_id", Text, nullable=False),
    Column("attempts", Integer, nullable=False), Column("due_at", Text, nullable=False),
    Column("reason", Text, nullable=False), Column("status", Text, nullable=False),  # waiting | given_up | done
    Column("updated_at", Text, nullable=False),
    Index("retries_due", "status", "due_at"),
)

# The nightly audit: a random sample of each night's contacts for people to judge (never chosen by confidence),
# each with its inclusion probability; the night's stratum sizes (contacts per predicted outcome, per segment),
# which the estimates weight back with; the people's verdicts; and the automated judges' calls on the same contacts.
audit_nights = Table(
    "audit_nights", RUN_STORE,
    Column("run_id", Text, primary_key=True), Column("drawn_at", Text, nullable=False),
    Column("stratum_sizes", Text, nullable=False), Column("segment_sizes", Text, nullable=False),
    Column("sample_size", Integer, nullable=False),
)
audit_sample = Table(
    "audit_sample", RUN_STORE,
    Column("run_id", Text, nullable=False), Column("interaction_id", Text, nullable=False),
    Column("stratum", Text, nullable=False), Column("inclusion_probability", Float, nullable=False),
    Column("segment", Text), Column("drawn_at", Text, nullable=False),
    PrimaryKeyConstraint("run_id", "interaction_id"),
    Index("audit_sample_by_contact", "interaction_id"),
)
audit_verdicts = Table(
    "audit_verdicts", RUN_STORE,
    Column("run_id", Text, nullable=False), Column("interaction_id", Text, nullable=False),
    Column("true_outcome", Text, nullable=False), Column("summary_ok", Integer, nullable=False),
    Column("errors", Text, nullable=False), Column("disposition", Text), Column("decided_by", Text, nullable=False),
    Column("reason", Text, nullable=False), Column("at", Text, nullable=False),
    PrimaryKeyConstraint("run_id", "interaction_id"),
)
judgements = Table(
    "judgements", RUN_STORE,
    Column("run_id", Text, nullable=False), Column("interaction_id", Text, nullable=False),
    Column("judge", Text, nullable=False), Column("flagged", Integer, nullable=False), Column("why", Text),
    PrimaryKeyConstraint("run_id", "interaction_id", "judge"),
)

notes = Table(
    "notes", LEDGER,
    Column("note_key", Text, primary_key=True), Column("interaction_id", Text, nullable=False),
    Column("run_id", Text, nullable=False), Column("status", Text, nullable=False),
    Column("body", Text, nullable=False),
    Column("payload", Text, nullable=False), Column("created_at", Text, nullable=False), Column("delivered_at", Text),
    Column("attempts", Integer, nullable=False, server_default=text("0")), Column("last_error", Text),
    Column("sink", Text), Column("revision", Integer, nullable=False, server_default=text("0")),
    Index("notes_by_interaction", "interaction_id", "created_at"),
)
releases = Table(
    "releases", LEDGER,
    Column("run_id", Text, nullable=False), Column("released_by", Text, nullable=False),
    Column("reason", Text, nullable=False), Column("notes", Integer, nullable=False),
    Column("at", Text, nullable=False),
)


def _bring_up_to_date(conn: Connection, metadata: MetaData) -> None:
    """Create the missing tables and indexes; add the columns an older database lacks (nullable, or with their
    default), backfilling `seq` from SQLite's rowid so old rows keep their order before new ones."""
    metadata.create_all(conn, checkfirst=True)
    inspector = inspect(conn)
    for table in metadata.sorted_tables:
        have = {c["name"] for c in inspector.get_columns(table.name)}
        for column in table.columns:
            if column.name in have:
                continue
            ddl = column.type.compile(dialect=conn.dialect)
            default = f" DEFAULT {column.server_default.arg.text}" if column.server_default is not None else ""
            null = " NOT NULL" if not column.nullable and default else ""
            conn.execute(text(f'ALTER TABLE {table.name} ADD COLUMN "{column.name}" {ddl}{default}{null}'))
            if column.name == "seq" and conn.dialect.name == "sqlite":
                conn.execute(text(f"UPDATE {table.name} SET seq = rowid"))


# (version, what it does, step): applied in order to databases below that version.
RUN_STORE_MIGRATIONS: list[tuple[int, str, Callable[[Connection], None]]] = [
    (1, "tables of cx-worker 0.1 (earlier databases gain review_decisions and the seq columns)",
     lambda conn: _bring_up_to_date(conn, RUN_STORE)),
    (2, "retries: contacts whose LLM call failed, drafted again on later nights",
     lambda conn: _bring_up_to_date(conn, RUN_STORE)),
    (3, "the nightly audit: samples, verdicts, the automated judges' calls on audited contacts",
     lambda conn: _bring_up_to_date(conn, RUN_STORE)),
]
LEDGER_MIGRATIONS: list[tuple[int, str, Callable[[Connection], None]]] = [
    (1, "notes and releases (earlier ledgers gain attempts, last_error, sink, revision)",
     lambda conn: _bring_up_to_date(conn, LEDGER)),
]
