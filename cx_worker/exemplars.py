"""The exemplar store: labelled example contacts in a Chroma collection, embedded offline with MiniLM.

Exemplars are redacted exactly as new contacts are, so both sides of a comparison look alike. Adds are upserts by
exemplar id: building twice gives the same collection.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path

from cx_worker.injection import neutralise
from cx_worker.models import Exemplar, Interaction
from cx_worker.redact import redact_interaction
from cx_worker.signals import VERSION as SIGNALS_VERSION
from cx_worker.signals import detect

COLLECTION = "cx_exemplars"
_BATCH = 256


def open_collection(path: Path, *, name: str = COLLECTION, client=None):
    """The exemplar collection in a Chroma PersistentClient at `path` (or in the given client)."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    from cx_worker.embeddings import MiniLMEmbedding

    if client is None:
        path.mkdir(parents=True, exist_ok=True)
        client = chromadb.PersistentClient(path=str(path), settings=ChromaSettings(anonymized_telemetry=False))
    return client.get_or_create_collection(
        name, embedding_function=MiniLMEmbedding(), metadata={"hnsw:space": "cosine"}
    )


# How a contact ends says most about its outcome; the opening says what it was about. Keeping both, and not the
# middle of a long chat, keeps the text within one or two embedding windows.
_OPENING, _ENDING = 2, 6


def document(interaction: Interaction) -> str:
    """The text an interaction is embedded as: the opening and closing turns of its redacted transcript, without
    customer text that gives the AI instructions (`injection.neutralise`)."""
    redacted, _ = redact_interaction(neutralise(interaction).interaction)
    turns = redacted.turns
    if len(turns) > _OPENING + _ENDING:
        turns = turns[:_OPENING] + turns[-_ENDING:]
    return "\n".join(f"{t.speaker}: {t.text}" for t in turns)


def read_exemplars(path: Path) -> Iterator[Exemplar]:
    """Stream `Exemplar` lines from a JSONL file."""
    with path.open() as fh:
        for line in fh:
            if line.strip():
                yield Exemplar.model_validate(json.loads(line))


def add_exemplars(exemplars: Iterable[Exemplar], *, collection) -> Counter:
    """Upsert exemplars into the collection; returns the count per label."""
    counts: Counter = Counter()
    batch: list[Exemplar] = []
    for ex in exemplars:
        batch.append(ex)
        counts[ex.label] += 1
        if len(batch) >= _BATCH:
            _upsert(batch, collection)
            batch = []
    if batch:
        _upsert(batch, collection)
    return counts


def _upsert(batch: list[Exemplar], collection) -> None:
    collection.upsert(
        ids=[ex.interaction.id for ex in batch],
        documents=[document(ex.interaction) for ex in batch],
        metadatas=[_metadata(ex) for ex in batch],
    )


def _metadata(ex: Exemplar) -> dict:
    # The signals are stored with the vector so the fusion model can be refitted from the collection alone
    # (a correction's full transcript is not in the collection, only its document).
    return {"label": ex.label, "source": ex.source, "channel": ex.interaction.channel,
            "signals": ",".join(detect(redact_interaction(ex.interaction)[0])), "signals_version": SIGNALS_VERSION}


def ensure_exemplars(collection, path: Path) -> int:
    """Fill an empty collection from the exemplar file (first run on a new machine); returns the count."""
    if collection.count() == 0:
        add_exemplars(read_exemplars(path), collection=collection)
    return collection.count()
