"""Detectors of personal data in free text: each kind found by its shape, confirmed by a checksum or by the words
around it (or the question the text answers), and where both exist, either is enough for a valid checksum and
both are needed for a failed one (customers mistype).

Structured PII only: e-mail addresses, phone numbers (`phones`, Google's libphonenumber over the centre's regions),
payment cards, IBANs and bank accounts (`banking`), national ids and passports (`national_ids`, python-stdnum's
validators), dates of birth (`dates`) and postal addresses (`addresses`). Names are contextual and live in
`redactor`. Presidio was considered: its analyzer needs spaCy and a spaCy model that cannot be fetched here; its
pattern recognizers alone would add spaCy and tldextract (which fetches the public-suffix list online) for the
same checks as these.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

import phonenumbers

from cx_worker.redaction.addresses import find_addresses
from cx_worker.redaction.banking import find_accounts, find_cards, find_ibans, iban_ok, luhn_ok
from cx_worker.redaction.dates import find_dates_of_birth
from cx_worker.redaction.national_ids import find_national_ids, find_passports
from cx_worker.redaction.phones import find_phones

__all__ = ["DEFAULT_REGIONS", "KINDS", "Span", "detect", "iban_ok", "luhn_ok", "parse_regions"]

# Existing kinds keep their names and order: stored placeholders ([PHONE_1]) and reports rely on them.
KINDS = ("EMAIL", "IBAN", "CARD", "NATIONAL_ID", "ADDRESS", "PHONE", "ACCOUNT", "PASSPORT", "DATE_OF_BIRTH")
DEFAULT_REGIONS = ("GB", "US", "FR", "DE", "ES", "IT", "NL", "IE")

_EMAIL = re.compile(r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}\b")


@dataclass(frozen=True)
class Span:
    """One piece of personal data found in a text."""

    kind: str
    start: int
    end: int
    value: str


def parse_regions(value: str | Iterable[str] | None) -> tuple[str, ...]:
    """The regions a centre serves, as ISO 3166 codes libphonenumber knows: "GB, us,FR" -> ("GB", "US", "FR").

    None or empty gives `DEFAULT_REGIONS`; an unknown code raises ValueError.
    """
    if value is None:
        return DEFAULT_REGIONS
    items = value.split(",") if isinstance(value, str) else list(value)
    regions = tuple(dict.fromkeys(r.strip().upper() for r in items if r.strip()))
    unknown = [r for r in regions if r not in phonenumbers.SUPPORTED_REGIONS]
    if unknown:
        raise ValueError(f"unknown region(s) {', '.join(unknown)}: ISO 3166 alpha-2 codes, e.g. GB,US,FR")
    return regions or DEFAULT_REGIONS


def _candidates(text: str, regions: tuple[str, ...], prompt: str) -> Iterable[tuple[str, list[tuple[int, int]]]]:
    # In priority order: where two finds overlap, the earlier group wins; within a group, the longer.
    yield "EMAIL", [m.span() for m in _EMAIL.finditer(text)]
    if not any(ch.isdigit() for ch in text) and not re.search(r"(?i)\b(?:born|birth|n[ée]e?|geboren|nac|nat[oa])",
                                                              text):
        return  # every kind below has digits, or is a date of birth in words
    ibans, said_ibans = find_ibans(text, prompt=prompt)
    cards, said_cards = find_cards(text, prompt=prompt)
    yield "IBAN", ibans
    yield "NATIONAL_ID", find_national_ids(text, prompt=prompt)
    yield "CARD", cards
    yield "IBAN", said_ibans
    yield "CARD", said_cards
    yield "ACCOUNT", find_accounts(text, prompt=prompt)
    yield "PASSPORT", find_passports(text, prompt=prompt)
    yield "DATE_OF_BIRTH", find_dates_of_birth(text, prompt=prompt)
    yield "ADDRESS", find_addresses(text, prompt=prompt)
    yield "PHONE", [(p.start, p.end) for p in find_phones(text, regions, prompt=prompt)]


def detect(text: str, *, regions: tuple[str, ...] | None = None, prompt: str = "") -> list[Span]:
    """Every non-overlapping piece of structured personal data in `text`, in text order.

    Args:
        regions: ISO 3166 codes of the regions whose national phone formats to read, most likely first
            (None: `DEFAULT_REGIONS`).
        prompt: the turn `text` answers, if any: "What's your date of birth?" makes "12/03/1985" one.
    """
    found: list[Span] = []
    for kind, spans in _candidates(text, regions or DEFAULT_REGIONS, prompt):
        for start, end in sorted(set(spans), key=lambda se: (se[0] - se[1], se[0])):
            if start and text[start - 1] == "@":
                continue  # a social-media handle (@661578), not a number
            if end > start and not any(s.start < end and start < s.end for s in found):
                found.append(Span(kind, start, end, text[start:end]))
    return sorted(found, key=lambda s: s.start)
