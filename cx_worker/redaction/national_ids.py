"""National identity numbers and passport numbers.

Each national id has a shape and, for most, check digits (python-stdnum validates them). A valid check is enough on
its own where the shape is distinctive; a failed check (a customer's typo) still counts when the words around it
name the id. Numbers whose shape is only a digit run (NL BSN, DE tax id, passport numbers) always need those words.

| id | shape | without a cue |
|---|---|---|
| UK National Insurance number | AB 12 34 56 C, ab123456c, AB-12-34-56-C | valid prefix and suffix |
| US Social Security number | 123-45-6789, 123 45 6789, 123.45.6789 | valid area, group, serial |
| FR NIR (sécurité sociale) | 1 85 03 75 123 456 78 | key valid (mod 97) |
| ES DNI, NIE | 12345678Z, X1234567L | letter valid |
| IT codice fiscale | RSSMRA85T10A562S | check letter valid |
| IE PPSN | 1234567T, 1234567TW | check letter valid |
| NL BSN, DE Steuer-ID, DE Personalausweis, any "ID number" | digits | never |
| passports (UK, US, FR, DE, ES, IT, NL, IE shapes) | 123456789, 12AB34567, C01X00T47, PA1234567 | never |
"""

from __future__ import annotations

import re

from stdnum.es import dni, nie
from stdnum.fr import nir
from stdnum.ie import pps
from stdnum.it import codicefiscale

from cx_worker.redaction.context import NATIONAL_ID, PASSPORT, asked, cue_near, labelled_by

# Six digits in any grouping: "AB 12 34 56 C", "AB123456C", "AB 123 456 C".
_NINO = re.compile(r"(?<![\w-])(?!(?:BG|GB|NK|KN|TN|NT|ZZ))[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z][ .-]?(?:\d[ .-]?){5}\d"
                   r"[ .-]?[A-D](?![\w-])", re.IGNORECASE)
# With the words "National Insurance": any two letters (HMRC's own example is QQ 12 34 56 C), suffix or not.
_NINO_SHAPE = re.compile(r"(?<![\w-])[A-Z]{2}[ .-]?(?:\d[ .-]?){5}\d(?:[ .-]?[A-D])?(?![\w-])", re.IGNORECASE)
_SSN = re.compile(r"(?<![\d-])(?!000|666|9\d\d)\d{3}(?P<s>[- .])(?!00)\d{2}(?P=s)(?!0000)\d{4}(?![\d-])")
_SSN_SHAPE = re.compile(r"(?<![\d-])\d{3}[- .]?\d{2}[- .]?\d{4}(?![\d-])")
_NIR = re.compile(r"(?<!\w)[12378][ .]?\d{2}[ .]?\d{2}[ .]?(?:\d{2}|2[AB])[ .]?\d{3}[ .]?\d{3}(?:[ .]?\d{2})?(?!\w)",
                  re.IGNORECASE)
_DNI = re.compile(r"(?<![\w-])\d{8}[ -]?[A-Z](?![\w-])", re.IGNORECASE)
_NIE = re.compile(r"(?<![\w-])[XYZ][ -]?\d{7}[ -]?[A-Z](?![\w-])", re.IGNORECASE)
_CF = re.compile(r"(?<!\w)[A-Z]{6}[\dLMNP-V]{2}[A-EHLMPR-T][\dLMNP-V]{2}[A-Z][\dLMNP-V]{3}[A-Z](?!\w)", re.IGNORECASE)
_PPSN = re.compile(r"(?<![\w-])\d{7}[ -]?[A-W][A-IW]?(?![\w-])", re.IGNORECASE)
# Any identity number after a word that names one: digits (and letters), in up to five groups.
_ID_TOKEN = re.compile(r"(?<![\w-])[A-Za-z]{0,3}\d[\dA-Za-z]*(?:[ .-]\d[\dA-Za-z]*){0,4}(?![\w-])")
# Passport numbers: 6-10 letters and digits (123456789, 12AB34567, C01X00T47, PAA123456), "PA 1234567", "123 456 789".
_PASSPORT_TOKEN = re.compile(r"(?<![\w-])(?:[A-Z0-9]{6,10}|(?-i:[A-Z]{1,3})[ -]\d{5,9}|\d{3}[ -]\d{3}[ -]\d{3})"
                             r"(?![\w-])", re.IGNORECASE)
_DATE_LIKE = re.compile(r"\d{1,2}[./-]\d{1,2}[./-]\d{2,4}|\d{4}[./-]\d{1,2}[./-]\d{1,2}|\d{1,2}[./-]\d{2,4}")


def _compact(value: str) -> str:
    return re.sub(r"[\s.-]", "", value).upper()


def _checked(value: str) -> bool:
    c = _compact(value)
    if _CF.fullmatch(c):
        return codicefiscale.is_valid(c)
    if _NIE.fullmatch(c):
        return nie.is_valid(c)
    if _DNI.fullmatch(c):
        return dni.is_valid(c)
    if c[:1] in "12378" and c[1:].isalnum() and len(c) == 15:
        return nir.is_valid(c)
    return pps.is_valid(c)


def find_national_ids(text: str, *, prompt: str = "") -> list[tuple[int, int]]:
    """(start, end) of every national identity number in `text` (overlapping finds included: `detect` keeps one).

    Args:
        prompt: the turn this text answers ("Can I have your National Insurance number?").
    """
    if not any(ch.isdigit() for ch in text):
        return []

    def named(m: re.Match[str]) -> bool:
        return asked(prompt, NATIONAL_ID, text, m.start()) or cue_near(text, m.start(), m.end(), NATIONAL_ID,
                                                                       before=45, after=25)

    found: list[tuple[int, int]] = []
    for pattern in (_NINO, _SSN, _CF, _NIE, _DNI, _NIR, _PPSN):
        for m in pattern.finditer(text):
            if pattern in (_NINO, _SSN) or _checked(m.group(0)) or named(m):
                found.append(m.span())
    for pattern in (_NINO_SHAPE, _SSN_SHAPE):
        found += [m.span() for m in pattern.finditer(text) if named(m)]
    for m in _ID_TOKEN.finditer(text) if NATIONAL_ID.search(text) else ():
        # NL BSN, DE Steuer-ID, an ID card: any number the words say is an identity number.
        digits = sum(ch.isdigit() for ch in m.group(0))
        if digits >= 5 and len(_compact(m.group(0))) <= 18 and not _DATE_LIKE.fullmatch(m.group(0)) and (
                labelled_by(text, m.start(), NATIONAL_ID) is not None):
            found.append(m.span())
    return found


def find_passports(text: str, *, prompt: str = "") -> list[tuple[int, int]]:
    """(start, end) of every passport number in `text`: a passport-shaped token the words say is one."""
    if not any(ch.isdigit() for ch in text) or not (PASSPORT.search(text) or (prompt and PASSPORT.search(prompt))):
        return []
    return [m.span() for m in _PASSPORT_TOKEN.finditer(text)
            if sum(ch.isdigit() for ch in m.group(0)) >= 2 and not _DATE_LIKE.fullmatch(m.group(0))
            and (asked(prompt, PASSPORT, text, m.start()) or cue_near(text, m.start(), m.end(), PASSPORT, before=40,
                                                                       after=20))]
