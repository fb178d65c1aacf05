"""Amazon Transcribe Call Analytics (TCA) batch output: `Transcript` items with ParticipantRole, offsets in ms.

The example in AWS's developer guide is abridged with `...` and is not JSON: it is rejected as unreadable (with
the parser's position and a hint), never half-read. TCA's own sentiment, categories and the issues / outcomes /
action items it detected are kept under `metadata["amazon_transcribe"]`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from cx_worker.ingest.adapters.base import Failed, Parsed, UnknownSpeaker, build, file_id, language, turn

NAME = "amazon_transcribe_call_analytics"


def matches(obj: Any) -> bool:
    """A TCA output: a Transcript of items that carry their ParticipantRole (Contact Lens has a Version instead)."""
    if not isinstance(obj, dict) or "Version" in obj or not isinstance(obj.get("Transcript"), list):
        return False
    items = obj["Transcript"]
    return bool(items) and all(isinstance(i, dict) and "ParticipantRole" in i for i in items[:5]) and (
        "JobStatus" in obj or "ConversationCharacteristics" in obj)


def looks_like(text: str) -> bool:
    """True if unparseable text still looks like a TCA output (for a clearer error)."""
    return '"ParticipantRole"' in text and '"Transcript"' in text and '"Version"' not in text


def parse(obj: dict[str, Any], *, name: str, data: bytes) -> Iterator[Parsed | Failed]:
    """Yield the one call of a TCA output file."""
    contact_id = obj.get("JobName") or file_id(name, data)
    origin = f"{name}#{contact_id}"
    try:
        turns = [turn(i["ParticipantRole"], i.get("Content")) for i in obj["Transcript"]
                 if str(i.get("Content") or "").strip()]
    except UnknownSpeaker as exc:
        yield Failed(origin, str(exc), contact_id)
        return
    found: dict[str, list[str]] = {"issues": [], "outcomes": [], "action_items": []}
    for item in obj["Transcript"]:
        for key, kind in (("IssuesDetected", "issues"), ("OutcomesDetected", "outcomes"),
                          ("ActionItemsDetected", "action_items")):
            for hit in item.get(key) or []:
                span = hit.get("CharacterOffsets") or {}
                found[kind].append(str(item.get("Content", ""))[span.get("Begin", 0):span.get("End")].strip())
    traits = obj.get("ConversationCharacteristics") or {}
    vendor = {
        "categories": list((obj.get("Categories") or {}).get("MatchedCategories") or []),
        **found,
        "overall_sentiment": (traits.get("Sentiment") or {}).get("OverallSentiment"),
        "interruptions": (traits.get("Interruptions") or {}).get("TotalCount"),
        "duration_ms": traits.get("TotalConversationDurationMillis"),
        "vendor_redacted": any("[PII]" in t.text for t in turns),
    }
    yield build(origin, id=contact_id, channel="voice", language=language(obj.get("LanguageCode")), turns=turns,
                metadata={"source": NAME, "source_file": name, "amazon_transcribe": vendor})
