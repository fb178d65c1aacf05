"""Redaction: personal data is replaced by typed placeholders before anything reaches the LLM.

Structured PII (e-mail, phone, card, IBAN, bank account, national id, passport, date of birth, postal address) is
found by `cx_worker.redaction.detectors`, each turn read with the turn before it (the question it answers); the
customer's own name is learnt from the contact itself — the source's `metadata["customer_name"]`, the customer
saying "my name is …" / "I'm …" / "Name: …" or answering the agent's request for their name, the agent addressing
them ("thank you, Joyce", "Mr. Doe") — and then replaced wherever it occurs. Placeholders are consistent within a
contact (the same email is `[EMAIL_1]` in every turn; "Joyce", "Joyce Wu" and "Wu" are all `[NAME_1]`), so the
summary stays readable. The original values are never stored or returned: only counts per type.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from cx_worker.models import Interaction, Turn
from cx_worker.redaction.detectors import KINDS, Span, detect, luhn_ok

__all__ = ["KINDS", "Redactor", "customer_names", "find_pii", "luhn_ok", "redact_interaction", "turn_prompts"]

# Capitalised words that follow "I'm" / "thank you," and are not names. Lower-case, compared lower-cased.
_NOT_NAMES = frozenset("""
a about after again all also always am an and any are as at away back bad be because been before being best better
both busy but by calling can cannot checking confused could currently dear did do does doing done down each
either else even ever every excited fine for from frustrated full getting glad go going good got great had happy has
have having he hello help her here hey hi him his hoping how however i if in interested is it its just kind last
let like looking lost may maybe me mine more most mr mrs ms much must my need new next no not now of off ok okay
on once one only or other our out over perfect please pleased pretty quite ready really right same see she should
since so some sorry still such sure than thank thanks that the their them then there these they this those though
through to today tomorrow too trying unable under until up upset us very wanting was we well were what when where
which while who why will with wondering would yes yet you your yours actually afraid also anyway contacting writing
customer member user account order yesterday morning afternoon evening monday tuesday wednesday thursday friday
saturday sunday january february march april june july august september october november december
enjoy apologies apology appreciate alright absolutely certainly unfortunately fantastic awesome wonderful excellent
cheers regards best sir madam there team everyone folks guys again
""".split())
_WORD = r"[A-Z][a-zA-Z'’-]*[a-z]"  # Joyce, O'Neill, McDonald, Smith-Jones
_NAME = rf"{_WORD}(?:[ ](?:{_WORD}|[A-Z]\.)){{0,2}}"
# Customer saying who they are. The name itself must be capitalised, but "my name is" may be any case.
_SELF = re.compile(rf"(?i:\bmy\s+(?:full\s+|first\s+|last\s+)?name(?:'s|\s+is)|\bname\s*:|\blast\s+name(?:\s+is)?"
                   rf"|\bsurname(?:\s+is)?)\s+(?P<any>(?i:[a-z][a-z'’-]+(?:[ ][a-z][a-z'’-]+){{0,2}}))"
                   rf"|(?i:\bthis\s+is|\bi'?m|\bi\s+am|\bit'?s|\bcall\s+me)\s+(?P<name>{_NAME})")
# The agent addressing the customer.
_ADDRESSED = re.compile(rf"(?i:\b(?:thanks?|thank\s+you(?:\s+so\s+much)?|hi|hello|hey|dear|sorry|welcome|great"
                        rf"|perfect|ok(?:ay)?)\b)[,!]?\s+(?P<name>{_WORD})\b"
                        rf"|\b(?:Mr|Mrs|Ms|Miss|Dr)\.?\s+(?P<title>{_WORD})"
                        rf"|(?:,|\byou|\bwith)\s+(?P<end>{_WORD})\s*[?!.]*\s*$")
_ASKS_NAME = re.compile(r"(?i)\b(?:your|the)\s+(?:full\s+)?name\b|\bwho\s+am\s+i\s+speaking")
_BARE_NAME = re.compile(r"^\s*(?i:name\s*:|it'?s|i'?m|this\s+is)?\s*"
                        r"(?P<name>[A-Za-z][a-zA-Z'’-]*[a-z](?:\s+[A-Za-z][a-zA-Z'’-]*[a-z]){1,2})\s*[.!]?\s*$")


_CONTRACTION = re.compile(r"['’](?:m|s|ve|ll|d|re|t)$", re.IGNORECASE)


def _not_name(word: str) -> bool:
    return word.lower().strip(".") in _NOT_NAMES or bool(_CONTRACTION.search(word))


def _is_name(candidate: str) -> bool:
    words = candidate.split()
    return bool(words) and not _not_name(words[0]) and all(len(w) > 1 or w.endswith(".") for w in words)


def _trim(candidate: str) -> str:
    # "Joyce Wu And" -> "Joyce Wu": stop at the first word that is not a name.
    kept = []
    for word in candidate.split():
        if _not_name(word):
            break
        kept.append(word)
    return " ".join(kept)


def customer_names(interaction: Interaction) -> list[str]:
    """The customer's names as the contact reveals them (metadata, self-introduction, the agent's address)."""
    names: list[str] = []
    known = interaction.metadata.get("customer_name")
    if isinstance(known, str) and known.strip() and known.strip() != "[PII]":
        names.append(" ".join(known.split()))
    previous_agent = ""
    for turn in interaction.turns:
        if turn.speaker == "customer":
            found = [(m.group("any") or "").title() or m.group("name") for m in _SELF.finditer(turn.text)]
            bare = _BARE_NAME.match(turn.text) if _ASKS_NAME.search(previous_agent) else None
            if bare and not any(_not_name(w) for w in bare.group("name").split()):
                found.append(bare.group("name").title())
            found = [n for n in map(_trim, found) if _is_name(n)]
            if len(found) > 1 and all(" " not in n for n in found):
                found = [" ".join(found)]  # "my first name is John and last name is Doe": one person
            names.extend(found)
        elif turn.speaker == "agent":
            previous_agent = turn.text
            for m in _ADDRESSED.finditer(turn.text):
                name = m.group("name") or m.group("title") or m.group("end")
                if _is_name(name):
                    names.append(name)
    return list(dict.fromkeys(names))


@dataclass
class Redactor:
    """Redacts one contact; keeps placeholders consistent across its turns.

    Args:
        names: the customer's names (e.g. from `customer_names`); every word of a name (but titles and initials)
            is replaced wherever it occurs, by the placeholder of the first name it belongs to.
        regions: ISO 3166 codes of the regions whose national phone formats to read (None: the default regions).
    """

    names: list[str] = field(default_factory=list)
    regions: tuple[str, ...] | None = None
    _seen: dict[tuple[str, str], str] = field(default_factory=dict)
    counts: Counter = field(default_factory=Counter)

    def __post_init__(self) -> None:
        words: dict[str, str] = {}
        for name in self.names:
            person = next((words[w.lower()] for w in name.split() if w.lower() in words), name.lower())
            for w in [name, *name.split()]:
                if len(w.strip(".")) > 1 and not _not_name(w):
                    words.setdefault(w.lower(), person)
        self._name_of = words
        ordered = sorted(words, key=len, reverse=True)  # "joyce wu" before "joyce"
        self._names = re.compile(r"(?i)(?<![\w\[])(?:" + "|".join(map(re.escape, ordered)) + r")(?![\w\]])") \
            if ordered else None

    def _placeholder(self, kind: str, value: str) -> str:
        key = (kind, re.sub(r"\D", "", value) if kind in ("CARD", "PHONE") else
               re.sub(r"[\s.-]", "", value).lower() if kind in ("IBAN", "NATIONAL_ID", "PASSPORT", "ACCOUNT") else
               value.lower())
        if key not in self._seen:
            self.counts[kind] += 1
            self._seen[key] = f"[{kind}_{self.counts[kind]}]"
        return self._seen[key]

    def spans(self, text: str, *, prompt: str = "") -> list[Span]:
        """What `text` would replace: structured PII, then the customer's names outside those.

        Args:
            prompt: the turn `text` answers ("And your date of birth?"), read as context.
        """
        found = detect(text, regions=self.regions, prompt=prompt)
        if self._names is not None:
            found += [Span("NAME", m.start(), m.end(), m.group(0)) for m in self._names.finditer(text)
                      if not any(s.start < m.end() and m.start() < s.end for s in found)]
        return sorted(found, key=lambda s: s.start)

    def text(self, text: str, *, prompt: str = "") -> str:
        """Redact one string (`prompt`: the turn it answers, if any)."""
        for span in reversed(self.spans(text, prompt=prompt)):
            value = self._name_of[span.value.lower()] if span.kind == "NAME" else span.value
            text = text[:span.start] + self._placeholder(span.kind, value) + text[span.end:]
        return text

    def value(self, value: Any) -> Any:
        """Redact every string inside a JSON-like value (vendor metadata)."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, list):
            return [self.value(v) for v in value]
        if isinstance(value, dict):
            return {k: self.value(v) for k, v in value.items()}
        return value


