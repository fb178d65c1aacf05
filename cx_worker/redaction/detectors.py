"""Detectors of personal data in free text: patterns, each confirmed by a checksum or a context where one exists.

Structured PII only — e-mail addresses, phone numbers, payment cards (Luhn), IBANs (ISO 13616 mod-97), national
ids (US SSN with its valid ranges, UK National Insurance number with its valid prefixes) and postal addresses
(street number + street type, US state + ZIP / ZIP+4, UK postcode). Names are contextual and live in `redact`.
Presidio was considered: its analyzer needs spaCy and, for names and places, a spaCy model that only anonymous
mirrors offer on PyPI (it cannot be fetched at run time here); its pattern recognizers alone would add spaCy and
tldextract (which fetches the public-suffix list online) for the same checks as below.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Span:
    """One piece of personal data found in a text."""

    kind: str
    start: int
    end: int
    value: str


def luhn_ok(digits: str) -> bool:
    """True if the digit string passes the Luhn checksum (payment card numbers do)."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def iban_ok(value: str) -> bool:
    """True if `value` (spaces allowed) is an IBAN with valid mod-97 check digits."""
    iban = re.sub(r"\s", "", value).upper()
    if not (15 <= len(iban) <= 34 and re.fullmatch(r"[A-Z]{2}\d{2}[A-Z0-9]+", iban)):
        return False
    digits = "".join(str(int(c, 36)) for c in iban[4:] + iban[:4])
    return int(digits) % 97 == 1


_EMAIL = re.compile(r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}\b")
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?\b", re.IGNORECASE)
# 13-19 digits, optionally grouped by spaces or dashes; Luhn decides.
_CARD = re.compile(r"(?<![\d-])(?:\d[ -]?){12,18}\d(?![\d-])")
_SSN = re.compile(r"(?<![\d-])(?!000|666|9\d\d)\d{3}([- ])(?!00)\d{2}\1(?!0000)\d{4}(?![\d-])"
                  r"|(?i:\b(?:ssn|social security(?: number| no\.?| #)?)\b\D{0,20}?)(?P<bare>\d{9})\b")
_NINO = re.compile(r"\b(?!(?:BG|GB|NK|KN|TN|NT|ZZ))[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z] ?\d{2} ?\d{2} ?\d{2} ?[A-D]\b",
                   re.IGNORECASE)
# North-American and international shapes: (791) 582-4288, 791-582-4288, +44 20 7946 0958, 07700 900123.
# Not part of a longer digit run (a card or account number split in groups is not a phone).
_PHONE = re.compile(
    r"(?<![\w+])(?<!\d[\s.-])(?:\+\d{1,3}[\s.-]?)?(?:\(\d{2,4}\)[\s.-]?|\d{2,4}[\s.-])\d{3,4}[\s.-]?\d{3,4}"
    r"(?![\s.-]?\d)(?!\w)"
    r"|(?<![\w+])\+\d{10,14}(?!\w)"
    r"|(?<![\w+])0\d{4} ?\d{6}(?![\s.-]?\d)(?!\w)"  # UK mobile 07700 900123
)
# A bare digit run is a phone number only when the words before it say so (an order number is not).
_PHONE_CONTEXT = re.compile(
    r"(?i:\b(?:phone|mobile|cell|cellphone|tel|telephone|landline|whatsapp|call me|reach me|text me|ring me"
    r"|(?<!order )(?<!account )(?<!reference )(?<!tracking )(?<!confirmation )(?<!case )(?<!ticket )"
    r"(?<!member )(?<!membership )(?<!policy )(?<!invoice )(?<!serial )(?<!order id )number)\b)"
    r"[^\d\n]{0,25}?(?P<bare>(?<![\w+])\+?\d{10,13})(?!\w)"
)
_STATES = ("AL|AK|AZ|AR|CA|CO|CT|DE|DC|FL|GA|HI|ID|IL|IN|IA|KS|KY|LA|ME|MD|MA|MI|MN|MS|MO|MT|NE|NV|NH|NJ|NM|NY|NC"
           "|ND|OH|OK|OR|PA|RI|SC|SD|TN|TX|UT|VT|VA|WA|WV|WI|WY")
