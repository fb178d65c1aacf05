"""A CRM note: its idempotency key and the text an agent reads (`templates/crm_note.txt.j2`)."""

from __future__ import annotations

import hashlib
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined

_env = Environment(loader=PackageLoader("cx_worker.delivery", "templates"), undefined=StrictUndefined, trim_blocks=True,
                   lstrip_blocks=True)


def note_key(interaction_id: str, *, prompt_hash: str, model: str) -> str:
    """The idempotency key of a note."""
    return hashlib.sha256(f"{interaction_id}\x1f{prompt_hash}\x1f{model}".encode()).hexdigest()[:32]


def idempotency_key(note: dict[str, Any]) -> str:
    """What a sink sends as the key: the note's key, plus its revision once a reviewer has edited it."""
    revision = note.get("revision") or 0
    return note["note_key"] if not revision else f"{note['note_key']}.r{revision}"


def render_note(payload: dict[str, Any]) -> str:
    """The note text an agent reads in the CRM."""
    return _env.get_template("crm_note.txt.j2").render(**payload).strip() + "\n"
