"""Dates of birth: any date, in digits or in words, in English, French, German, Spanish, Italian or Dutch, when the
words around it (or the question it answers) say birth.

A date alone is not personal (an invoice date, a delivery date, opening hours), so every date needs a birth cue:
"born", "DOB", "date of birth", "né le", "Geburtsdatum", "fecha de nacimiento", "nato il", "geboortedatum" … before
it (or just after: "12/03/1985 is my date of birth"), with no order, invoice or delivery word in between; or the
agent's question just before ("Can you confirm your date of birth?") and nothing in the answer saying otherwise.

Shapes: 12/03/1985, 12.03.85, 12-3-1985, 1985-03-12, 12 03 1985, 12031985, 12 March 1985, 12th of March 1985,
March 12, 1985, le 1er mars 1985, 12. März 1985, 12 de marzo de 1985, 12 marzo 1985, 12 maart 1985, March 1985,
the twelfth of March nineteen eighty-five, and a birth year said as such ("born in 1985").
"""

from __future__ import annotations

import re

from cx_worker.redaction.context import BIRTH, NOT_BIRTH, asked, cue_near

_MONTH_NAMES = (
    "january|janvier|januar|jänner|enero|gennaio|januari",
    "february|février|fevrier|februar|febrero|febbraio|februari",
    "march|mars|märz|maerz|marzo|maart",
    "april|avril|abril|aprile",
    "may|mai|mayo|maggio|mei",
    "june|juin|juni|junio|giugno",
    "july|juillet|juli|julio|luglio",
    "august|août|aout|agosto|augustus",
    "september|septembre|septiembre|setiembre|settembre",
    "october|octobre|oktober|octubre|ottobre",
    "november|novembre|noviembre",
    "december|décembre|decembre|dezember|diciembre|dicembre",
)
_MONTH_ABBREVIATIONS = ("jan|janv|jän|ene|gen", "feb|févr|fevr|fév|fev", "mar|mär|mrz|mrt", "apr|avr|abr",
                        "", "jun|giu", "jul|juil|lug", "aug|ago|aoû", "sep|sept|set", "oct|okt|ott", "nov",
                        "dec|déc|dez|dic")
_MONTH_WORD = ("(?:" + "|".join(sorted({w for group in _MONTH_NAMES + _MONTH_ABBREVIATIONS for w in group.split("|")
                                        if w}, key=len, reverse=True)) + r")(?!\w)")
_MONTH = _MONTH_WORD + r"\.?"
_UNITS = "one|two|three|four|five|six|seven|eight|nine"
_TEENS = "ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|seventeen|eighteen|nineteen"
_TENS = "twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety"
_ORDINAL_UNITS = "first|second|third|fourth|fifth|sixth|seventh|eighth|ninth"
_ORDINAL = (rf"(?:(?:twenty|thirty)[- ]?(?:{_ORDINAL_UNITS})|{_ORDINAL_UNITS}|tenth|eleventh|twelfth|thirteenth"
            r"|fourteenth|fifteenth|sixteenth|seventeenth|eighteenth|nineteenth|twentieth|thirtieth)")
_TWO_DIGITS_SAID = rf"(?:(?:{_TENS})(?:[- ](?:{_UNITS}))?|{_TEENS}|oh[- ](?:{_UNITS}))"
_YEAR_SAID = (rf"(?:nineteen[- ](?:hundred(?: and)? )?{_TWO_DIGITS_SAID}|two thousand(?:(?: and)? (?:{_TWO_DIGITS_SAID}"
              rf"|{_UNITS}))?|twenty[- ](?:{_TEENS}|{_TENS}|oh[- ](?:{_UNITS})))")
