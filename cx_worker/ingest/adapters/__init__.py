"""Contact-centre exports into canonical `Interaction`s, the format detected from the file's name and content.

| format | module | detected by |
|---|---|---|
| Amazon Connect Contact Lens (chat, voice) | `contact_lens` | `Version` CHAT-/VOICE-…, or Participants + Channel |
| AWS Post-Call Analytics parsed output | `pca` | `ConversationAnalytics` + `SpeechSegments` |
| Amazon Transcribe Call Analytics output | `transcribe` | `Transcript` items with `ParticipantRole`, `JobStatus` |
| Amazon Transcribe standard batch output | `transcribe_standard` | `results` with `transcripts` + `items` |
| Genesys Cloud details / transcripts | `genesys` | `conversations[].participants` / `conversationId` + `transcripts` |
| CSV, one row per turn | `turn_rows` | `.csv`, or a header naming id, speaker and text columns |
| TweetSumm JSONL, ABCD JSON | `public_datasets` | their fields |

Canonical `Interaction` JSONL is not an adapter's business: `cx_worker.ingest.source` streams it line by line. Every
adapter here reads a whole file (exports are one contact or one query result per file), so the source's watermark
for such a file is 0 until it has been read to the end, then its size.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from functools import cached_property
from typing import Any

from cx_worker.ingest.adapters import (
    contact_lens,
    genesys,
    pca,
    public_datasets,
    transcribe,
    transcribe_standard,
    turn_rows,
)
from cx_worker.ingest.adapters.base import Failed, Parsed, UnreadableFile
from cx_worker.ingest.records import Problem, check_data, decode, has_unreadable, load_record

__all__ = ["Batch", "Failed", "Parsed", "UnreadableFile", "SUFFIXES", "is_adapted_jsonl", "parse_file"]

SUFFIXES = (".jsonl", ".json", ".csv")
# Whole-file JSON formats, tried in order (Contact Lens before TCA: both have a Transcript).
_JSON = ((contact_lens.matches, contact_lens.NAME), (pca.matches, pca.NAME), (transcribe.matches, transcribe.NAME),
         (transcribe_standard.matches, transcribe_standard.NAME), (genesys.matches, genesys.NAME),
         (genesys.matches_transcript, genesys.TRANSCRIPT), (public_datasets.matches_abcd, public_datasets.ABCD))


class Batch:
    """The other files read alongside one file: Genesys details join to transcripts across files.

    Args:
        files: (name, read bytes) for every file of the batch; read lazily, only files that may be Genesys.
    """

    def __init__(self, files: Iterable[tuple[str, Callable[[], bytes]]] = ()) -> None:
        self._files = list(files)

    @cached_property
    def _genesys(self) -> tuple[dict[str, dict[str, Any]], set[str]]:
        details, transcripts = {}, set()
        for name, read in self._files:
            if not name.endswith(".json"):
                continue
            data = read()
            if b'"conversationId"' not in data[:65536]:
                continue
            try:
                obj = json.loads(data)
            except (UnicodeDecodeError, json.JSONDecodeError):
                continue  # reported when that file itself is read
            if genesys.matches(obj):
                details.update((c["conversationId"], genesys.details(c)) for c in obj["conversations"])
            elif genesys.matches_transcript(obj):
                transcripts.add(obj["conversationId"])
        return details, transcripts

    def genesys_details(self) -> dict[str, dict[str, Any]]:
        return self._genesys[0]

    def genesys_transcript_ids(self) -> set[str]:
        return self._genesys[1]


def is_adapted_jsonl(head: bytes) -> bool:
    """True if a .jsonl file is a dataset an adapter reads (TweetSumm), not canonical interactions."""
    for line in head.splitlines():
        if line.strip():
            try:
                return public_datasets.matches_tweetsumm(json.loads(line))
            except (UnicodeDecodeError, json.JSONDecodeError):
                return False
    return False


def detect(name: str, data: bytes) -> str:
    """The format name of a file (see the table above); raises `UnreadableFile` naming the file and why."""
    return _load(name, data)[0]


def parse_file(name: str, data: bytes, *, batch: Batch | None = None, transcribe_first_speaker: str = "agent",
               transcribe_agent_channel: str = "ch_0", encoding: str = "auto") -> Iterator[Parsed | Failed]:
    """Convert one file into interactions (and `Failed` records with reasons).

    Args:
        encoding: the file's text encoding; `auto` reads UTF-8 or the legacy encoding the file is most likely in
            (`records.decode`). A CSV's rows that hold bytes the encoding cannot read fail their conversation
            only; a JSON file that holds them is unreadable.
        transcribe_first_speaker: role of the first speaker of a diarized Amazon Transcribe file ("agent" or
            "customer"); the setting of the same name.
        transcribe_agent_channel: the agent's channel ("ch_0" or "ch_1") of a channel-identification Amazon
            Transcribe file; the setting of the same name.

    Raises:
        UnreadableFile: not UTF-8, not parseable, or no known format; the message names the file and says why.
    """
    kind, obj, text = _load(name, data, encoding=encoding)
    batch = batch or Batch([(name, lambda: data)])
    if kind == turn_rows.NAME:
        yield from turn_rows.parse_csv(text, name=name)
    elif kind == public_datasets.TWEETSUMM:
        yield from public_datasets.parse_tweetsumm(obj, name=name)
    elif kind == contact_lens.NAME:
        yield from contact_lens.parse(obj, name=name, data=data)
    elif kind == pca.NAME:
        yield from pca.parse(obj, name=name, data=data)
    elif kind == transcribe.NAME:
        yield from transcribe.parse(obj, name=name, data=data)
    elif kind == transcribe_standard.NAME:
        yield from transcribe_standard.parse(obj, name=name, data=data, first_speaker=transcribe_first_speaker,
                                             agent_channel=transcribe_agent_channel)
    elif kind == genesys.NAME:
        yield from genesys.parse(obj, name=name, transcript_ids=batch.genesys_transcript_ids())
    elif kind == genesys.TRANSCRIPT:
        yield from genesys.parse_transcript(obj, name=name, details_by_id=batch.genesys_details())
    else:
        yield from public_datasets.parse_abcd(obj, name=name)


def _load(name: str, data: bytes, *, encoding: str = "auto") -> tuple[str, Any, str]:
    try:
        text, used = decode(data, encoding=encoding)
    except LookupError:
        raise UnreadableFile(f"{name}: unknown encoding {encoding!r}") from None
    if not text.strip():
        raise UnreadableFile(f"{name}: empty file")
    if name.endswith(".csv") or (not text.lstrip().startswith(("{", "[")) and turn_rows.looks_like_csv(text)):
        return turn_rows.NAME, None, text  # rows with unreadable bytes fail alone (turn_rows)
    if has_unreadable(text):
        where = text.index(next(ch for ch in text if has_unreadable(ch)))
        raise UnreadableFile(f"{name}: not UTF-8 nor {used}: bytes neither can read, at character {where}")
    if name.endswith(".jsonl"):
        return public_datasets.TWEETSUMM, _jsonl(name, text), text
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        hint = ""
        if "..." in text:
            hint = " — it looks abridged ('...' where items were left out"
            hint += ", like the Amazon Transcribe Call Analytics example in AWS's documentation)" \
                if transcribe.looks_like(text) else ")"
        raise UnreadableFile(f"{name}: not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}{hint}") \
            from None
    except RecursionError:
        raise UnreadableFile(f"{name}: JSON nested deeper than any contact-centre export is") from None
    except ValueError as exc:  # e.g. a number thousands of digits long
        raise UnreadableFile(f"{name}: unreadable JSON value: {str(exc)[:160]}") from None
    obj = check_data(obj)
    if isinstance(obj, Problem):
        raise UnreadableFile(f"{name}: {obj.reason}")
    for matches, kind in _JSON:
        if matches(obj):
            return kind, obj, text
    shape = f"top-level keys {sorted(obj)[:8]}" if isinstance(obj, dict) else f"a JSON {type(obj).__name__}"
    raise UnreadableFile(f"{name}: not a known contact-centre export ({shape})")


def _jsonl(name: str, text: str) -> list[tuple[int, Any]]:
    lines = []
    for line_no, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        data = load_record(line)
        lines.append((line_no, {"_error": data.reason} if isinstance(data, Problem) else data))
    if not lines or not public_datasets.matches_tweetsumm(next((o for _, o in lines if "_error" not in o), None)):
        raise UnreadableFile(f"{name}: JSONL that is neither canonical interactions nor TweetSumm dialogs")
    return lines
