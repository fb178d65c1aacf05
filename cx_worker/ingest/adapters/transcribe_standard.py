"""Amazon Transcribe standard batch output (`StartTranscriptionJob`) with speaker diarization or channel identification.

The JSON a plain batch job writes (`jobName`, `results.transcripts`, `results.items`), not Call Analytics output
(`transcribe`). Structure, generations and the turn rule: tests/fixtures/formats/TRANSCRIBE_STANDARD.md.

Turns come from `results.audio_segments` when the file has them (newer outputs), else one per
`speaker_labels.segments` entry, else from `channel_labels` merged by time (a new turn when the channel changes or
pauses 2.0 s or more). A punctuation item joins the word before it. Consecutive turns of one speaker stay separate.

Who is the agent? The file never says; the rule applied is recorded in `metadata["amazon_transcribe_standard"]`:

- **Speaker diarization** (`spk_0`, `spk_1`, ...): the speaker of the first utterance is the agent, every other
  label the customer (inbound calls open with the agent's greeting). For outbound or IVR-first recordings, set
  `CX_TRANSCRIBE_FIRST_SPEAKER=customer` (AWS's own diarization example opens with the customer). With three or
  more labels (a transfer, a supervisor, or diarization splitting one voice) every label but the first gets the
  second role, and a warning is kept in the metadata.
- **Channel identification** (`ch_0`, `ch_1`): `ch_0` is the agent by default, whoever speaks first; this is AWS's
  own convention in its Call Analytics channel examples. Amazon Connect recordings are the other way round: Connect
  stores the agent in the right channel and the customer in the left, so for Connect recordings set
  `CX_TRANSCRIBE_AGENT_CHANNEL=ch_1` (assuming, as AWS implies but does not state, that `ch_0` is the left
  channel). Set it once per recording source rather than trust the default.

Rejected with a reason, not guessed: a file with neither `speaker_labels` nor `channel_labels` (a mono job without
diarization cannot tell the agent from the customer), a file with no words, per-channel `speaker_labels` without
`channel_labels`. A file with both features (per-channel `speaker_labels` next to `channel_labels`, as in AWS's
"Arrange your transcripts into paragraphs" blog post) is read by its channels.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from cx_worker.ingest.adapters.base import Failed, Parsed, build, file_id, language, turn

NAME = "amazon_transcribe_standard"
PAUSE = 2.0  # seconds of silence on one channel that start a new turn (AWS's sample reader uses the same)
NO_LABELS = "no speaker_labels or channel_labels: cannot tell agent from customer"
FIRST_SPEAKER_ROLES = ("agent", "customer")


@dataclass
class _Word:
    text: str
    start: float | None
    end: float | None
    label: str | None = None


def matches(obj: Any) -> bool:
    """A standard Transcribe output: `results` holding `transcripts` and `items` (TCA and Contact Lens have none)."""
    results = obj.get("results") if isinstance(obj, dict) else None
    return (isinstance(results, dict) and isinstance(results.get("transcripts"), list)
            and isinstance(results.get("items"), list) and "Transcript" not in obj)


def parse(obj: dict[str, Any], *, name: str, data: bytes, first_speaker: str = "agent",
          agent_channel: str = "ch_0") -> Iterator[Parsed | Failed]:
    """Yield the one call of a standard Transcribe output file.

    Args:
        first_speaker: role of the first speaker of a diarized file, "agent" or "customer".
        agent_channel: the channel label of the agent in a channel-identification file, e.g. "ch_0" or "ch_1".
    """
    if first_speaker not in FIRST_SPEAKER_ROLES:
        raise ValueError(f"first_speaker must be 'agent' or 'customer', not {first_speaker!r}")
    contact_id = str(obj.get("jobName") or "").strip() or file_id(name, data)
    origin = f"{name}#{contact_id}"
    results = obj["results"]
    speaker_labels, channel_labels = results.get("speaker_labels"), results.get("channel_labels")
    if isinstance(channel_labels, dict):
        mode = "channels"
    elif isinstance(speaker_labels, dict):
        mode = "speakers"
    elif isinstance(speaker_labels, list):
        yield Failed(origin, "speaker_labels per channel without channel_labels: unsupported", contact_id)
        return
    else:
        yield Failed(origin, NO_LABELS, contact_id)
        return
    try:
        utterances, source = _utterances(results, mode)
        if not utterances:
            raise ValueError("empty transcript: Transcribe found no words in the recording")
        if mode == "channels":
            roles, rule, count = _channel_roles(channel_labels, utterances, agent_channel)
        else:
            roles, rule, count = _speaker_roles(speaker_labels, utterances, first_speaker)
        words = [i for i in results["items"] if isinstance(i, dict) and i.get("type") == "pronunciation"]
        ends = [e for e in (_seconds(i.get("end_time"), "end_time") for i in words) if e is not None]
    except ValueError as exc:
        yield Failed(origin, str(exc), contact_id)
        return
    warnings = []
    if len(roles) > 2:
        warnings.append(f"{len(roles)} {mode} ({', '.join(roles)}): only two roles, so {rule} is a guess for the "
                        "others")
    if mode == "channels" and isinstance(speaker_labels, list):
        warnings.append("per-channel speaker_labels ignored: read by channel identification")
    turns = [turn(roles[label], text) for label, text in utterances]
    confidences = [c for c in (_confidence(i) for i in words) if c is not None]
    vendor = {
        "labelling": mode,
        mode: count,
        "roles": roles,
        "role_rule": rule,
        "turns_from": source,
        "mean_confidence": round(sum(confidences) / len(confidences), 4) if confidences else None,
        "duration_s": max(ends, default=None),  # end of the last word: the file does not give the audio's length
        "vendor_redacted": any("[PII]" in t.text for t in turns),
        "warnings": warnings,
    }
    yield build(origin, id=contact_id, channel="voice", language=language(_language_code(results)), turns=turns,
                metadata={"source": NAME, "source_file": name, NAME: vendor})


def _channel_roles(channel_labels: dict[str, Any], utterances: list[tuple[str, str]],
                   agent_channel: str) -> tuple[dict[str, str], str, int]:
    labels = [str(c.get("channel_label")) for c in _list(channel_labels.get("channels")) if isinstance(c, dict)]
    labels += sorted({label for label, _ in utterances} - set(labels))
    if agent_channel not in labels:
        raise ValueError(f"agent channel {agent_channel!r} is not one of the file's channels {', '.join(labels)}: "
                         "set transcribe_agent_channel")
    roles = {label: "agent" if label == agent_channel else "customer" for label in labels}
    return roles, f"{agent_channel}=agent", _count(channel_labels.get("number_of_channels"), len(labels))


def _speaker_roles(speaker_labels: dict[str, Any], utterances: list[tuple[str, str]],
                   first_speaker: str) -> tuple[dict[str, str], str, int]:
    first, other = utterances[0][0], "customer" if first_speaker == "agent" else "agent"
    roles = {label: first_speaker if label == first else other for label, _ in utterances}
    return roles, f"first_speaker={first_speaker}", _count(speaker_labels.get("speakers"), len(roles))


def _utterances(results: dict[str, Any], mode: str) -> tuple[list[tuple[str, str]], str]:
    """(label, text) per utterance, and which part of the file they came from."""
    key = "speaker_label" if mode == "speakers" else "channel_label"
    segments = results.get("audio_segments")
    if isinstance(segments, list) and segments and all(isinstance(s, dict) and s.get(key) for s in segments):
        return [(str(s[key]), str(s.get("transcript") or "").strip()) for s in segments
                if str(s.get("transcript") or "").strip()], "audio_segments"
    if mode == "speakers":
        return _diarized(results), "speaker_labels"
    return _by_channel(results["channel_labels"]), "channel_labels"


def _diarized(results: dict[str, Any]) -> list[tuple[str, str]]:
    """One utterance per speaker segment; a word belongs to the segment that lists its start and end time."""
    owner: dict[tuple[float | None, float | None], int] = {}
    segments = [s for s in _list(results["speaker_labels"].get("segments")) if isinstance(s, dict)
                and _list(s.get("items"))]
    for n, segment in enumerate(segments):
        if not segment.get("speaker_label"):
            raise ValueError(f"speaker segment at {segment.get('start_time')} s has no speaker_label")
        for item in segment["items"]:
            if isinstance(item, dict):
                owner.setdefault(_span(item), n)
    words = _words(results["items"])
    if words and not segments:
        raise ValueError(f"speaker_labels has no segments for the {len(words)} words: cannot tell who said them")
    pieces: list[list[_Word]] = [[] for _ in segments]
    current = 0
    for word in words:
        # A word no segment lists (not seen in real files) stays with the utterance before it.
        current = owner.get((word.start, word.end), current)
        pieces[current].append(word)
    return [(str(s["speaker_label"]), " ".join(w.text for w in ws)) for s, ws in zip(segments, pieces, strict=True)
            if ws]


def _by_channel(channel_labels: dict[str, Any]) -> list[tuple[str, str]]:
    """Every channel's words merged by start time; a new utterance on a change of channel or a pause of PAUSE s."""
    words = []
    for channel in _list(channel_labels.get("channels")):
        if not isinstance(channel, dict):
            continue
        label = str(channel.get("channel_label"))
        for word in _words(_list(channel.get("items"))):
            if word.start is None:
                raise ValueError(f"channel {label}: word {word.text!r} has no start_time")
            word.label = label
            words.append(word)
    words.sort(key=lambda w: (w.start, w.label))  # ties: ch_0 first
    utterances: list[tuple[str, list[_Word]]] = []
    for word in words:
        if utterances and utterances[-1][0] == word.label and \
                round(word.start - (utterances[-1][1][-1].end or word.start), 3) < PAUSE:
            utterances[-1][1].append(word)
        else:
            utterances.append((word.label, [word]))
    return [(label, " ".join(w.text for w in ws)) for label, ws in utterances]


