"""Phone numbers in every national and international format of the regions a contact centre serves.

Candidates come from Google's libphonenumber (`phonenumbers.PhoneNumberMatcher`, one pass per region, leniency
POSSIBLE: the right length for the region, however it is written: "07700.900.123", "06 12 34 56 78",
"(0151) 234 5678", "+44 (0)20 7946 0958"). VALID alone would drop the fictional ranges customers' test data and
typos live in (07700 900xxx is not assigned), so a candidate is a phone number when the evidence says so:

- written internationally (+44 …, or 0044 … where 44 is the country code it reads as);
- valid for one of the regions (assigned prefix and length, written in that region's national format) and grouped
  as phone numbers are; or, written as one run, eleven digits after a trunk 0 (07700900123);
- not valid but grouped the way phone numbers are: ten to thirteen digits in two to six groups, not shaped like a
  date or part of a longer number or code;
- or any possible number after a word that says phone ("mobile", "Handy", "portable", "móvil" …), or answering
  the question "what number can we reach you on?".

A bare digit run (5400738796) is therefore a phone only when the words say so: that is how an order number is not
one. A word that says order, reference, ticket, invoice or account, closer to the number than any phone word (or
the question it answers: "and your order ID?"), makes it that and not a phone. Freephone, premium, shared-cost and
non-geographic numbers (0800, 0333, 1-800 …) are a business's lines, kept unless the customer calls them theirs
("my number", "call me on").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import phonenumbers
from phonenumbers import Leniency, PhoneNumberMatcher, PhoneNumberType

from cx_worker.redaction.context import (
    FIRST_PERSON,
    NOT_PHONE,
    PHONE,
    PHONE_AFTER,
    answers,
    closest_before,
    cue_near,
    labelled_by,
)

# Seven digits in a phone-like run, or "+" and digits: a text without one holds no phone number.
_MAYBE = re.compile(r"\d(?:[\s().-]{0,3}\d){6}")
_BUSINESS = frozenset({PhoneNumberType.TOLL_FREE, PhoneNumberType.PREMIUM_RATE, PhoneNumberType.SHARED_COST,
                       PhoneNumberType.UAN})
_DATE_SHAPE = re.compile(r"\d{1,2}([./-])\d{1,2}\1(?:\d{4}|\d{2})|\d{4}([./-])\d{1,2}\2\d{1,2}")
_GROUPS = re.compile(r"\d+")
_KEPT_ON = re.compile(r"(?i)\b(?:on|for|linked to|associated with|registered (?:to|with)|attached to)\s+"
                      r"(?:the|your|this|my)\s+(?:account|file|profile)\b")
_AREA_SLASH = re.compile(r"\(?0\d{2,5}\)?\s?/\s?\d[\d\s-]{3,12}\d")  # the German "030/12345678"
_IP = re.compile(r"\d{1,3}(?:\.\d{1,3}){3}(?:/\d{1,2})?")
_EXTENSION = re.compile(r"(?i)\s*(?:ext\.?|extension|x|poste|durchwahl|int\.|interno)\s*\d{1,5}$")
_TRUNK_11 = re.compile(r"0[1-9]\d{9}")  # eleven digits after a trunk 0 (the order ids seen here have ten)
# Part of a longer number (a card, an account split in groups): a digit next to it, or a digit one separator away.
# A code with letters ("INV-2024-00123") is not a phone either.
_LONGER_BEFORE = re.compile(r"(?:\d|\d[ .-]|[A-Za-z][-/]?)$")
_LONGER_AFTER = re.compile(r"^(?:\d|[ .-]\d|[-/]?[A-Za-z]|/\d)")


@dataclass(frozen=True)
class PhoneMatch:
    """A phone number found in a text, with the evidence that made it one."""

    start: int
    end: int
    value: str
    evidence: str


def _digits(value: str) -> str:
    return re.sub(r"\D", "", value)


def _written_as(number: phonenumbers.PhoneNumber, raw: str, region: str) -> bool:
    """True if `raw` is this number in the region's own national format (so the region is where it is from)."""
    national = _digits(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL))
    prefix = phonenumbers.PhoneMetadata.metadata_for_region(region).national_prefix or ""
    return _digits(raw) in (national, prefix + national) and phonenumbers.region_code_for_number(number) == region


def _phone_grouped(raw: str) -> bool:
    groups = _GROUPS.findall(raw)
    return 2 <= len(groups) <= 6 and not _DATE_SHAPE.fullmatch(raw.strip("()")) and max(map(len, groups)) <= 8


def _business(home: list[tuple[str, phonenumbers.PhoneNumber]], regions: tuple[str, ...]) -> bool:
    # Read in most of the regions it is valid in (ties: the region listed first) as a freephone, premium, shared-cost
    # or non-geographic number. "0800 298 0298" is freephone in GB, DE and NL, a Bari number only in IT.
    votes = [phonenumbers.number_type(n) in _BUSINESS for _, n in home]
    if votes.count(True) != votes.count(False):
        return votes.count(True) > votes.count(False)
    first = min(range(len(home)), key=lambda i: regions.index(home[i][0]) if home[i][0] in regions else len(regions))
    return votes[first]


