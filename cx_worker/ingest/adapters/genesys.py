"""Genesys Cloud: analytics conversation details (metadata) joined to speech-and-text-analytics transcripts.

The analytics details query result (`{"conversations": [...]}`) carries who took part, the queue, the wrap-up code
and note and how each side disconnected, but no words. A transcript (`{"conversationId", "transcripts": [{"phrases":
[{"text", "participantPurpose", "startTimeMs"}]}]}`, the shape of Genesys's transcript URL download) carries the
words. Decision, made once here:

- A transcript is the interaction; the details of the same conversationId, when any file of the batch holds them,
  are joined into its `metadata["genesys"]` (queue, wrap-up code and note, disconnect types) and its queue.
- A details conversation with no transcript in the batch cannot be summarised (an `Interaction` needs a turn), but
  it is not broken either: it is a `Failed` carrying a metadata-only `record`. `cx-worker ingest` writes those to a
  separate metadata-only file; the nightly run quarantines them with the reason, so ops can supply the transcript.
  A transcript that arrives on a later night is then joined to the details still in the folder.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from cx_worker.ingest.adapters.base import Failed, Parsed, UnknownSpeaker, build, channel, language, timestamp, turn

NAME = "genesys_cloud"
TRANSCRIPT = "genesys_cloud_transcript"
# participantPurpose in transcripts; "purpose" in analytics details.
_PURPOSE = {"internal": "agent", "agent": "agent", "user": "agent", "external": "customer", "customer": "customer",
            "ivr": "bot", "acd": "system", "workflow": "bot"}


def matches(obj: Any) -> bool:
    """An analytics conversation-details query result."""
    conversations = obj.get("conversations") if isinstance(obj, dict) else None
    return isinstance(conversations, list) and all(
        isinstance(c, dict) and "conversationId" in c and "participants" in c for c in conversations[:5])


def matches_transcript(obj: Any) -> bool:
    """A speech-and-text-analytics transcript of one conversation."""
    return isinstance(obj, dict) and "conversationId" in obj and isinstance(obj.get("transcripts"), list)


def details(conversation: dict[str, Any]) -> dict[str, Any]:
    """The metadata of one analytics conversation: queue, wrap-up, disconnects, media, times."""
    segments = [(p.get("purpose"), s.get("mediaType"), seg) for p in conversation.get("participants", [])
                for s in p.get("sessions", []) for seg in s.get("segments", [])]
    wrapups = [seg for _, _, seg in segments if seg.get("segmentType") == "wrapup" or seg.get("wrapUpCode")]
    ends = [seg.get("segmentEnd") for _, _, seg in segments if seg.get("segmentEnd")]
    disconnects: dict[str, str] = {}
    for purpose, _, seg in segments:
        if seg.get("disconnectType"):
            disconnects[purpose] = seg["disconnectType"]  # the last segment of each side says how it ended
    queues = list(dict.fromkeys(seg["queueId"] for _, _, seg in segments if seg.get("queueId")))
    media = next((m for _, m, _ in segments if m), None)
    return {
        "conversation_id": conversation["conversationId"],
        "conversation_start": conversation.get("conversationStart"),
        "conversation_end": conversation.get("conversationEnd") or max(ends, default=None),
        "media_type": media,
        "queue_ids": queues,
        "wrap_up_codes": list(dict.fromkeys(w["wrapUpCode"] for w in wrapups if w.get("wrapUpCode"))),
        "wrap_up_notes": [w["wrapUpNote"] for w in wrapups if w.get("wrapUpNote")],
        "disconnect_types": disconnects,
        "participants": [p.get("purpose") for p in conversation.get("participants", [])],
    }


def parse(obj: dict[str, Any], *, name: str, transcript_ids: Iterable[str] = ()) -> Iterator[Failed]:
    """Yield a metadata-only `Failed` for each details conversation that no transcript of the batch covers."""
    covered = set(transcript_ids)
    for conversation in obj["conversations"]:
        meta = details(conversation)
        cid = meta["conversation_id"]
        if cid in covered:
            continue  # the transcript's file yields it, with these details joined
        wrap = ", ".join(meta["wrap_up_codes"]) or "none"
        yield Failed(f"{name}#{cid}", f"no transcript: Genesys analytics details are metadata only (wrap-up code "
                     f"{wrap}; disconnect {meta['disconnect_types'].get('customer') or '?'}); supply the "
                     f"conversation's transcript to process it", cid, record=_metadata_record(meta))


def parse_transcript(obj: dict[str, Any], *, name: str,
                     details_by_id: dict[str, dict[str, Any]] | None = None) -> Iterator[Parsed | Failed]:
    """Yield the interaction of one Genesys transcript, joined to its analytics details when known."""
    cid = obj["conversationId"]
    origin = f"{name}#{cid}"
    try:
        phrases = sorted((p for t in obj["transcripts"] for p in t.get("phrases") or []),
                         key=lambda p: p.get("startTimeMs") or 0)
        turns = [turn(_PURPOSE.get(str(p.get("participantPurpose", "")).lower(), p.get("participantPurpose")),
                      p.get("text"), timestamp(p.get("startTimeMs")))
                 for p in phrases if str(p.get("text") or "").strip()]
    except (UnknownSpeaker, ValueError) as exc:
        yield Failed(origin, str(exc), cid)
        return
    meta = (details_by_id or {}).get(cid)
    first = next(iter(obj["transcripts"]), {})
    stamps = [t.ts for t in turns if t.ts]
    try:
        started = timestamp(meta["conversation_start"]) if meta else min(stamps, default=None)
        ended = timestamp(meta["conversation_end"]) if meta else max(stamps, default=None)
    except ValueError as exc:
        yield Failed(origin, str(exc), cid)
        return
    vendor = dict(meta or {}, joined_details=meta is not None,
                  topics=[t.get("topicName") for t in (first.get("analytics") or {}).get("topics") or []])
    yield build(origin, id=cid, channel=channel(obj.get("mediaType") or (meta or {}).get("media_type"), "voice"),
                language=language(first.get("language")), queue=next(iter((meta or {}).get("queue_ids") or []), None),
                started_at=started, ended_at=ended, turns=turns,
                metadata={"source": TRANSCRIPT, "source_file": name, "genesys": vendor})


def _metadata_record(meta: dict[str, Any]) -> dict[str, Any]:
    return {"id": meta["conversation_id"], "channel": channel(meta["media_type"], "voice"),
            "started_at": meta["conversation_start"], "ended_at": meta["conversation_end"],
            "queue": next(iter(meta["queue_ids"]), None), "turns": [],
            "metadata": {"source": NAME, "genesys": meta, "transcript": "missing"}}
