"""Pulling the night's contacts: read what is new after the store's watermark, quarantine what cannot be read.

Streams the source `size` contacts at a time, so memory holds one chunk, however big the night. The watermark
moves only once the run is done (`advance_watermark`), so a run that dies leaves it where it was.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field

from cx_worker.ingest.source import Read, ReadOptions, read_interactions, source_key, source_names
from cx_worker.models import Interaction
from cx_worker.settings import Settings
from cx_worker.store import Store


@dataclass
class Pulled:
    """What a night's pull found."""

    interactions: list[Interaction] = field(default_factory=list)  # filled by `pull` only; `pull_chunks` streams
    new: int = 0
    read: int = 0
    rejected: int = 0
    skipped: int = 0  # already done in an earlier run
    offsets: dict[str, int] = field(default_factory=dict)


def input_hash(interaction: Interaction) -> str:
    """sha256 of the canonical interaction as read (before redaction)."""
    return hashlib.sha256(interaction.model_dump_json().encode()).hexdigest()[:16]


def pull(settings: Settings, *, store: Store, run_id: str, limit: int | None) -> Pulled:
    """Read new contacts after the watermark into one list (see `pull_chunks`, which streams them)."""
    pulled = Pulled()
    for chunk in pull_chunks(settings, store=store, run_id=run_id, limit=limit, size=1000, pulled=pulled):
        pulled.interactions.extend(chunk)
    return pulled


def pull_chunks(
    settings: Settings, *, store: Store, run_id: str, limit: int | None, size: int, pulled: Pulled
) -> Iterator[list[Interaction]]:
    """Read new contacts after the watermark, `size` at a time; quarantine bad lines and duplicate ids; stop after
    `limit` good ones. `pulled` is updated as the reading goes (counts, and the offsets the watermark may advance
    to once the run is done): only one chunk is in memory here, however big the night.
    """
    seen: set[str] = set()  # ids only: ~100 bytes a contact
    chunk: list[Interaction] = []
    for item in read_interactions(settings.source, offsets=_offsets(store, settings),
                                 options=ReadOptions.of(settings)):
        if limit is not None and pulled.new >= limit:
            break
        pulled.read += 1
        pulled.offsets[item.file] = item.end_offset
        if not isinstance(item, Read):
            pulled.rejected += 1
            store.quarantine(run_id=run_id, interaction_id=item.interaction_id, origin=item.origin, stage="read",
                             reason=item.reason)
            continue
        iid = item.interaction.id
        if iid in seen:
            pulled.rejected += 1
            store.quarantine(run_id=run_id, interaction_id=iid, origin=item.origin, stage="read",
                             reason=f"duplicate id {iid!r} in this batch")
            continue
        seen.add(iid)
        done = store.contact(iid)
        settled = ("done", "acw_failed", "awaiting_retry")  # a retry is the queue's to make, not the source's
        if done is not None and done.status in settled and done.input_hash == input_hash(item.interaction):
            pulled.skipped += 1
            continue
        pulled.new += 1
        chunk.append(item.interaction)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk



def _offsets(store: Store, settings: Settings) -> dict[str, int]:
    return {p: store.watermark(_origin(settings, p)) for p in source_names(settings.source)}


def _origin(settings: Settings, name: str) -> str:
    return f"{source_key(settings.source)}::{name}"


def advance_watermark(settings: Settings, *, store: Store, offsets: dict[str, int]) -> None:
    """Record how far each source file has been read: the next run starts there."""
    for name, offset in offsets.items():
        store.set_watermark(_origin(settings, name), offset)

