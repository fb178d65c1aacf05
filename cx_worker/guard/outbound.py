"""Checks on the way out: after-call work is rejected when it quotes the system prompt, carries another contact's
identifiers, or repeats what an instruction injected in the transcript told it to write (see `inbound` for what
is taken out on the way in). A rejected answer is quarantined, not repaired.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Container, Iterable, Mapping, Sequence
from typing import Any

from cx_worker.models import Interaction

# Output checks ------------------------------------------------------------------------------------------------

_WORDS = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
_QUOTE_WORDS = 8  # an 8-word run shared with the system prompt is a quote, not a coincidence
# Identifier-like tokens: at least 5 characters with a digit (order, account, member, ticket numbers, ids).
_IDENTIFIER = re.compile(r"(?<![\w-])(?=[\w-]*\d)[A-Za-z0-9][\w-]{4,}(?![\w-])")
_PLACEHOLDER = re.compile(r"^[A-Z]+_\d+$")
_NUMBER = re.compile(r"\d[\d,.]*\d|\d")  # amounts and numbers: "$200" -> "200", "1,250.00"
_CODE_LINE = re.compile(r"^\s*-\s*[a-z0-9_]+:\s")  # "  - refund_or_credit: ..." in the disposition list


def _shingles(text: str, n: int = _QUOTE_WORDS) -> set[tuple[str, ...]]:
    words = _WORDS.findall(text.lower())
    return {tuple(words[i:i + n]) for i in range(len(words) - n + 1)}


def system_prompt_quote(output: str, *, system_prompt: str, transcript: str = "") -> str | None:
    """A run of 8 words the output shares with the system prompt's instructions (not with the transcript), or None.

    The disposition list is left out: a summary may well describe the contact in a code's own words.
    """
    instructions = "\n".join(line for line in system_prompt.splitlines() if not _CODE_LINE.match(line))
    shared = (_shingles(output) & _shingles(instructions)) - _shingles(transcript)
    return " ".join(min(shared)) if shared else None


def identifiers(interaction: Interaction) -> set[str]:
    """What identifies a contact and its customer: ids and identifier-like codes in its transcript (upper-cased)."""
    found = {interaction.id.upper()}
    if interaction.customer_id:
        found.add(interaction.customer_id.upper())
    for turn in interaction.turns:
        found.update(m.upper() for m in _IDENTIFIER.findall(turn.text))
    return {f for f in found if len(f) >= 5 and not _PLACEHOLDER.match(f)}


def foreign_identifiers(output: str, *, own: Container[str], known: Container[str]) -> list[str]:
    """Identifier-like tokens of `output` that belong to another contact (in `known`, not in `own`)."""
    tokens = {m.upper() for m in _IDENTIFIER.findall(output)}
    return sorted(t for t in tokens if t in known and t not in own)


def output_text(work: Mapping[str, Any]) -> str:
    """Every free-text field of an after-call work answer, one per line."""
    parts: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, str):
            parts.append(value)
        elif isinstance(value, Mapping):
            for v in value.values():
                walk(v)
        elif isinstance(value, (list, tuple)):
            for v in value:
                walk(v)

    walk(work)
    return "\n".join(parts)


def follows_injection(output: str, *, injected: Sequence[str], rest: str) -> str | None:
    """What the output took from injected instructions and nowhere else in the transcript: a run of 4 words ("the
    agent was an incompetent idiot") or an amount or number ("$200"). None if nothing."""
    if not injected:
        return None
    told = " ".join(injected)
    shared = (_shingles(output, 4) & _shingles(told, 4)) - _shingles(rest, 4)
    if shared:
        return " ".join(min(shared))
    numbers = set(_NUMBER.findall(told)) - set(_NUMBER.findall(rest))
    found = sorted(n for n in numbers if n in set(_NUMBER.findall(output)))
    return found[0] if found else None


def check_output(
    work: Mapping[str, Any], *, system_prompt: str, transcript: str, own: Container[str] = frozenset(),
    known: Container[str] = frozenset(), injected: Sequence[str] = (), rest: str = "",
) -> str | None:
    """Why this after-call work must not be used, or None when it passes: it quotes the system prompt, holds
    another contact's identifiers, or repeats what an instruction injected in the transcript told it to write
    (`injected`: the text `neutralise` took out; `rest`: the transcript without it)."""
    text = output_text(work)
    quote = system_prompt_quote(text, system_prompt=system_prompt, transcript=transcript)
    if quote:
        return f"output quotes the system prompt: {quote!r}"
    foreign = foreign_identifiers(text, own=own, known=known)
    if foreign:
        return f"output holds identifiers of other contacts: {', '.join(foreign[:5])}"
    followed = follows_injection(text, injected=injected, rest=rest)
    if followed:
        return f"output follows an instruction injected in the transcript: {followed!r}"
    return None


def batch_identifiers(interactions: Iterable[Interaction]) -> tuple[dict[str, set[str]], set[str]]:
    """Each contact's identifiers by id, and those that identify exactly one contact of the batch.

    A token in two or more transcripts ("COVID-19", a shared date) identifies nobody, so it is never "foreign".
    """
    own = {i.id: identifiers(i) for i in interactions}
    seen = Counter(token for tokens in own.values() for token in tokens)
    return own, {token for token, n in seen.items() if n == 1}