_STREET_TYPES = ("street|st|avenue|ave|road|rd|boulevard|blvd|lane|ln|drive|dr|way|court|ct|place|pl|terrace|ter"
                 "|close|crescent|cres|parkway|pkwy|highway|hwy|circle|cir|square|sq|trail|trl|grove|gardens|mews")
_UK_POSTCODE = r"(?:[A-PR-UWYZ][A-HK-Y]?\d[A-Z\d]? ?\d[ABD-HJLNP-UW-Z]{2})"
_NOT_STREET_WORD = r"(?!(?:and|or|the|of|in|on|to|for|my|your|a|an|is|are|was|it|at|i|we|you|times|days|items)\b)"
_ADDRESS = re.compile(
    rf"\b\d{{1,6}}[A-Za-z]?,?[ \t]+(?:{_NOT_STREET_WORD}[A-Za-z0-9'.-]+[ \t]+){{0,3}}(?:{_STREET_TYPES})\b\.?"
    r"(?:,?[ \t]*(?:apt|apartment|suite|ste|unit|flat|#)\.?[ \t]*[\w-]+)?"
    rf"(?:,?\s+(?:[A-Za-z][A-Za-z.'-]+[ \t]*){{1,3}},?[ \t]+(?:{_STATES})[ \t]+\d{{5}}(?:-\d{{4}})?\b"
    rf"|,?\s+(?:[A-Za-z][A-Za-z.'-]+[ \t]*){{1,3}},?[ \t]+{_UK_POSTCODE}\b)?",
    re.IGNORECASE,
)
_STATE_ZIP = re.compile(rf"(?:\b[A-Z][A-Za-z.'-]+(?: [A-Z][A-Za-z.'-]+){{0,2}},? )?"
                        rf"\b(?:{_STATES}) \d{{5}}(?:-\d{{4}})?\b"
                        r"|\b\d{5}-\d{4}\b")
_POSTCODE = re.compile(rf"\b{_UK_POSTCODE}\b|(?i:\b[a-z]{{1,2}}\d[a-z\d]? \d[abd-hjlnp-uw-z]{{2}}\b)")

# (kind, pattern, check): in priority order; where two finds overlap, the earlier kind wins.
_DETECTORS = (
    ("EMAIL", _EMAIL, None),
    ("IBAN", _IBAN, iban_ok),
    ("CARD", _CARD, lambda v: 13 <= len(re.sub(r"\D", "", v)) <= 19 and luhn_ok(re.sub(r"\D", "", v))),
    ("NATIONAL_ID", _SSN, None),
    ("NATIONAL_ID", _NINO, None),
    ("ADDRESS", _ADDRESS, None),
    ("PHONE", _PHONE, None),
    ("PHONE", _PHONE_CONTEXT, None),
    ("ADDRESS", _STATE_ZIP, None),
    ("ADDRESS", _POSTCODE, lambda v: bool(re.search(r"[A-Za-z]", v)) and not v.isdigit()),
)
KINDS = ("EMAIL", "IBAN", "CARD", "NATIONAL_ID", "ADDRESS", "PHONE")


def detect(text: str) -> list[Span]:
    """Every non-overlapping piece of structured personal data in `text`, in text order."""
    found: list[Span] = []
    for kind, pattern, check in _DETECTORS:
        for m in pattern.finditer(text):
            group = "bare" if "bare" in pattern.groupindex and m.group("bare") else 0
            start, end = m.span(group)
            value = text[start:end]
            if check is not None and not check(value):
                continue
            if any(s.start < end and start < s.end for s in found):
                continue
            found.append(Span(kind, start, end, value))
    return sorted(found, key=lambda s: s.start)