def find_phones(text: str, regions: tuple[str, ...], *, prompt: str = "") -> list[PhoneMatch]:
    """Phone numbers in `text`, read as numbers of `regions` (ISO 3166 codes, most likely first).

    Args:
        prompt: the turn this text answers; "what number can we reach you on?" makes a bare digit run a phone.
    """
    if not _MAYBE.search(text) and "+" not in text:
        return []
    candidates: dict[tuple[int, int], list[tuple[str, phonenumbers.PhoneNumber]]] = {}
    for region in regions:
        for m in PhoneNumberMatcher(text, region, leniency=Leniency.POSSIBLE):
            candidates.setdefault((m.start, m.end), []).append((region, m.number))
    found: list[PhoneMatch] = []
    for (start, end), parses in sorted(candidates.items(), key=lambda kv: kv[0][0] - kv[0][1]):
        raw = text[start:end]
        if any(f.start < end and start < f.end for f in found):
            continue
        evidence = _evidence(text, start, end, raw, parses, regions, prompt=prompt)
        if evidence:
            found.append(PhoneMatch(start, end, raw, evidence))
    return sorted(found, key=lambda f: f.start)


def _evidence(text: str, start: int, end: int, raw: str, parses: list, regions: tuple[str, ...], *,
              prompt: str) -> str | None:
    """Why the candidate at `text[start:end]` is a phone number ("international", "valid", …), or None."""
    raw = _EXTENSION.sub("", raw)  # "020 7946 0136 ext. 204": the number, and its extension with it
    if _not_a_number_alone(text, start, end, raw):
        return None
    digits = _digits(raw)
    plus = raw.lstrip("(").startswith("+")
    # "+44 …", or "0044 …" where the digits after 00 are the country code the number was read with.
    international = plus or (digits.startswith("00") and any(
        digits[2:].startswith(str(n.country_code)) for _, n in parses))
    said_phone, said_other = _what_the_words_say(text, start, end, prompt)
    if said_other and not plus and not raw.startswith("("):
        return None
    home = [(r, n) for r, n in parses if phonenumbers.is_valid_number(n) and (international or _written_as(n, raw, r))]
    if home and _business(home, regions) and not (said_phone and FIRST_PERSON.search(text[max(0, start - 40):start])):
        return None  # a business's freephone or non-geographic line, quoted by the agent
    grouped = _phone_grouped(raw)
    if international and len(digits) >= 8:
        return "international"
    if home and grouped:
        return "valid"
    if _TRUNK_11.fullmatch(raw):
        return "trunk_11"  # 07700900123, 08053530355: a phone even written as one run
    if grouped and 10 <= len(digits) <= 13:
        return "grouped"  # nine digits (an SSN's 123-45-6789) are a phone only when valid or said to be
    if said_phone and 7 <= len(digits) <= 15 and not _DATE_SHAPE.fullmatch(raw):
        return "context"
    return None


def _not_a_number_alone(text: str, start: int, end: int, raw: str) -> bool:
    # Part of a longer number or code, an error code (0x80300113), a network (10.16.220.0/24), "… 24/7".
    return bool(_LONGER_BEFORE.search(text[max(0, start - 2):start]) or _LONGER_AFTER.search(text[end:end + 2])
                or re.search(r"[A-Za-z]", raw) or _IP.fullmatch(raw) or ("/" in raw and not _AREA_SLASH.fullmatch(raw)))


def _what_the_words_say(text: str, start: int, end: int, prompt: str) -> tuple[bool, bool]:
    """(a word says phone, the words say it is something else: an order, a reference, an id)."""
    cues = {"phone": PHONE, "other": NOT_PHONE}
    # "the number on the account": the account is where the number is kept, not what it is.
    text = _KEPT_ON.sub(lambda m: " " * len(m.group(0)), text[:start]) + text[start:]
    cue = closest_before(text, start, cues, before=40)
    answer = None
    if cue is None and prompt and answers(text, start):
        # The answer to "what number can we reach you on?" (or to "and your order ID?": no phone).
        prompt = _KEPT_ON.sub("", prompt)
        answer = closest_before(prompt, len(prompt), cues, before=len(prompt))
    said_phone = "phone" in (cue, answer) or cue_near(text, start, end, PHONE_AFTER, after=25, before=0)
    if answer == "other":
        return said_phone, True
    # "order number is 5400738796" is an order; "the phone on the account is 020 7946 0133" is a phone.
    other = labelled_by(text, start, NOT_PHONE)
    said_other = other is not None and (not cue_near(text, other, other, PHONE, before=40)
                                        or "," in text[max(0, other - 40):other])
    return said_phone, said_other
