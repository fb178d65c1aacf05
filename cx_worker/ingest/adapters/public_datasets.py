"""The public research datasets the bundled contacts come from: TweetSumm dialogs and ABCD chats.

Conversion is `cx_worker.ingest.datasets`' (the same code that built `data/contacts`): labels and human summaries never
travel with a contact, and ABCD's `ACT:` lines (the agent's logged system actions, which give its outcome label
away) never become turns. Three ABCD shapes are read: the dev split `[[text, subflow], ...]`, an index-keyed object
of those pairs, and the full official schema (`original` as `[role, text]` with role `action` for ACT lines).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pydantic import ValidationError

from cx_worker.ingest.adapters.base import Failed, Parsed
from cx_worker.ingest.datasets import abcd_to_interaction, tweetsumm_to_interaction

TWEETSUMM = "tweetsumm"
ABCD = "abcd"
_PREFIX = {"agent": "SYS:", "customer": "USR:", "action": "ACT:"}


def matches_tweetsumm(first: Any) -> bool:
    """A TweetSumm line: conversation_id, turns with role, and human summaries."""
    return isinstance(first, dict) and {"conversation_id", "turns"} <= first.keys() and all(
        isinstance(t, dict) and "role" in t for t in first["turns"][:3])


def parse_tweetsumm(lines: list[tuple[int, Any]], *, name: str) -> Iterator[Parsed | Failed]:
    """Yield one interaction per (line number, object) of a TweetSumm JSONL file."""
    for index, (line_no, obj) in enumerate(lines):
        origin = f"{name}:{line_no}"
        if isinstance(obj, dict) and "_error" in obj:
            yield Failed(origin, obj["_error"])
            continue
        try:
            interaction, _label, _why = tweetsumm_to_interaction({"abstractive_summaries": [], **obj}, index=index)
        except (KeyError, TypeError, ValueError, ValidationError) as exc:
            yield Failed(origin, f"invalid TweetSumm dialog: {_short(exc)}",
                         f"tweetsumm-{obj.get('conversation_id')}" if isinstance(obj, dict) else None)
            continue
        # TweetSumm is mostly but not only English (Spanish, Indonesian dialogs): detect, do not assume.
        yield Parsed(interaction.model_copy(update={"language": None,
                                                    "metadata": interaction.metadata | {"source_file": name}}), origin)


def matches_abcd(obj: Any) -> bool:
    """Any of ABCD's three shapes."""
    items = list(obj.values()) if isinstance(obj, dict) else obj if isinstance(obj, list) else []
    if not items:
        return False
    head = items[0]
    if isinstance(head, dict):
        return "original" in head and ("convo_id" in head or "scenario" in head)
    return (isinstance(head, list) and len(head) == 2 and isinstance(head[0], str)
            and head[0].lstrip().startswith(("SYS:", "USR:", "ACT:")))


def parse_abcd(obj: Any, *, name: str) -> Iterator[Parsed | Failed]:
    """Yield the chats of an ABCD file, ACT lines dropped from the turns."""
    pairs = obj.items() if isinstance(obj, dict) else enumerate(obj)
    for key, item in pairs:
        origin = f"{name}#{key}"
        try:
            if isinstance(item, dict):
                yield _full(item, name=name, origin=origin)
                continue
            text, subflow = item
            interaction, _label, _why = abcd_to_interaction(text, subflow, index=int(key), flows={})
        except (KeyError, TypeError, ValueError, ValidationError) as exc:
            yield Failed(origin, f"invalid ABCD chat: {_short(exc)}")
            continue
        yield Parsed(interaction.model_copy(update={"metadata": interaction.metadata | {"source_file": name}}), origin)


def _full(item: dict[str, Any], *, name: str, origin: str) -> Parsed | Failed:
    text = "\n".join(_PREFIX[role] + " ".join(str(line).split()) for role, line in item["original"] if role in _PREFIX)
    scenario = item.get("scenario") or {}
    convo = item.get("convo_id")
    interaction, _label, _why = abcd_to_interaction(text, scenario.get("subflow", ""), index=int(convo or 0),
                                                    flows={scenario.get("subflow", ""): scenario.get("flow")})
    metadata = interaction.metadata | {"source_file": name, "convo_id": convo}
    personal = scenario.get("personal") or {}
    if personal.get("customer_name"):
        metadata["customer_name"] = personal["customer_name"]  # used by redaction, then replaced by a placeholder
    return Parsed(interaction.model_copy(update={"id": f"abcd-{convo}", "metadata": metadata}), origin)


def _short(exc: Exception) -> str:
    return f"{type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''}"
