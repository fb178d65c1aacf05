"""Redaction: personal data is replaced by typed placeholders before anything reaches the LLM.

Placeholders are consistent within a contact (the same email is `[EMAIL_1]` in every turn), so the summary stays
readable. The original values are never stored or returned: only counts per type.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from cx_worker.models import Interaction, Turn

_EMAIL = re.compile(r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}\b")
# 13-19 digits, optionally grouped by spaces or dashes; Luhn decides.
_CARD = re.compile(r"(?<![\d-])(?:\d[ -]?){12,18}\d(?![\d-])")
# North-American and international shapes: (791) 582-4288, 791-582-4288, +44 20 7946 0958, 07700 900123.
# Not part of a longer digit run (a card or account number split in groups is not a phone).
_PHONE = re.compile(
    r"(?<![\w+])(?<!\d[\s.-])(?:\+\d{1,3}[\s.-]?)?(?:\(\d{2,4}\)[\s.-]?|\d{2,4}[\s.-])\d{3,4}[\s.-]?\d{3,4}"
    r"(?![\s.-]?\d)(?!\w)"
    r"|(?<![\w+])\+\d{10,14}(?!\w)"
)

# Order matters: cards before phones (a card number also looks like a long phone number).
_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (("EMAIL", _EMAIL), ("CARD", _CARD), ("PHONE", _PHONE))


def luhn_ok(digits: str) -> bool:
    """True if the digit string passes the Luhn checksum (payment card numbers do)."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


@dataclass
class Redactor:
    """Redacts one contact; keeps placeholders consistent across its turns."""

    _seen: dict[tuple[str, str], str] = field(default_factory=dict)
    counts: Counter = field(default_factory=Counter)

    def _placeholder(self, kind: str, value: str) -> str:
        key = (kind, re.sub(r"\D", "", value) if kind in ("CARD", "PHONE") else value.lower())
        if key not in self._seen:
            self.counts[kind] += 1
            self._seen[key] = f"[{kind}_{self.counts[kind]}]"
        return self._seen[key]

    def text(self, text: str) -> str:
        """Redact one string."""
        for kind, pattern in _PATTERNS:
            text = pattern.sub(lambda m, k=kind: self._sub(k, m.group(0)), text)
        return text

    def _sub(self, kind: str, value: str) -> str:
        if kind == "CARD":
            digits = re.sub(r"\D", "", value)
            if not (13 <= len(digits) <= 19 and luhn_ok(digits)):
                return value
        return self._placeholder(kind, value)


def redact_interaction(interaction: Interaction) -> tuple[Interaction, dict[str, int]]:
    """Return a copy of `interaction` with personal data in its turns replaced, and counts per PII type."""
    redactor = Redactor()
    turns = [Turn(speaker=t.speaker, text=redactor.text(t.text), ts=t.ts) for t in interaction.turns]
    return interaction.model_copy(update={"turns": turns}), dict(redactor.counts)


def find_pii(text: str) -> list[tuple[str, str]]:
    """Every (type, value) of personal data still present in `text`; used by the leakage eval."""
    found = []
    for kind, pattern in _PATTERNS:
        for m in pattern.finditer(text):
            value = m.group(0)
            if kind == "CARD" and not luhn_ok(re.sub(r"\D", "", value)):
                continue
            found.append((kind, value))
    return found