_DAY = r"(?:[12]\d|3[01]|0?[1-9])(?:st|nd|rd|th|er|re|e|ème|eme|º|°|\.)?"
_YEAR = r"(?:19\d\d|20[0-3]\d|'?\d\d)"
_NUMERIC = (
    # 12/03/1985, 12.3.85; with spaces only a four-digit year and no more digit groups: "12 03 1985", not a phone.
    r"(?<![\d/.-])(?<!\d\s)(?P<a>\d{1,2})(?:(?P<s>[./-])(?P<b>\d{1,2})(?P=s)(?P<y>\d{4}|\d{2})(?![\d/.-]?\d)"
    r"|(?P<sp>\s)(?P<bs>\d{1,2})\s(?P<ys>(?:19|20)\d\d)(?!\s?\d))",
    r"(?<![\d/.-])(?P<y2>(?:19|20)\d\d)(?P<s2>[./-])(?P<b2>\d{1,2})(?P=s2)(?P<a2>\d{1,2})(?![\d/.-]?\d)",
    r"(?<!\d)(?P<compact>\d{8})(?!\d)",
)
_WORDS = (
    # 12 March 1985, 12th of March 1985, le 1er mars 1985, 12. März 1985, 12 de marzo de 1985, 12 March
    rf"(?<![\w/.-]){_DAY}\s*(?:of\s+|de\s+)?{_MONTH},?(?:\s+(?:de\s+|del\s+|of\s+)?{_YEAR}(?!\d))?",
    # March 12, 1985, March 12th 1985, March the 12th
    rf"(?<!\w){_MONTH}\s+(?:the\s+)?{_DAY}(?!\d),?(?:\s+{_YEAR}(?!\d))?",
    # March 1985, marzo de 1985
    rf"(?<!\w){_MONTH}\s+(?:of\s+|de\s+|del\s+)?{_YEAR}(?!\d)",
    # the twelfth of March nineteen eighty-five, March the twelfth
    rf"(?<!\w)(?:the\s+)?{_ORDINAL}\s+(?:of\s+)?{_MONTH}(?:,?\s+(?:{_YEAR_SAID}|{_YEAR})(?!\w))?",
    rf"(?<!\w){_MONTH}\s+(?:the\s+)?{_ORDINAL}(?:,?\s+(?:{_YEAR_SAID}|{_YEAR})(?!\w))?",
)
_DATE = re.compile("|".join(f"(?:{p})" for p in _NUMERIC + _WORDS), re.IGNORECASE)
# A birth year on its own, only when said to be one: "born in 1985", "year of birth: 1985", "Jahrgang 1985".
_BIRTH_YEAR = re.compile(r"(?i:\b(?:born\s+in|year\s+of\s+birth:?|birth\s+year:?|n[ée]e?\s+en|ann[ée]e\s+de\s+"
                         r"naissance:?|geboren\s+(?:im\s+jahr\s+)?|geburtsjahr:?|jahrgang|nac[íi]d?[oa]?\s+en"
                         r"|a[ñn]o\s+de\s+nacimiento:?|nat[oa]\s+nel|anno\s+di\s+nascita:?|geboren\s+in|geboortejaar:?)"
                         r")\s+(?P<year>(?:19|20)\d\d)(?!\d)")
_DIGIT_OR_MONTH = re.compile(rf"\d|{_MONTH_WORD}|\b{_ORDINAL}", re.IGNORECASE)


def _plausible(m: re.Match[str]) -> bool:
    if m.group("compact"):
        s = m.group("compact")
        day_first = 1 <= int(s[:2]) <= 31 and 1 <= int(s[2:4]) <= 12 and 1900 <= int(s[4:]) <= 2039
        year_first = 1900 <= int(s[:4]) <= 2039 and 1 <= int(s[4:6]) <= 12 and 1 <= int(s[6:]) <= 31
        return day_first or year_first
    a, b = m.group("a") or m.group("a2"), m.group("b") or m.group("b2") or m.group("bs")
    if a is None:
        return True  # a month name: the pattern already bounds the day
    a, b = int(a), int(b)
    year = m.group("y") or m.group("y2") or m.group("ys")
    if len(year) == 4 and not 1900 <= int(year) <= 2039:
        return False
    return (1 <= a <= 31 and 1 <= b <= 12) or (1 <= a <= 12 and 1 <= b <= 31)


def find_dates_of_birth(text: str, *, prompt: str = "") -> list[tuple[int, int]]:
    """(start, end) of every date of birth in `text`.

    Args:
        prompt: the turn this text answers; a question about the date of birth makes a date in the answer one.
    """
    if not (BIRTH.search(text) or (prompt and BIRTH.search(prompt))) or not _DIGIT_OR_MONTH.search(text):
        return []  # every date of birth is said to be one, in the turn or in the question before it
    found: list[tuple[int, int]] = []
    for m in _DATE.finditer(text):
        start, end = m.span()
        while end > start and text[end - 1] in ",. ":
            end -= 1
        answer = asked(prompt, BIRTH, text, start)
        if m.group("sp") and not answer and not cue_near(text, start, end, BIRTH, before=30):
            continue  # "12 03 1985" with spaces only right after the cue: "3 items 12 2024" is no date
        if not _plausible(m):
            continue
        said = cue_near(text, start, end, BIRTH, before=45, after=30, blocked_by=NOT_BIRTH)
        if said or (answer and not NOT_BIRTH.search(text[max(0, start - 30):start])):
            found.append((start, end))
    for m in _BIRTH_YEAR.finditer(text):
        start, end = m.span("year")
        if not any(s < end and start < e for s, e in found):
            found.append((start, end))
    return sorted(found)