def turn_prompts(turns: list[Turn]) -> list[str]:
    """For each turn, the turn before it (what it answers), or "" for the first."""
    return [""] + [t.text for t in turns[:-1]]


def redact_interaction(interaction: Interaction, *, regions: tuple[str, ...] | None = None
                       ) -> tuple[Interaction, dict[str, int]]:
    """Return a copy of `interaction` with personal data in its turns and metadata replaced, and counts per type.

    Args:
        regions: ISO 3166 codes of the regions the centre serves, whose national phone formats are read, most
            likely first (None: `DEFAULT_REGIONS`; `parse_regions` reads the `pii_regions` setting).
    """
    redactor = Redactor(names=customer_names(interaction), regions=regions)
    turns = [Turn(speaker=t.speaker, text=redactor.text(t.text, prompt=prompt), ts=t.ts)
             for t, prompt in zip(interaction.turns, turn_prompts(interaction.turns))]
    metadata = interaction.metadata
    if any(isinstance(v, dict | list) or k == "customer_name" for k, v in metadata.items()):
        metadata = {k: (redactor.value(v) if isinstance(v, dict | list) else
                        redactor.text(v) if k == "customer_name" and isinstance(v, str) else v)
                    for k, v in metadata.items()}
    return interaction.model_copy(update={"turns": turns, "metadata": metadata}), dict(redactor.counts)


def find_pii(text: str, *, regions: tuple[str, ...] | None = None) -> list[tuple[str, str]]:
    """Every (type, value) of structured personal data still present in `text`; used by the leakage eval."""
    return [(s.kind, s.value) for s in detect(text, regions=regions)]
