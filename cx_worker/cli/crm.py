"""`cx-worker crm show|list` (what agents see) and `cx-worker release` (a held run's notes, after review)."""

from __future__ import annotations

import json
import sys

import click

from cx_worker.cli import EXIT_BREACH, EXIT_ERROR, EXIT_PASS, say
from cx_worker.cli.settings_options import settings_options
from cx_worker.delivery.crm import open_crm
from cx_worker.settings import Settings
from cx_worker.store import Note, Store


@click.group()
def crm() -> None:
    """What agents see in the CRM."""


@crm.command()
@click.argument("interaction_id", metavar="ID")
@click.option("--json", "as_json", is_flag=True,
              help="One JSON object: interaction_id, status (held notes too), summary, note, outcome.")
@settings_options
def show(interaction_id: str, as_json: bool) -> int:
    """The note an agent sees for a contact. Exit 1 when none is visible (e.g. held for governance)."""
    ledger = open_crm(Settings())
    if as_json:
        notes = ledger.notes(interaction_id)
        if not notes:
            say(f"no note for {interaction_id}", file=sys.stderr)
            return EXIT_BREACH
        note = ledger.visible(interaction_id) or notes[-1]
        say(json.dumps(_as_json(note)))
        return EXIT_PASS if note.status == "delivered" else EXIT_BREACH
    note = ledger.visible(interaction_id)
    if note is None:
        held = ledger.notes(interaction_id, status="held")
        say(f"no note visible to agents for {interaction_id}" + (" (a note is held pending governance release)"
                                                                   if held else ""), file=sys.stderr)
        return EXIT_BREACH
    say(note.body, end="")
    return EXIT_PASS


def _as_json(note: Note) -> dict:
    payload = note.payload
    return {"interaction_id": note.interaction_id, "status": note.status, "held": note.status == "held",
            "run_id": note.run_id, "summary": payload.work.summary, "note": note.body,
            "outcome": {"label": payload.outcome.label, "confidence": payload.outcome.confidence},
            "disposition": payload.work.disposition, "revision": note.revision, "note_key": note.note_key,
            "created_at": note.created_at, "delivered_at": note.delivered_at}


@crm.command(name="list")
@click.option("--json", "as_json", is_flag=True, help="(The output is always one JSON array.)")
@settings_options
def listing(as_json: bool) -> int:
    """Every note as one JSON array (interaction_id, run_id, status, created_at, delivered_at, note_key)."""
    notes = open_crm(Settings()).notes()
    say(json.dumps([n.model_dump(include={"interaction_id", "run_id", "status", "created_at", "delivered_at"})
                      | {"note_key": n.note_key} for n in notes]))
    return EXIT_PASS


@click.command()
@click.argument("run_id", metavar="RUN")
@click.option("--by", required=True, help="Who reviewed and releases.")
@click.option("--reason", required=True, help="Why the notes may go to agents.")
@settings_options
def release(run_id: str, by: str, reason: str) -> int:
    """Deliver a held run's notes after review; the release is audited."""
    settings = Settings()
    if Store(settings.store_target).run(run_id) is None:
        say(f"cx-worker release: no run {run_id!r} in the store of {settings.data_dir}", file=sys.stderr)
        return EXIT_ERROR
    released = open_crm(settings).release(run_id, by=by, reason=reason)
    say(f"released {released} held notes of run {run_id} (by {by}: {reason})")
    return EXIT_PASS
