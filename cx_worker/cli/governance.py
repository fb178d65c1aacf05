"""`cx-worker audit`: everything recorded about one contact, for a governance lead."""

from __future__ import annotations

import json
import sys

import click

from cx_worker.cli import EXIT_ERROR, EXIT_PASS, say
from cx_worker.cli.settings_options import settings_options
from cx_worker.governance.audit import audit_trail, format_trail
from cx_worker.settings import Settings
from cx_worker.store import Ledger, Store


@click.command()
@click.argument("interaction_id", metavar="ID")
@click.option("--json", "as_json", is_flag=True, help="The trail as one JSON object.")
@settings_options
def audit(interaction_id: str, as_json: bool) -> int:
    """Model, prompt hash, input hash, eval verdicts, delivery and releases of one contact."""
    settings = Settings()
    trail = audit_trail(interaction_id, store=Store(settings.store_target), ledger=Ledger(settings.ledger_target))
    if trail is None:
        say(f"cx-worker audit: no contact {interaction_id!r} in the store of {settings.data_dir}", file=sys.stderr)
        return EXIT_ERROR
    say(json.dumps(trail, indent=2, default=str) if as_json else format_trail(trail))
    return EXIT_PASS
