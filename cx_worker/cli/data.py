"""Data commands: `ingest` exports, list the `quarantine`, write the `schemas`, show the `settings`."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from cx_worker.cli import EXIT_BREACH, EXIT_PASS
from cx_worker.cli.settings_options import describe_settings, settings_options
from cx_worker.ingest.convert import ingest as convert
from cx_worker.models import write_schemas
from cx_worker.settings import Settings
from cx_worker.store import Store


@click.command(epilog="Exit 0: all read; 1: some files or records could not be read (each named on stderr with "
               "why; the rest is written); 2: could not run.")
@click.argument("paths", nargs=-1, required=True, metavar="PATH...")
@click.option("--output", type=click.Path(path_type=Path), required=True, help="Canonical Interaction JSONL to write.")
@click.option("--metadata-output", type=click.Path(path_type=Path), default=None,
              help="Records with metadata but no transcript (Genesys details); default OUTPUT.metadata.jsonl.")
@settings_options
def ingest(paths: tuple[str, ...], output: Path, metadata_output: Path | None) -> int:
    """Convert contact-centre exports (files, folders, fsspec URLs, SQL tables) into canonical interactions."""
    side = metadata_output or output.with_name(output.name.removesuffix(".jsonl") + ".metadata.jsonl")
    report = convert(list(paths), output=output, metadata_output=side)
    for problem in report.problems:
        print(f"cx-worker ingest: {problem}", file=sys.stderr)
    print(f"wrote {report.written} interactions to {output}"
          + (f"; {report.metadata_only} metadata-only records (no transcript) to {side}"
             if report.metadata_only else "")
          + (f"; {len(report.problems)} files or records could not be read" if report.problems else ""),
          file=sys.stderr)
    return EXIT_BREACH if report.problems else EXIT_PASS


@click.command()
@click.argument("action", type=click.Choice(["list"]))
@click.option("--run", "run_id", default=None, help="Only this run's records.")
@click.option("--json", "as_json", is_flag=True, help="One JSON array.")
@settings_options
def quarantine(action: str, run_id: str | None, as_json: bool) -> int:
    """Records set aside, at which stage and why."""
    rows = Store(Settings().store_target).quarantined(run_id=run_id)
    if as_json:
        print(json.dumps([r.model_dump() for r in rows]))
        return EXIT_PASS
    for r in rows:
        print(f"{r.created_at}  run {r.run_id}  {r.origin}  [{r.stage}] {r.reason}")
    return EXIT_PASS


@click.command()
@click.option("--folder", type=click.Path(path_type=Path), default=Path("schemas"), show_default=True)
def schemas(folder: Path) -> int:
    """Write the JSON Schemas of the domain models (interaction, after-call work, outcome, exemplar)."""
    for path in write_schemas(folder):
        print(path)
    return EXIT_PASS


@click.command(name="settings")
@settings_options
def settings_command() -> int:
    """Every setting: its environment variable, current value (secrets: set or unset) and what it does."""
    for env, value, description in describe_settings(Settings()):
        print(f"{env} = {value}\n    {description}")
    return EXIT_PASS


settings = settings_command
