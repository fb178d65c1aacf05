"""Data commands: `ingest` exports, list the `quarantine`, write the `schemas`, show the `settings`."""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from pathlib import Path

import click

from cx_worker.cli import EXIT_BREACH, EXIT_ERROR, EXIT_PASS, say
from cx_worker.cli.settings_options import describe_settings, settings_options
from cx_worker.ingest.convert import ingest as convert
from cx_worker.ingest.source import ReadOptions
from cx_worker.models import write_schemas
from cx_worker.settings import Settings
from cx_worker.store import Store


@click.command(epilog="Exit 0: all read; 1: some files or records could not be read (each named on stderr with "
               "why; the rest is written); 2: could not run.")
@click.argument("paths", nargs=-1, required=True, metavar="PATH...")
@click.option("--output", type=click.Path(path_type=Path), required=True, help="Canonical Interaction JSONL to write.")
@click.option("--metadata-output", type=click.Path(path_type=Path), default=None,
              help="Records with metadata but no transcript (Genesys details); default OUTPUT.metadata.jsonl.")
@click.option("--encoding", default=None, metavar="CODEC",
              help="The exports' text encoding (cp1252, latin-1, ...); default CX_SOURCE_ENCODING, auto: UTF-8, or "
                   "the legacy encoding a file that is not UTF-8 is most likely in.")
@settings_options
def ingest(paths: tuple[str, ...], output: Path, metadata_output: Path | None, encoding: str | None) -> int:
    """Convert contact-centre exports (files, folders, fsspec URLs, SQL tables) into canonical interactions."""
    side = metadata_output or output.with_name(output.name.removesuffix(".jsonl") + ".metadata.jsonl")
    options = ReadOptions.of(Settings())
    if encoding:
        options = replace(options, encoding=encoding)
    report = convert(list(paths), output=output, metadata_output=side, options=options)
    for problem in report.problems:
        say(f"cx-worker ingest: {problem}", file=sys.stderr)
    say(f"wrote {report.written} interactions to {output}"
          + (f"; {report.metadata_only} metadata-only records (no transcript) to {side}"
             if report.metadata_only else "")
          + (f"; {len(report.problems)} files or records could not be read" if report.problems else ""),
          file=sys.stderr)
    return EXIT_BREACH if report.problems else EXIT_PASS


@click.group()
def quarantine() -> None:
    """Records set aside, with their reasons; contacts waiting for another try of their LLM call."""


@quarantine.command(name="list")
@click.option("--run", "run_id", default=None, help="Only this run's records.")
@click.option("--json", "as_json", is_flag=True, help="One JSON array.")
@settings_options
def list_quarantine(run_id: str | None, as_json: bool) -> int:
    """Every record set aside: when, which run, what, at which stage, and why."""
    store = Store(Settings().store_target)
    rows = store.quarantined(run_id=run_id)
    if as_json:
        say(json.dumps([r.model_dump() for r in rows]))
        return EXIT_PASS
    for r in rows:
        say(f"{r.created_at}  run {r.run_id}  {r.origin}  [{r.stage}] {r.reason}")
    waiting = store.retries(status="waiting")
    say(f"{len(rows)} records set aside" + (f" in run {run_id}" if run_id else "")
          + (f"; {len(waiting)} contacts waiting for another try (next due {waiting[0].due_at})" if waiting else "")
          if rows or waiting else "nothing quarantined" + (f" in run {run_id}" if run_id else ""), file=sys.stderr)
    return EXIT_PASS


@quarantine.command(name="retry")
@click.argument("interaction_id", metavar="[ID]", required=False)
@click.option("--all", "every", is_flag=True, help="Every contact whose after-call work failed or waits for a retry.")
@settings_options
def retry_quarantine(interaction_id: str | None, every: bool) -> int:
    """Queue contacts whose LLM call failed for the next run, with a fresh budget of tries."""
    if bool(interaction_id) == every:
        raise click.UsageError("give one ID, or --all")
    store = Store(Settings().store_target)
    failed = set(store.contact_ids(status="acw_failed")) | set(store.contact_ids(status="awaiting_retry"))
    if interaction_id and interaction_id not in failed:
        contact = store.contact(interaction_id)
        say(f"cx-worker quarantine retry: {interaction_id}: "
              + ("not in the store" if contact is None else f"nothing to retry (its status is {contact.status})"),
              file=sys.stderr)
        return EXIT_ERROR
    ids = sorted(failed) if every else [interaction_id]
    queued = store.requeue(ids, reason="queued by ops (cx-worker quarantine retry)")
    say(f"{queued} contacts queued: the next run (cx-worker nightly) drafts them again")
    return EXIT_PASS


@click.command()
@click.option("--folder", type=click.Path(path_type=Path), default=Path("schemas"), show_default=True)
def schemas(folder: Path) -> int:
    """Write the JSON Schemas of the domain models (interaction, after-call work, outcome, exemplar)."""
    for path in write_schemas(folder):
        say(path)
    return EXIT_PASS


@click.command(name="settings")
@settings_options
def settings_command() -> int:
    """Every setting: its environment variable, current value (secrets: set or unset) and what it does."""
    for env, value, description in describe_settings(Settings()):
        say(f"{env} = {value}\n    {description}")
    return EXIT_PASS


settings = settings_command
