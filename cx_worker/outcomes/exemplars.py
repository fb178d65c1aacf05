"""The exemplar store: labelled example contacts in a Chroma collection, embedded offline with MiniLM.

Exemplars are redacted exactly as new contacts are, so both sides of a comparison look alike. Adds are upserts by
exemplar id: building twice gives the same collection. The collections live in the data dir's embedded Chroma files
or on a Chroma server (`CX_CHROMA_URL`): `chroma_client` builds the one or the other from settings.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import chromadb
from chromadb.config import Settings as ChromaSettings

from cx_worker.guard.inbound import neutralise
from cx_worker.models import Exemplar, Interaction, render_turn
from cx_worker.outcomes.embeddings import shared_embedding
from cx_worker.outcomes.signals import VERSION as SIGNALS_VERSION
from cx_worker.outcomes.signals import detect
from cx_worker.redaction.redactor import redact_interaction
from cx_worker.settings import Settings

COLLECTION = "cx_exemplars"
_BATCH = 256


def chroma_client(settings: Settings):
    """The Chroma client of a run, the one place it is built from settings: a Chroma server (`chroma_url`) or the
    embedded store in the data dir (`chroma_path`). Either way our embedding function embeds on this side
    (`open_collection`): the server only stores and searches vectors."""
    telemetry_off = ChromaSettings(anonymized_telemetry=False)
    if settings.chroma_url:
        url = urlsplit(settings.chroma_url)
        if url.scheme not in ("http", "https") or not url.hostname:
            raise ValueError(f"chroma_url must be http://HOST:PORT or https://HOST:PORT, not {settings.chroma_url!r}")
        tls = url.scheme == "https"
        return chromadb.HttpClient(host=url.hostname, port=url.port or (443 if tls else 80), ssl=tls,
                                   settings=telemetry_off)
    settings.chroma_path.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(settings.chroma_path), settings=telemetry_off)


def open_collection(path: Path | None, *, name: str = COLLECTION, client=None):
    """The exemplar collection in `client` (`chroma_client(settings)`), or in a Chroma PersistentClient at `path`."""
    if client is None:
        path.mkdir(parents=True, exist_ok=True)
        client = chromadb.PersistentClient(path=str(path), settings=ChromaSettings(anonymized_telemetry=False))
    return client.get_or_create_collection(
        name, embedding_function=shared_embedding(), metadata={"hnsw:space": "cosine"}
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
    return "\n".join(render_turn(t) for t in turns)  # one line per turn: a customer cannot forge an agent line


def read_exemplars(path: Path) -> Iterator[Exemplar]:
    """Stream `Exemplar` lines from a JSONL file."""
    with path.open() as fh:
        for line in fh:
            if line.strip():
                yield Exemplar.model_validate(json.loads(line))


def add_exemplars(exemplars: Iterable[Exemplar], *, collection, seed: str | None = None) -> Counter:
    """Upsert exemplars into the collection; returns the count per label.

    Args:
        exemplars: The exemplars.
        collection: The exemplar collection.
        seed: The seed key (`seed_key`) when they come from the seed file; recorded so a later change is seen.
    """
    counts: Counter = Counter()
    batch: list[Exemplar] = []
    for ex in exemplars:
        batch.append(ex)
        counts[ex.label] += 1
        if len(batch) >= _BATCH:
            _upsert(batch, collection, seed)
            batch = []
    if batch:
        _upsert(batch, collection, seed)
    return counts


def _upsert(batch: list[Exemplar], collection, seed: str | None) -> None:
    collection.upsert(
        ids=[ex.interaction.id for ex in batch],
        documents=[document(ex.interaction) for ex in batch],
        metadatas=[_metadata(ex) | ({"seed": seed} if seed else {}) for ex in batch],
    )


def _metadata(ex: Exemplar) -> dict:
    # The signals are stored with the vector so the fusion model can be refitted from the collection alone
    # (a correction's full transcript is not in the collection, only its document).
    return {"label": ex.label, "source": ex.source, "channel": ex.interaction.channel,
            "signals": ",".join(detect(redact_interaction(ex.interaction)[0])), "signals_version": SIGNALS_VERSION}


# What `document` makes of a contact (and the redaction inside it): a new version re-embeds the seed exemplars.
# v2: turns rendered by `models.render_turn` (no forged speaker lines), the redaction of issue 16.
DOCUMENT_VERSION = "document-v2"


def seed_key(path: Path) -> str:
    """What the seed exemplars in a collection must carry to be current: the file's content, the signal version
    their stored signals were computed with, and the version of the document they were embedded as."""
    return f"{SIGNALS_VERSION}:{DOCUMENT_VERSION}:{hashlib.sha256(path.read_bytes()).hexdigest()[:16]}"


def ensure_exemplars(collection, path: Path) -> int:
    """Fill the collection from the seed exemplar file, or refresh it when the file or the signals changed.

    A first run fills an empty collection. Later runs compare the key each seed exemplar carries (`seed_key`)
    with the file's: if the file was rebuilt (labels, contacts) or the signals changed version, the file is
    upserted again and seed exemplars no longer in it are removed. Corrections and exemplars added from other
    files are left alone. Returns the count.
    """
    key = seed_key(path)
    ids = [ex.interaction.id for ex in read_exemplars(path)]
    held = collection.get(ids=ids, include=["metadatas"]) if ids else {"ids": [], "metadatas": []}
    # A person's correction of a contact that is also a seed exemplar outranks the file.
    corrected = {i for i, m in zip(held["ids"], held["metadatas"]) if (m or {}).get("source") == "correction"}
    current = len(held["ids"]) == len(set(ids)) and all(
        (m or {}).get("seed") == key for i, m in zip(held["ids"], held["metadatas"]) if i not in corrected)
    if not current:
        add_exemplars((ex for ex in read_exemplars(path) if ex.interaction.id not in corrected),
                      collection=collection, seed=key)
        seeded = collection.get(where={"seed": {"$ne": key}}, include=["metadatas"])
        gone = [i for i, m in zip(seeded["ids"], seeded["metadatas"])  # (an upsert keeps old metadata keys)
                if (m or {}).get("seed") and m.get("source") != "correction"]
        if gone:
            collection.delete(ids=gone)
    return collection.count()
