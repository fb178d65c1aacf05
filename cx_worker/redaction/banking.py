"""Payment cards, IBANs and bank account numbers, each found by its shape and confirmed by its checksum or by words.

The checksum is a confidence signal, not a gate. A number that passes it (Luhn for a card, mod 97 for an IBAN, the
RIB key, the Spanish CCC control digits, the US routing number's ABA check) is redacted on its shape alone. One
that fails it — customers mistype — is redacted when its shape and the words around it agree: a card-shaped number
after "card" / "Visa" / "carte" / "Karte" / "tarjeta" …; an IBAN-shaped string (a real country's prefix, about its
length) after "IBAN", "account", "bank", "refund to" …

Bank accounts (kind ACCOUNT): a UK sort code with its account number, a US routing number with its account number,
a German account with its BLZ — each pair is one span, the words between them included —, a French RIB and a Spanish
CCC as whole strings, and any number after "account number" (in six languages) when the turn is about banking
("bank", "sort code", "direct debit", "refund to" …). A customer account id with no banking word is left alone.
"""

from __future__ import annotations

import re

from stdnum import numdb
from stdnum.es import ccc
from stdnum.us import rtn

from cx_worker.redaction.context import ACCOUNT, BANKING, CARD, IBAN, REFERENCE, asked, cue_in, cue_near, labelled_by

_IBAN = re.compile(r"(?<![\w-])[A-Z]{2}\d{2}(?:(?:[ -]?[A-Z0-9]{4}){2,7}(?:[ -]?[A-Z0-9]{1,4})?|[A-Z0-9]{9,30})"
                   r"(?![\w-])", re.IGNORECASE)
# 13-19 digits, optionally grouped by spaces or dashes; not inside a code ("1Z5267052125962639" is a parcel).
# Not the digits after an IBAN's country and check digits either ("DE00 3704 0044 …").
_CARD = re.compile(r"(?<![\w-])(?<![A-Za-z]{2}\d\d[ -])(?:\d[ -]?){11,18}\d(?![\w-])")
# Written as cards are (a card said with a digit missing, 12 digits, still is one).
_CARD_GROUPS = re.compile(r"\d{12,19}|\d{4}(?:[ -]\d{4}){2}(?:[ -]\d{1,7})?|\d{4}[ -]\d{6}[ -]\d{4,5}")
_CARD_PREFIX = re.compile(r"^(?:4|5[1-5]|2[2-7]|3[47]|3[0689]|35|6)")
_SORT_CODE = re.compile(r"(?<![\d-])\d{2}[- ]?\d{2}[- ]?\d{2}(?![\d-])")
_SORT_CODE_CUE = re.compile(r"(?i:\bsort[- ]?code\b|\bs/c\b)")
_ROUTING_CUE = re.compile(r"(?i:\b(?:routing|aba|rtn|transit)\b)")
_BLZ_CUE = re.compile(r"(?i:\b(?:blz|bankleitzahl)\b)")
_ACCOUNT_DIGITS = re.compile(r"(?<![\w-])\d(?:[ -]?\d){3,17}(?![\w-])")
_SIX_DIGITS = re.compile(r"\d(?:[ -]?\d){5}")
# The account number said right after its sort code or routing number: "20-00-00 12345678", "…, account 12345678".
_FOLLOWING_ACCOUNT = re.compile(r"[\s,;:&]*(?:(?:and|account|acct|acc|a/c|number|no\.?|is|konto(?:nummer)?|kto\.?)"
                                r"[\s,;:#.]*){0,3}(?P<account>\d(?:[ -]?\d){5,17})(?![\w-])", re.IGNORECASE)
_ROUTING = re.compile(r"(?<![\d-])\d{9}(?![\d-])")
_BLZ = re.compile(r"(?<![\d-])\d{3} ?\d{3} ?\d{2}(?![\d-])")
_RIB = re.compile(r"(?<![\w-])(?P<bank>\d{5}) ?(?P<branch>\d{5}) ?(?P<account>[A-Z0-9]{11}) ?(?P<key>\d{2})(?![\w-])",
                  re.IGNORECASE)
_CCC = re.compile(r"(?<![\w-])\d{4}[ -]?\d{4}[ -]?\d{2}[ -]?\d{10}(?![\w-])")
_RIB_LETTERS = str.maketrans("AJBKSCLTDMUENVFOWGPXHQYIRZ", "11222333444555666777888999")
_IBAN_DB = numdb.get("iban")


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
    iban = re.sub(r"[\s-]", "", value).upper()
    if not (15 <= len(iban) <= 34 and re.fullmatch(r"[A-Z]{2}\d{2}[A-Z0-9]+", iban)):
        return False
    digits = "".join(str(int(c, 36)) for c in iban[4:] + iban[:4])
    return int(digits) % 97 == 1


