"""Checks on the way out: after-call work is rejected when it quotes the system prompt, carries another contact's
identifiers, or repeats what an instruction injected in the transcript told it to write (see `inbound` for what
is taken out on the way in). A rejected answer is quarantined, not repaired.

Every check compares readings (`normalise.readings`): the answer, the transcript and the injected text folded
(lookalikes, full width, zero-width characters, accents) and decoded (base64, ROT13), so an answer cannot hide a
quote or an identifier in another spelling, and an instruction written in base64 or in French still counts as what
the customer asked. An injection's asks are followed when the answer repeats a 4-word run of it, a number or an
identifier found only in it, the outcome it asked for (its words in any of eight languages, `languages`) or the
disposition code it named, and the rest of the transcript does not say the same.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Container, Iterable, Mapping, Sequence
from typing import Any

from cx_worker.guard.languages import NEGATION, OUTCOME_WORDS
from cx_worker.guard.normalise import fold, readings
from cx_worker.models import Interaction

# Output checks ------------------------------------------------------------------------------------------------

_WORDS = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
_QUOTE_WORDS = 8  # an 8-word run shared with the system prompt is a quote, not a coincidence
# Identifier-like tokens: at least 5 characters with a digit (order, account, member, ticket numbers, ids).
_IDENTIFIER = re.compile(r"(?<![\w-])(?=[\w-]*\d)[A-Za-z0-9][\w-]{4,}(?![\w-])")
_PLACEHOLDER = re.compile(r"^[A-Z]+_\d+$")
_NUMBER = re.compile(r"\d[\d,.]*\d|\d")  # amounts and numbers: "$200" -> "200", "1,250.00"
_CODE_LINE = re.compile(r"^\s*-\s*[a-z0-9_]+:\s")  # "  - refund_or_credit: ..." in the disposition list
_OUTCOMES = {label: re.compile(rf"\b({words})\b", re.IGNORECASE) for label, words in OUTCOME_WORDS.items()}


def _shingles(text: str, n: int = _QUOTE_WORDS) -> set[tuple[str, ...]]:
    words = _WORDS.findall(text.lower())
    return {tuple(words[i:i + n]) for i in range(len(words) - n + 1)}


def system_prompt_quote(output: str, *, system_prompt: str, transcript: str = "") -> str | None:
    """A run of 8 words the output shares with the system prompt's instructions (not with the transcript), or None.

    The disposition list is left out: a summary may well describe the contact in a code's own words.
    """
    instructions = "\n".join(line for line in system_prompt.splitlines() if not _CODE_LINE.match(line))
    quoted = set().union(*(_shingles(r) for r in readings(output)))
    shared = (quoted & _shingles(fold(instructions))) - _shingles(fold(transcript))
    return " ".join(min(shared)) if shared else None


def identifiers(interaction: Interaction) -> set[str]:
    """What identifies a contact and its customer: ids and identifier-like codes in its transcript (upper-cased)."""
    found = {interaction.id.upper()}
    if interaction.customer_id:
        found.add(interaction.customer_id.upper())
    for turn in interaction.turns:
        found.update(m.upper() for m in _IDENTIFIER.findall(fold(turn.text)))
    return {f for f in found if len(f) >= 5 and not _PLACEHOLDER.match(f)}


def foreign_identifiers(output: str, *, own: Container[str], known: Container[str]) -> list[str]:
    """Identifier-like tokens of `output` that belong to another contact (in `known`, not in `own`)."""
    tokens = {m.upper() for reading in readings(output) for m in _IDENTIFIER.findall(reading)}
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


def follows_injection(output: str, *, injected: Sequence[str], rest: str, disposition: str | None = None
                      ) -> str | None:
    """What the output took from injected instructions and nowhere else in the transcript: a run of 4 words ("the
    agent was an incompetent idiot"), an amount or number ("$200"), an identifier, an outcome the injection asked
    for in any of eight languages ("marquez-le comme résolu" -> "resolved"), or the disposition code it named
    (`disposition`: the answer's). The injected text is read folded and decoded (base64, ROT13). None if nothing."""
    if not injected:
        return None
    told = "\n".join(r for text in injected for r in readings(text))
    rest = fold(rest)
    said = readings(output)
    shared = set().union(*(_shingles(r, 4) for r in said)) & _shingles(told, 4) - _shingles(rest, 4)
    if shared:
        return " ".join(min(shared))
    written = {n for r in said for n in _NUMBER.findall(r)}
    numbers = sorted(n for n in set(_NUMBER.findall(told)) - set(_NUMBER.findall(rest)) if n in written)
    if numbers:
        return numbers[0]
    codes = {m.upper() for r in said for m in _IDENTIFIER.findall(r)}
    foreign = sorted(c for c in {m.upper() for m in _IDENTIFIER.findall(told)} - {m.upper() for m in
                     _IDENTIFIER.findall(rest)} if c in codes and not _PLACEHOLDER.match(c))
    if foreign:
        return foreign[0]
    if disposition and _names_code(told, disposition) and not _names_code(rest, disposition):
        return disposition
    for label, words in _OUTCOMES.items():
        if words.search(told) and not words.search(rest):
            used = next((m.group(0) for r in said for m in words.finditer(r)
                         if not NEGATION.search(r[max(0, m.start() - 40):m.start()])), None)
            if used:
                return f"{used} ({label})"
    return None


def _names_code(text: str, code: str) -> bool:
    """Whether `text` names a disposition code ("refund_or_credit", "refund or credit")."""
    words = r"[\s_-]+".join(map(re.escape, re.split(r"[\s_-]+", code.strip())))
    return bool(words) and re.search(rf"(?<![a-z0-9]){words}(?![a-z0-9])", text, re.IGNORECASE) is not None


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
    disposition = work.get("disposition") if isinstance(work.get("disposition"), str) else None
    followed = follows_injection(text, injected=injected, rest=rest, disposition=disposition)
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
