"""An auditor's personal-data detector for the governance metrics, written apart from the redactor.

The redactor decides what to hide; this module checks what it let through, so it shares none of its code and is
built for recall: a governance metric that misses personal data is worse than one that over-flags. Three things
keep business text quiet: the redactor's placeholders (`[EMAIL_1]`, any `[UPPER_SNAKE_N]`) are blanked before
scanning; a number is judged by its shape *and* by the nearest cue word around it (`pii_numbers`: an "order 8812345"
is no phone, a toll-free line is a business's); and overlapping findings resolve to the most specific kind.
Addresses and names live in `pii_places`, check digits in `pii_checks`.

A finding never carries the raw value: its description holds the kind, a masked form (`+44 ••• •••• 123`) and the
rule that fired, so a report quoting it stays free of personal data.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import phonenumbers

from cx_worker.governance.pii_checks import IBAN_LENGTHS, dni_ok, iban_ok, ppsn_ok
from cx_worker.governance.pii_numbers import BLANK, CUE_WORDS, nearest_cue, number_hits
from cx_worker.governance.pii_places import address_hits, name_hits

KINDS = ("EMAIL", "PHONE", "CARD", "IBAN", "ACCOUNT", "NATIONAL_ID", "PASSPORT", "DATE_OF_BIRTH", "ADDRESS", "NAME")
# When two findings overlap, the more specific kind wins (a card number also looks like a long phone number).
_PRIORITY = {"EMAIL": 9, "IBAN": 8, "CARD": 8, "NATIONAL_ID": 7, "PASSPORT": 7, "ACCOUNT": 6, "DATE_OF_BIRTH": 6,
             "PHONE": 5, "ADDRESS": 4, "NAME": 3}
_PLACEHOLDER = re.compile(r"\[[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*\]")  # the redactor's [EMAIL_1], [DATE_OF_BIRTH_2]...


@dataclass(frozen=True)
class PiiFinding:
    """One piece of personal data: what it is and where, never what it says."""

    kind: str
    start: int
    end: int
    description: str  # kind, masked form and the rule that fired; never the raw value


@dataclass(frozen=True)
class _Hit:
    kind: str
    start: int
    end: int
    rule: str


def scan(text: str) -> list[PiiFinding]:
    """Find personal data in `text` (a transcript, a summary, a CRM note), in order of position.

    Covers e-mail addresses, phone numbers (any national or international format, spoken digits), payment cards,
    IBANs, bank accounts, national ids, passports, dates of birth, postal addresses and full names introduced as
    such. The redactor's placeholders are never flagged.
    """
    visible = _PLACEHOLDER.sub(lambda m: BLANK * len(m.group(0)), text)
    hits = [*_emails(visible), *_ibans(visible), *_ids_with_letters(visible), *_after_cue(visible),
            *_birth_dates(visible), *_sort_codes(visible),
            *(_Hit(*h) for found in (number_hits, address_hits, name_hits) for h in found(visible))]
    return [PiiFinding(h.kind, h.start, h.end, _describe(h, text[h.start:h.end])) for h in _resolve(hits)]


# --- e-mail, IBAN, ids with letters, cue + token, dates of birth, sort codes ------------------------------------

_EMAIL = re.compile(r"(?<![\w.+%-])[\w.+%-]*\w@(?:[\w-]+\.)+[A-Za-z]{2,24}(?![\w-])")
_OBFUSCATED_EMAIL = re.compile(
    r"(?<![\w.+-])[\w.+-]*\w\s*(?:\(at\)|\[at\]|\{at\})\s*(?:[\w-]+\s*(?:\.|\(dot\)|\[dot\]|\{dot\}|\s+dot\s+)\s*)+"
    r"[A-Za-z]{2,24}\b"
    r"|(?<![\w.+-])[\w.+-]*\w\s+at\s+(?:[\w-]+\s+dot\s+)+[A-Za-z]{2,24}\b",
    re.I,
)


# A role mailbox is a business's, not a person's ("escalation@acmecorp.com", "support@...").
_ROLE_MAILBOX = re.compile(
    r"(?:support|help|helpdesk|info|contact|service|services|customer[._-]?(?:service|care|support)|care|sales|"
    r"billing|accounts|escalations?|complaints|feedback|no[._-]?reply|donotreply|do[._-]not[._-]reply|hello|team|"
    r"admin|office|enquiries|inquiries|privacy|dpo|legal|press|media|returns|orders|shop|store|careers|jobs|"
    r"webmaster|postmaster|abuse|security)@",
    re.I,
)


def _emails(text: str) -> Iterator[_Hit]:
    for m in _EMAIL.finditer(text):
        if not _ROLE_MAILBOX.match(m.group(0)):
            yield _Hit("EMAIL", m.start(), m.end(), "e-mail address")
    for m in _OBFUSCATED_EMAIL.finditer(text):
        yield _Hit("EMAIL", m.start(), m.end(), "e-mail address spelled out")


_IBAN = re.compile(r"(?<![\w])[A-Za-z]{2}\d{2}[A-Za-z0-9]{0,30}(?:[ -][A-Za-z0-9]{1,30}){0,10}")


def _ibans(text: str) -> Iterator[_Hit]:
    pos = 0
    while m := _IBAN.search(text, pos):
        pos = m.start() + 4  # a long match may hold the next candidate: look again right after this one's head
        tokens = re.split(r"[ -]", m.group(0))
        kept, lower = [tokens[0]], tokens[0].islower()
        for tok in tokens[1:]:  # groups of an IBAN: digits, or short letter groups in the IBAN's own case
            if sum(map(len, kept)) >= 34 or not (any(c.isdigit() for c in tok)
                                                 or (len(tok) <= 4 and (tok.islower() if lower else tok.isupper()))):
                break
            kept.append(tok)
        compact = "".join(kept).upper()
        if not 14 <= len(compact) <= 34 or sum(c.isdigit() for c in compact[4:]) < 6:
            continue
        end = m.start() + len(" ".join(kept))
        cue = nearest_cue(text, m.start(), end)
        if iban_ok(compact):
            rule = "IBAN checksum"
        elif cue == "account":
            rule = "IBAN shape after bank words"
        elif compact[:2] in IBAN_LENGTHS and cue != "other":
            rule = f"{compact[:2]} IBAN shape"
        else:
            continue
        yield _Hit("IBAN", m.start(), end, rule)


_NINO = r"(?<![\w])(?!BG|GB|NK|KN|TN|NT|ZZ)[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z][ -]?\d{2}[ -]?\d{2}[ -]?\d{2}"
_LETTER_IDS = (  # (pattern, check of the compact form, rule); one that fails its check still counts after an id cue
    (re.compile(_NINO + r"[ -]?[A-D](?![\w])"), lambda c: True, "UK National Insurance number"),
    (re.compile(_NINO + r"(?:[ -]?[A-D])?(?![\w])", re.I), lambda c: False, "UK National Insurance number"),
    (re.compile(r"(?<![\w])\d{8}(?:-?[A-Za-z]|[ ][A-Z])(?![\w])"), dni_ok, "Spanish DNI"),
    (re.compile(r"(?<![\w])[XYZxyz][ -]?\d{7}(?:-?[A-Za-z]|[ ][A-Z])(?![\w])"), dni_ok, "Spanish NIE"),
    (re.compile(r"(?<![\w])[A-Z]{6}[\dLMNP-V]{2}[ABCDEHLMPRST][\dLMNP-V]{2}[A-Z][\dLMNP-V]{3}[A-Z](?![\w])", re.I),
     lambda c: sum(ch.isdigit() for ch in c) >= 3, "Italian codice fiscale"),
    (re.compile(r"(?<![\w])\d{7}[A-Wa-w][A-IWa-iw]?(?![\w])"), ppsn_ok, "Irish PPS number"),
)


def _ids_with_letters(text: str) -> Iterator[_Hit]:
    for pattern, check, rule in _LETTER_IDS:
        for m in pattern.finditer(text):
            compact = re.sub(r"[ -]", "", m.group(0)).upper()
            if check(compact) or nearest_cue(text, m.start(), m.end()) == "national_id":
                yield _Hit("NATIONAL_ID", m.start(), m.end(), rule)


_FILLER = r"[\s:#.,-]*(?:(?:number|num|no|nr|n°|numéro|numero|nummer|número|is|est|ist|es|è|my|its|it's|the|=)" \
          r"[\s:#.,-]*){0,4}"
_TOKEN = r"(?=[A-Za-z0-9 -]*\d[A-Za-z0-9 -]*\d)[A-Za-z0-9]{1,12}(?:[ -][A-Za-z0-9]{1,8}){0,3}(?![\w])"
_CUE_THEN_TOKEN = (
    (re.compile(rf"(?<![\w])(?:{CUE_WORDS['passport']})(?![\w]){_FILLER}({_TOKEN})", re.I), "PASSPORT",
     "number after passport words", 6, 12),
    (re.compile(rf"(?<![\w])(?:{CUE_WORDS['national_id']})(?![\w]){_FILLER}({_TOKEN})", re.I), "NATIONAL_ID",
     "number after national id words", 5, 20),
)


def _after_cue(text: str) -> Iterator[_Hit]:
    for pattern, kind, rule, shortest, longest in _CUE_THEN_TOKEN:
        for m in pattern.finditer(text):
            compact = re.sub(r"[ -]", "", m.group(1))
            if shortest <= len(compact) <= longest:
                yield _Hit(kind, m.start(1), m.end(1), rule)


_MONTHS = (
    r"january|jan|february|feb|march|mar|april|apr|may|june|jun|july|jul|august|aug|september|sept|sep|october|oct|"
    r"november|nov|december|dec|janvier|f[ée]vrier|mars|avril|mai|juin|juillet|ao[ûu]t|septembre|octobre|novembre|"
    r"d[ée]cembre|januar|j[äa]nner|februar|m[äa]rz|maerz|juni|juli|oktober|dezember|enero|febrero|marzo|abril|mayo|"
    r"junio|julio|agosto|septiembre|setiembre|octubre|noviembre|diciembre|gennaio|febbraio|aprile|maggio|giugno|"
    r"luglio|settembre|ottobre|dicembre|januari|februari|maart|mei|augustus"
)
_DATE = (
    r"\d{1,2}[./ -]\d{1,2}[./ -](?:\d{4}|\d{2})(?!\d)|\d{4}[./-]\d{1,2}[./-]\d{1,2}(?!\d)"
    rf"|\d{{1,2}}(?:st|nd|rd|th|er|e|º|°|\.)?\s*(?:of\s+|de\s+)?(?:{_MONTHS})\b\.?,?(?:\s*(?:de\s+|del\s+)?"
    r"(?:\d{4}|'\d{2}))?"
    rf"|(?:{_MONTHS})\b\.?\s+\d{{1,2}}(?:st|nd|rd|th)?(?!\d)(?:,?\s*\d{{4}})?"
)
_BIRTH_DATE = re.compile(
    r"(?<![\w])(?:born(?:\s+on)?|d\.?o\.?b\.?|date\s+of\s+birth|birth\s*date|birthday|n[ée]e?\s+le|date\s+de\s+"
    r"naissance|geboren(?:\s+am|\s+op)?|geburtsdatum|geb\.|fecha\s+de\s+nacimiento|nacid[oa]\s+el|nat[oa]\s+il|"
    r"data\s+di\s+nascita|geboortedatum)"
    rf"[\s:,-]*(?:(?:is|was|on|the|am|op|el|il|le|est|ist|es|è|:)\s*){{0,3}}({_DATE})",
    re.I,
)


def _birth_dates(text: str) -> Iterator[_Hit]:
    for m in _BIRTH_DATE.finditer(text):
        yield _Hit("DATE_OF_BIRTH", m.start(1), m.end(1), "date after birth words")


_SORT_CODE = re.compile(
    r"(?<![\w-])\d{2}([-– ])\d{2}\1\d{2}(?![\w-])"
    r"(?:[\s,/]*(?:(?:account|acc|a/c)(?:\s*(?:number|no\.?))?[\s:]*)?(\d{8})(?![\w]))?",
    re.I,
)


def _sort_codes(text: str) -> Iterator[_Hit]:
    for m in _SORT_CODE.finditer(text):
        if m.group(2) or nearest_cue(text, m.start(), m.end(), after=0) == "account":
            yield _Hit("ACCOUNT", m.start(), m.end(), "sort code" + (" and account" if m.group(2) else ""))


# --- overlap, masking ------------------------------------------------------------------------------------------


def _resolve(hits: list[_Hit]) -> list[_Hit]:
    """Keep the most specific of overlapping hits (then the longest)."""
    kept: list[_Hit] = []
    for h in sorted(hits, key=lambda h: (-_PRIORITY[h.kind], h.start - h.end, h.start)):
        if h.end > h.start and all(h.end <= k.start or h.start >= k.end for k in kept):
            kept.append(h)
    return sorted(kept, key=lambda h: h.start)


def _describe(hit: _Hit, value: str) -> str:
    return f"{hit.kind} {_mask(hit.kind, value)} ({hit.rule})"


def _mask(kind: str, value: str) -> str:
    """The value with its characters hidden: a phone keeps its +country code and last 3 digits, a card its last 4,
    an IBAN its country, an e-mail its first letter and top-level domain; everything else keeps only its shape."""
    if kind == "EMAIL":
        tld = re.search(r"([A-Za-z]{2,24})\s*$", value)
        return f"{value[:1]}•••@•••.{tld.group(1) if tld else '•••'}"
    if kind in ("PHONE", "CARD", "ACCOUNT") and len(re.findall(r"[^\W\d_]{2,}", value)) >= 3:
        return f"read out in {len(re.findall(r'[^ ,.-]+', value))} words"
    positions = [i for i, ch in enumerate(value) if ch.isalnum()]
    keep: set[int] = set()
    digit_positions = [i for i in positions if value[i].isdigit()]
    if kind == "PHONE" and len(digit_positions) == len(positions):
        keep.update(digit_positions[-3:])
        if value.lstrip("(").startswith("+"):
            keep.update(digit_positions[:_country_code_length(re.sub(r"\D", "", value))])
    elif kind == "CARD" and len(digit_positions) == len(positions):
        keep.update(digit_positions[-4:])
    elif kind == "IBAN":
        keep.update(positions[:2])
    masked = "".join(ch if i in keep or not ch.isalnum() else "•" for i, ch in enumerate(value))
    masked = re.sub(r"\s+", " ", masked)
    return masked if len(masked) <= 40 else masked[:39] + "…"


def _country_code_length(digits: str) -> int:
    for length in (1, 2, 3):
        if phonenumbers.region_code_for_country_code(int(digits[:length] or 0)) != "ZZ":
            return length
    return 0