def _iban_length(country: str) -> int | None:
    info = _IBAN_DB.info(country.upper())[0][1]
    structure = info.get("bban")
    return 4 + sum(int(n) for n in re.findall(r"(\d+)!", structure)) if structure else None


def rib_ok(value: str) -> bool:
    """True if `value` is a French RIB (bank, branch, account, key) whose key checks out."""
    m = _RIB.fullmatch(value.strip())
    if not m:
        return False
    account = int(m.group("account").upper().translate(_RIB_LETTERS))
    key = 97 - (89 * int(m.group("bank")) + 15 * int(m.group("branch")) + 3 * account) % 97
    return key == int(m.group("key"))


def find_cards(text: str, *, prompt: str = "") -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """Card numbers in `text`: (those passing Luhn, those card-shaped that fail it but the words say card)."""
    valid, said = [], []
    for m in _CARD.finditer(text):
        digits = re.sub(r"\D", "", m.group(0))
        if 13 <= len(digits) <= 19 and luhn_ok(digits):
            valid.append(m.span())
        elif 12 <= len(digits) <= 19 and _CARD_GROUPS.fullmatch(m.group(0)) and _CARD_PREFIX.match(digits) and _says(
                text, m.start(), m.end(), CARD, prompt=prompt):
            said.append(m.span())
    return valid, said


def find_ibans(text: str, *, prompt: str = "") -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """IBANs in `text`: (those passing mod 97, those IBAN-shaped that fail it but the words say bank account)."""
    valid, said = [], []
    for m in _IBAN.finditer(text):
        value = m.group(0)
        if iban_ok(value):
            valid.append(m.span())
            continue
        length = _iban_length(value[:2])  # None: no country has IBANs starting so
        if not length:
            continue
        if labelled_by(text, m.start(), IBAN) is not None:
            said.append(m.span())  # "IBAN: …", whatever its length (a digit dropped or doubled)
        elif abs(len(re.sub(r"[\s-]", "", value)) - length) <= 2 and (
                _says(text, m.start(), m.end(), BANKING, prompt=prompt)
                or _says(text, m.start(), m.end(), ACCOUNT, prompt=prompt)):
            said.append(m.span())
    return valid, said


def _says(text: str, start: int, end: int, cue: re.Pattern[str], *, prompt: str) -> bool:
    if labelled_by(text, start, REFERENCE) is not None and labelled_by(text, start, cue) is None:
        return False  # "order 4111 1111 1111 1112" is an order, whatever else the turn mentions
    return cue_near(text, start, end, cue, before=45, after=30) or asked(prompt, cue, text, start)


def find_accounts(text: str, *, prompt: str = "") -> list[tuple[int, int]]:
    """(start, end) of every bank account number in `text`; a sort code or routing number and its account are one."""
    if not _SIX_DIGITS.search(text):
        return []  # every account, sort code, routing number and BLZ has six digits or more
    banking = cue_in(text, BANKING) or cue_in(prompt, BANKING)
    parts: list[tuple[int, int]] = []
    for m in _RIB.finditer(text):
        if rib_ok(m.group(0)) or banking:
            parts.append(m.span())
    for m in _CCC.finditer(text):
        if ccc.is_valid(m.group(0)) or banking:
            parts.append(m.span())
    for pattern, cue in ((_SORT_CODE, _SORT_CODE_CUE), (_ROUTING, _ROUTING_CUE), (_BLZ, _BLZ_CUE)):
        for m in pattern.finditer(text):
            said = cue_near(text, m.start(), m.end(), cue, before=30) or asked(prompt, cue, text, m.start())
            if said or (pattern is _ROUTING and banking and rtn.is_valid(m.group(0))):
                parts.append(m.span())
                after = _FOLLOWING_ACCOUNT.match(text, m.end())
                if after:
                    parts.append(after.span("account"))
    if banking:
        for m in _ACCOUNT_DIGITS.finditer(text):
            digits = sum(ch.isdigit() for ch in m.group(0))
            label = labelled_by(text, m.start(), ACCOUNT)
            if label is not None and re.search(r"(?i)\bid\b", text[label:m.start()]):
                continue  # an account ID is the customer's login, not a bank account
            if 6 <= digits <= 18 and label is not None:
                parts.append(m.span())
    return _join(text, parts)


def _join(text: str, parts: list[tuple[int, int]]) -> list[tuple[int, int]]:
    # Parts of one account said together ("sort code 20-00-00, account number 12345678") become one span.
    joined: list[list[int]] = []
    for start, end in sorted(set(parts)):
        if joined and start - joined[-1][1] <= 40 and not re.search(r"[.;!?\n]\s", text[joined[-1][1]:start]):
            joined[-1][1] = max(joined[-1][1], end)
        else:
            joined.append([start, end])
    return [(s, e) for s, e in joined]
