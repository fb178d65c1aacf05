"""AWS Post-Call Analytics (PCA) parsed output: `ConversationAnalytics` + `SpeechSegments`.

Speakers come from `ConversationAnalytics.SpeakerLabels` (spk_N -> "Agent" / "Customer"), exactly as PCA labelled
them: we do not second-guess the vendor's channel mapping (in AWS's own sample file it looks swapped — the
"Customer" says "Thank you for calling … technical support" — which is worth knowing when judging its summaries).
The call's local start (ConversationTime in ConversationLocation) plus each segment's offset gives the turn times.
PCA's own sentiment trends, categories, issues and entities go under `metadata["aws_pca"]`.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cx_worker.ingest.adapters.base import Failed, Parsed, UnknownSpeaker, build, file_id, language, turn

NAME = "aws_post_call_analytics"


def matches(obj: Any) -> bool:
    """A PCA parsed-output file."""
    return isinstance(obj, dict) and isinstance(obj.get("ConversationAnalytics"), dict) and "SpeechSegments" in obj


def parse(obj: dict[str, Any], *, name: str, data: bytes) -> Iterator[Parsed | Failed]:
    """Yield the one call of a PCA parsed-output file."""
    info = obj["ConversationAnalytics"]
    job = next((s.get("TranscribeJobInfo", {}) for s in info.get("SourceInformation") or []), {})
    guid = info.get("GUID")
    contact_id = (guid if guid and guid != "None" else None) or job.get("TranscriptionJobName") or file_id(name, data)
    origin = f"{name}#{contact_id}"
    labels = {s.get("Speaker"): s.get("DisplayText") for s in info.get("SpeakerLabels") or []}
    start = _start(info)
    try:
        turns = [turn(labels.get(seg.get("SegmentSpeaker"), seg.get("SegmentSpeaker")),
                      seg.get("DisplayText") or seg.get("OriginalText"),
                      start + timedelta(seconds=float(seg.get("SegmentStartTime") or 0)) if start else None)
                 for seg in obj.get("SpeechSegments") or [] if str(seg.get("DisplayText") or "").strip()]
    except UnknownSpeaker as exc:
        yield Failed(origin, str(exc), contact_id)
        return
    speakers = {v: k for k, v in labels.items()}
    vendor = {
        "categories": [c["Name"] for c in info.get("CategoriesDetected") or [] if c.get("Instances")],
        "issues": [i.get("Text", i) if isinstance(i, dict) else i for i in info.get("IssuesDetected") or []],
        "sentiment": {who.lower(): (info.get("SentimentTrends") or {}).get(spk, {}).get("SentimentScore")
                      for who, spk in speakers.items() if who},
        "negative_segments": sum(1 for s in obj.get("SpeechSegments") or [] if s.get("SentimentIsNegative")),
        "entities": {e["Name"]: e.get("Instances") for e in info.get("CustomEntities") or [] if "Name" in e},
        "agent": None if info.get("Agent") in (None, "None") else info.get("Agent"),
        "duration_s": _float(info.get("Duration")),
        "job_name": job.get("TranscriptionJobName"),
        "average_word_confidence": job.get("AverageWordConfidence"),
    }
    ended = start + timedelta(seconds=vendor["duration_s"]) if start and vendor["duration_s"] else None
    yield build(origin, id=contact_id, channel="voice", language=language(info.get("LanguageCode")),
                started_at=start, ended_at=ended, turns=turns,
                metadata={"source": NAME, "source_file": name, "aws_pca": vendor})


def _start(info: dict[str, Any]) -> datetime | None:
    raw = info.get("ConversationTime")
    if not raw:
        return None
    try:
        when = datetime.fromisoformat(str(raw))
    except ValueError:
        return None
    if when.tzinfo is None:
        try:
            when = when.replace(tzinfo=ZoneInfo(info.get("ConversationLocation") or "UTC"))
        except (ZoneInfoNotFoundError, ValueError):
            when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC)


def _float(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None
