"""Amazon Connect Contact Lens analysis output (chat `CHAT-2022-11-30` and voice `VOICE-2022-11-30`).

Chat: `Transcript` items of Type MESSAGE, each with ParticipantRole and an absolute time. Voice: items with a
ParticipantId (resolved through `Participants`) and offsets from the start of the call, no absolute time.
Contact Lens's own findings (sentiment, matched categories, the issues / outcomes / action items it detected,
whether the export is already redacted) are kept under `metadata["amazon_connect"]`.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from typing import Any

from cx_worker.ingest.adapters.base import Failed, Parsed, UnknownSpeaker, build, file_id, language, timestamp, turn

NAME = "amazon_connect_contact_lens"
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.IGNORECASE)


def matches(obj: Any) -> bool:
    """A Contact Lens analysis file: a Version CHAT-/VOICE-…, or Participants + Transcript + Channel."""
    if not isinstance(obj, dict) or not isinstance(obj.get("Transcript"), list):
        return False
    version = str(obj.get("Version", ""))
    return version.startswith(("CHAT-", "VOICE-")) or ("Participants" in obj and obj.get("Channel") in ("CHAT", "VOICE")
                                                       and all("ParticipantId" in i for i in obj["Transcript"][:5]))


def parse(obj: dict[str, Any], *, name: str, data: bytes) -> Iterator[Parsed | Failed]:
    """Yield the one contact of a Contact Lens analysis file."""
    contact_id = (obj.get("CustomerMetadata") or {}).get("ContactId") or _id_from_name(name) or file_id(name, data)
    origin = f"{name}#{contact_id}"
    is_chat = obj.get("Channel") == "CHAT" or str(obj.get("Version", "")).startswith("CHAT-")
    try:
        turns, texts = _chat_turns(obj) if is_chat else _voice_turns(obj)
    except (UnknownSpeaker, ValueError) as exc:
        yield Failed(origin, str(exc), contact_id)
        return
    stamps = [t.ts for t in turns if t.ts]
    customer = next((p.get("DisplayName") for p in obj.get("Participants", [])
                     if p.get("ParticipantRole") == "CUSTOMER" and p.get("DisplayName") not in (None, "", "[PII]")),
                    None)
    metadata: dict[str, Any] = {"source": NAME, "source_file": name, "amazon_connect": _vendor(obj, texts)}
    if customer:
        metadata["customer_name"] = customer  # used by redaction, then replaced by its placeholder
    yield build(origin, id=contact_id, channel="chat" if is_chat else "voice",
                language=language(obj.get("LanguageCode")),
                started_at=min(stamps, default=None), ended_at=max(stamps, default=None), turns=turns,
                metadata=metadata)


def _chat_turns(obj: dict[str, Any]):
    turns, texts = [], {}
    for item in obj["Transcript"]:
        if item.get("Type") != "MESSAGE" or not str(item.get("Content", "")).strip():
            continue  # participant joined / left, chat ended: events, not turns
        turns.append(turn(item.get("ParticipantRole"), item["Content"], timestamp(item.get("AbsoluteTime"))))
        texts[item.get("Id")] = item["Content"]
    return turns, texts


def _voice_turns(obj: dict[str, Any]):
    roles = {p.get("ParticipantId"): p.get("ParticipantRole") for p in obj.get("Participants", [])}
    turns, texts = [], {}
    for i, item in enumerate(obj["Transcript"]):
        if not str(item.get("Content", "")).strip():
            continue
        turns.append(turn(roles.get(item.get("ParticipantId")) or item.get("ParticipantId"), item["Content"]))
        texts[item.get("Id") or i] = item["Content"]
    return turns, texts


def _vendor(obj: dict[str, Any], texts: dict[Any, str]) -> dict[str, Any]:
    traits = obj.get("ConversationCharacteristics") or {}
    sentiment = traits.get("Sentiment") or {}
    found: dict[str, list[str]] = {"issues": [], "outcomes": [], "action_items": []}
    keys = {"IssuesDetected": "issues", "OutcomesDetected": "outcomes", "ActionItemsDetected": "action_items"}
    # Voice: per turn, with the text. Chat: in ContactSummary, as character offsets into transcript items.
    for item in obj["Transcript"]:
        for key, kind in keys.items():
            for hit in item.get(key) or []:
                found[kind].append(hit.get("Text") or _cut(item.get("Content", ""), hit.get("CharacterOffsets")))
    for summary in (traits.get("ContactSummary") or {}).get("SummaryItemsDetected") or []:
        for key, kind in keys.items():
            for hit in summary.get(key) or []:
                for ref in hit.get("TranscriptItems") or []:
                    found[kind].append(_cut(texts.get(ref.get("Id"), ""), ref.get("CharacterOffsets")))
    per_turn = Counter(g.get("Sentiment") for g in sentiment.get("DetailsByTranscriptItemGroup") or []
                       if g.get("ParticipantRole") == "CUSTOMER")
    per_turn.update(i.get("Sentiment") for i in obj["Transcript"]
                    if i.get("Sentiment") and _is_customer(obj, i) and "ParticipantRole" not in i)
    return {
        "version": obj.get("Version"),
        "categories": list((obj.get("Categories") or {}).get("MatchedCategories") or []),
        **{k: [t for t in v if t] for k, v in found.items()},
        "overall_sentiment": sentiment.get("OverallSentiment"),
        "customer_turn_sentiment": {k: v for k, v in per_turn.items() if k},
        "vendor_redacted": (obj.get("ContentMetadata") or {}).get("Output") == "Redacted",
        "duration_ms": traits.get("TotalConversationDurationMillis"),
    }


def _is_customer(obj: dict[str, Any], item: dict[str, Any]) -> bool:
    roles = {p.get("ParticipantId"): p.get("ParticipantRole") for p in obj.get("Participants", [])}
    return (roles.get(item.get("ParticipantId")) or item.get("ParticipantId")) == "CUSTOMER"


def _cut(text: str, offsets: dict[str, Any] | None) -> str:
    if not offsets:
        return text
    begin = offsets.get("BeginOffsetChar", offsets.get("Begin", 0))
    end = offsets.get("EndOffsetChar", offsets.get("End", len(text)))
    return text[begin:end].strip()


def _id_from_name(name: str) -> str | None:
    # Contact Lens writes `<ContactId>_analysis_<time>.json`: the contact id leads the file name.
    m = _UUID.match(name.rsplit("/", 1)[-1])
    return m.group(0) if m else None
