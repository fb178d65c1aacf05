"""One row per turn — a CSV export or a SQL table — grouped into interactions by conversation id.

Columns are matched by name, case-insensitively, with the usual aliases (first match wins):

| field | column names |
|---|---|
| id (required) | conversation_id, contact_id, interaction_id, id |
| speaker (required) | speaker, role, participant, participant_role |
| text (required) | text, message, content, utterance, transcript |
| turn time | ts, timestamp, time, turn_time |
| channel, language, queue, customer_id, customer_name, started_at | same names |

Rows of one conversation need not be adjacent; turns keep row order. A conversation with an unknown speaker or a
timestamp that is present but not ISO 8601 is rejected whole, with the row number; one with no timestamps at all
is fine (timestamps are optional in the contract). With no channel column, the channel is `chat`.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from cx_worker.ingest.adapters.base import (
    Failed,
    Parsed,
    UnknownSpeaker,
    UnreadableFile,
    build,
    channel,
    language,
    timestamp,
    turn,
)
from cx_worker.ingest.records import has_unreadable

NAME = "csv_turns"
COLUMNS = {
    "id": ("conversation_id", "contact_id", "interaction_id", "id"),
    "speaker": ("speaker", "role", "participant", "participant_role"),
    "text": ("text", "message", "content", "utterance", "transcript"),
    "ts": ("ts", "timestamp", "time", "turn_time"),
    "channel": ("channel", "media_type"),
    "language": ("language", "language_code"),
    "queue": ("queue", "queue_name"),
    "customer_id": ("customer_id",),
    "customer_name": ("customer_name",),
    "started_at": ("started_at", "conversation_start"),
}
_PER_CONTACT = ("channel", "language", "queue", "customer_id", "customer_name", "started_at")


def column_map(header: Iterable[str]) -> dict[str, str]:
    """Our field -> the source's column name, for the columns present. Raises ValueError if a required one is not."""
    present = {h.strip().lower(): h for h in header if h}
    found = {field: present[a] for field, aliases in COLUMNS.items() for a in aliases[::-1] if a in present}
    # aliases[::-1] then dict overwrite: the first alias in COLUMNS wins.
    missing = [f for f in ("id", "speaker", "text") if f not in found]
    if missing:
        raise ValueError(f"missing column(s) {', '.join(missing)} (have: {', '.join(present) or 'none'})")
    return found


def group(rows: Iterable[tuple[str, Mapping[str, Any]]], columns: dict[str, str], *, name: str,
          source_format: str = NAME) -> Iterator[Parsed | Failed]:
    """Group (origin, row) pairs into interactions, in order of each conversation's first row."""
    contacts: dict[str, list[tuple[str, Mapping[str, Any]]]] = {}
    for origin, row in rows:
        cid = str(row.get(columns["id"]) or "").strip()
        if not cid:
            yield Failed(origin, "row has no conversation id")
            continue
        contacts.setdefault(cid, []).append((origin, row))
    for cid, members in contacts.items():
        yield _contact(cid, members, columns, name=name, source_format=source_format)


def _contact(cid: str, members, columns: dict[str, str], *, name: str, source_format: str) -> Parsed | Failed:
    origin = f"{name}#{cid}"
    first = {f: _value(members[0][1], columns, f) for f in _PER_CONTACT}
    turns = []
    for row_origin, row in members:
        if any(isinstance(v, str) and has_unreadable(v) for v in row.values()):
            return Failed(origin, f"{row_origin}: bytes the file's encoding cannot read (the rest of the file is "
                                  f"kept; --encoding / CX_SOURCE_ENCODING names another)", cid)
        text = _value(row, columns, "text")
        if not text:
            continue
        try:
            turns.append(turn(_value(row, columns, "speaker"), text, timestamp(_value(row, columns, "ts"))))
        except (UnknownSpeaker, ValueError) as exc:
            return Failed(origin, f"{row_origin}: {exc}", cid)
    try:
        started = timestamp(first["started_at"])
    except ValueError as exc:
        return Failed(origin, f"started_at: {exc}", cid)
    stamps = [t.ts for t in turns if t.ts]
    metadata: dict[str, Any] = {"source": source_format, "source_file": name}
    if first["customer_name"]:
        metadata["customer_name"] = first["customer_name"]
    return build(origin, id=cid, channel=channel(first["channel"], "chat"), language=language(first["language"]),
                 queue=first["queue"] or None, customer_id=first["customer_id"] or None,
                 started_at=started or min(stamps, default=None), ended_at=max(stamps, default=None), turns=turns,
                 metadata=metadata)


def _value(row: Mapping[str, Any], columns: dict[str, str], field: str) -> Any:
    column = columns.get(field)
    value = row.get(column) if column else None
    return value.strip() if isinstance(value, str) else value


def parse_csv(text: str, *, name: str) -> Iterator[Parsed | Failed]:
    """Yield the interactions of a CSV file with one row per turn."""
    reader = csv.DictReader(io.StringIO(text, newline=""))
    try:
        columns = column_map(reader.fieldnames or [])
    except ValueError as exc:
        raise UnreadableFile(f"{name}: not a turn-per-row CSV: {exc}") from None
    try:
        rows = [(f"{name}:{reader.line_num}", row) for row in reader]
    except csv.Error as exc:
        raise UnreadableFile(f"{name}: malformed CSV at line {reader.line_num}: {exc}") from None
    yield from group(rows, columns, name=name)


def looks_like_csv(text: str) -> bool:
    """A header line that names an id, a speaker and a text column."""
    header = text.split("\n", 1)[0]
    try:
        column_map(next(csv.reader([header])))
    except (ValueError, StopIteration, csv.Error):
        return False
    return True
