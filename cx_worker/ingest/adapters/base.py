"""What every adapter returns, and the small parsing helpers they share.

An adapter turns one vendor export into canonical `Interaction`s. It never raises for one bad record: a record it
cannot convert is a `Failed` with the reason, so the rest of the file still goes through. Only a file that cannot
be read at all (not JSON, not UTF-8, an unknown shape) raises `UnreadableFile`, whose message names the file.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from cx_worker.models import Interaction, Turn

# Vendor role names, lower-cased, to our speakers. Anything else is an unknown speaker: the record is rejected.
SPEAKERS = {
    "customer": "customer", "caller": "customer", "client": "customer", "user": "customer", "external": "customer",
    "end_user": "customer", "consumer": "customer", "usr": "customer",
    "agent": "agent", "rep": "agent", "representative": "agent", "advisor": "agent", "internal": "agent",
    "supervisor": "agent", "sys": "agent", "brand": "agent",
    "bot": "bot", "custom_bot": "bot", "virtual_agent": "bot", "ivr": "bot", "chatbot": "bot",
    "system": "system",
}
CHANNELS = {"voice": "voice", "call": "voice", "callback": "voice", "phone": "voice", "chat": "chat",
            "webchat": "chat", "email": "email", "message": "messaging", "messaging": "messaging", "sms": "messaging",
            "social": "messaging", "twitter": "messaging"}


class UnreadableFile(ValueError):
    """A whole file could not be read; the message says which file and why."""


class UnknownSpeaker(ValueError):
    """A turn's speaker is not one we can map to customer, agent, bot or system."""


@dataclass(frozen=True)
class Parsed:
    """One interaction converted from a vendor record."""

    interaction: Interaction
    origin: str  # "file.json#record-id"


@dataclass(frozen=True)
class Failed:
    """A record that could not become an interaction, and why.

    `record` holds what could be kept of a record that is not bad but has no transcript (Genesys analytics
    details): `cx-worker ingest` writes those to a separate metadata-only output.
    """

    origin: str
    reason: str
    interaction_id: str | None = None
    record: dict[str, Any] | None = None


def speaker(role: Any) -> str:
    """Map a vendor role to a canonical speaker, or raise `UnknownSpeaker`."""
    key = re.sub(r"[\s-]+", "_", str(role or "").strip().lower())
    if key not in SPEAKERS:
        raise UnknownSpeaker(f"unknown speaker {role!r}")
    return SPEAKERS[key]


def channel(value: Any, default: str = "chat") -> str:
    """Map a vendor channel / media type to a canonical channel."""
    return CHANNELS.get(str(value or "").strip().lower(), default)


def timestamp(value: Any) -> datetime | None:
    """Parse an ISO 8601 time (or epoch milliseconds); None when missing. Raises ValueError when present but bad."""
    if value is None or value == "":
        return None
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value / 1000, tz=UTC)
    text = str(value).strip()
    if text.isdigit():
        return datetime.fromtimestamp(int(text) / 1000, tz=UTC)
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"timestamp {text[:40]!r} is not ISO 8601") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def language(code: Any) -> str | None:
    """'en-US' -> 'en': the primary subtag, which is what the CRM-language logic compares."""
    return str(code).split("-")[0].lower() if code else None


def file_id(name: str, data: bytes) -> str:
    """A stable id for a record whose export carries none: file stem plus a content hash."""
    stem = re.sub(r"\.[A-Za-z0-9]+$", "", name.rsplit("/", 1)[-1])
    return f"{stem[:120]}-{hashlib.sha256(data).hexdigest()[:10]}"


def build(origin: str, **fields: Any) -> Parsed | Failed:
    """Validate the fields into an `Interaction`, or say why not."""
    try:
        return Parsed(Interaction.model_validate(fields), origin)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'record'}: {e['msg']}" for e in exc.errors()[:5])
        return Failed(origin, f"invalid interaction: {problems}", str(fields.get("id") or "") or None)


def turn(speaker_role: Any, text: Any, ts: datetime | None = None) -> Turn:
    """One canonical turn; raises `UnknownSpeaker` for a role we do not know."""
    return Turn(speaker=speaker(speaker_role), text=str(text or "").strip(), ts=ts)