def _words(items: list[Any]) -> list[_Word]:
    """Pronunciation items as words, each with the punctuation that follows it attached (`Sure` `,` -> `Sure,`)."""
    words: list[_Word] = []
    for item in items:
        if not isinstance(item, dict):
            continue
        content = str(_best(item).get("content") or "").strip()
        if item.get("type") == "punctuation":
            if words and content:
                words[-1].text += content
        elif content:
            start, end = _span(item)
            words.append(_Word(content, start, end))
    return words


def _span(item: dict[str, Any]) -> tuple[float | None, float | None]:
    return _seconds(item.get("start_time"), "start_time"), _seconds(item.get("end_time"), "end_time")


def _seconds(value: Any, key: str) -> float | None:
    if value is None or value == "":
        return None
    try:
        return round(float(value), 3)
    except (TypeError, ValueError):
        raise ValueError(f"{key} {str(value)[:20]!r} is not a number of seconds") from None


def _confidence(item: dict[str, Any]) -> float | None:
    try:
        return float(_best(item).get("confidence"))
    except (TypeError, ValueError):
        return None


def _best(item: dict[str, Any]) -> dict[str, Any]:
    """The first (best) alternative of an item; {} when the item has none."""
    alternatives = item.get("alternatives")
    first = alternatives[0] if isinstance(alternatives, list) and alternatives else None
    return first if isinstance(first, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _count(value: Any, default: int) -> int:
    return value if isinstance(value, int) and value > 0 else default


def _language_code(results: dict[str, Any]) -> str | None:
    """The job's language: identified (single or multi-language identification) or, failing that, the items'."""
    if isinstance(results.get("language_code"), str) and results["language_code"]:
        return results["language_code"]
    identified = [c for c in _list(results.get("language_identification")) if isinstance(c, dict)
                  and isinstance(c.get("code"), str)]
    if identified:
        return max(identified, key=lambda c: _number(c.get("score")))["code"]
    spoken = [c for c in _list(results.get("language_codes")) if isinstance(c, dict)
              and isinstance(c.get("language_code"), str)]
    if spoken:
        return max(spoken, key=lambda c: _number(c.get("duration_in_seconds")))["language_code"]
    codes = Counter(i["language_code"] for i in results["items"] if isinstance(i, dict)
                    and isinstance(i.get("language_code"), str))
    return codes.most_common(1)[0][0] if codes else None


def _number(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0
