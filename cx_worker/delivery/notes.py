"""A CRM note: its idempotency key and the text an agent reads (`templates/crm_note.txt.j2`)."""

from __future__ import annotations

import hashlib

from jinja2 import Environment, PackageLoader, StrictUndefined

from cx_worker.guard.display import clean_text, clean_value
from cx_worker.models import NotePayload
from cx_worker.store import Note

_env = Environment(loader=PackageLoader("cx_worker.delivery", "templates"), undefined=StrictUndefined, trim_blocks=True,
                   lstrip_blocks=True)


def note_key(interaction_id: str, *, prompt_hash: str, model: str) -> str:
    """The idempotency key of a note."""
    return hashlib.sha256(f"{interaction_id}\x1f{prompt_hash}\x1f{model}".encode()).hexdigest()[:32]


def idempotency_key(note: Note) -> str:
    """What a sink sends as the key: the note's key, plus its revision once a reviewer has edited it."""
    return note.note_key if not note.revision else f"{note.note_key}.r{note.revision}"


def render_note(payload: NotePayload) -> str:
    """The note text an agent reads in the CRM, without control characters, terminal escapes or bidi and
    zero-width tricks (`guard.display.clean_text`) that the draft may have copied from a transcript."""
    return clean_text(_env.get_template("crm_note.txt.j2").render(**payload.model_dump(mode="json"))).strip() + "\n"


_TEXT_FIELDS = ("work", "handoff", "metadata", "outcome", "queue")


def displayable(payload: NotePayload) -> NotePayload:
    """The payload with every string of its text (after-call work, hand-off brief, metadata, outcome evidence,
    queue) cleaned for display (`guard.display.clean_value`): what is stored in the ledger and sent to the CRM
    carries no control characters, terminal escapes or bidi and zero-width tricks copied from a transcript."""
    data = payload.model_dump(mode="json")
    return NotePayload.model_validate(data | {k: clean_value(data[k]) for k in _TEXT_FIELDS})
