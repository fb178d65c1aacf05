"""Numbers for the governance PII scan (see `pii_scan`): every run of digits, written or read out, judged once.

A run of digits is personal or not by its shape, its check digits and the cue word nearest to it: "card" makes
sixteen digits a card whatever their checksum, "order" makes ten digits an order number even when they would dial.
Dates, times, amounts, versions and links are blanked before runs are read, so "25/11/25" is never seven digits of a
phone. Phone numbers are read with `phonenumbers` in the regions the worker serves (GB, IE, FR, DE, ES, IT, NL, US);
a number that most of them read as toll-free, premium or shared-cost is a business's line, not a person's.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberType

from cx_worker.governance.pii_checks import luhn_ok, nir_ok, ssn_shape_ok

Hit = tuple[str, int, int, str]  # kind, start, end, rule
BLANK = "\u2588"  # stands in for text that must not be read: not a word character, not a digit


def number_hits(text: str) -> Iterator[Hit]:
    """Phones, cards, bank accounts and national ids written as digits (or digit words) in `text`."""
    numeric = _NOT_PERSONAL_NUMBERS.sub(lambda m: BLANK * len(m.group(0)), text)
    yield from _numbers(numeric)
    yield from _spoken_numbers(numeric)


# --- what is blanked before reading: numbers that are not personal ----------------------------------------------

_NOT_PERSONAL_NUMBERS = re.compile(
    r"https?://\S+|www\.\S+"  # links carry ids, not people
    r"|(?<![\d./-])\d{1,2}([./-])\d{1,2}\1(?:\d{4}|\d{2})(?![\d]|[./-]\d)"  # 13/11/17, 01.02.2023
    r"|(?<![\d./-])\d{4}([./-])\d{1,2}\2\d{1,2}(?![\d]|[./-]\d)"  # 2019-10-09
    r"|(?<!\d)\d{1,2}[:h.]\d{2}(?::\d{2})?\s?(?:[ap]\.?m\.?)\b|(?<![\d.])\d{1,2}:\d{2}(?::\d{2})?(?![\d])"  # times
    r"|[$€£¥₹]\s?\d[\d.,]*|\b(?:rs|inr|usd|eur|gbp)\.?\s?\d[\d.,]*"  # amounts
    r"|(?<![\w.,])\d[\d.,]*\s?(?:%|€|\$|£|eur\b|euros?\b|usd\b|dollars?\b|gbp\b|pounds?\b|k\b)"
    r"|(?<![\d.])[vV]?\d{1,2}(?:\.\d{1,3}){1,3}(?![.\d])|(?<![\d.])\d{1,3}(?:\.\d{1,3}){3}(?![.\d])",  # versions, IPs
    re.I,
)


# --- cue words: what the words nearest a number say it is ------------------------------------------------------

CUE_WORDS = {
    "card": r"card|cards|visa|master\s?card|amex|american\s+express|maestro|discover|debit|credit|cvv|carte|cb|"
            r"karte|kreditkarte|tarjeta|carta|kaart|creditcard|bankpas|pinpas",
    "account": r"(?:bank\s+)?account(?!\s*id)|acct|a/c|routing|aba|sort[\s-]?code|bsb|iban|compte|rib|konto\w*|"
               r"cuenta|conto|rekening\w*|bank\s+details",
    "national_id": r"ssn|social\s+security|national\s+insurance|nino|ni\s+number|national\s+id\w*|identity\s+"
                   r"(?:card|number|document)|id\s+card|tax\s+(?:id|number|code)|tin|s[ée]cu(?:rit[ée]\s+sociale)?|"
                   r"nir|insee|carte\s+vitale|carte\s+d'identit[ée]|personalausweis|ausweis\w*|steuer-?id|"
                   r"steuer\w*nummer|sozialversicherungs\w*|dni|nie|nif|documento\s+de\s+identidad|seguridad\s+"
                   r"social|codice\s+fiscale|carta\s+d'identit[àa]|tessera\s+sanitaria|bsn|burgerservicenummer|"
                   r"sofi\w*|ppsn?|personal\s+public\s+service",
    "passport": r"passport|passeport|reisepass|pass-?nr|passnummer|pasaporte|passaporto|paspoort\w*",
    # says the number is a business's or a thing's, not a person's; ahead of "phone" so it wins a tie
    # ("please call 0345 ..." is the customer told to ring a business)
    "other": r"orders?|ord|ref|reference|invoice|inv|ticket|case|tracking|track|parcel|package|shipment|"
             r"consignment|confirmation|booking|reservation|transaction|txn|receipt|serial|model|sku|item|product|"
             r"part|membership|member|loyalty|policy|claim|id|pnr|flight|barcode|voucher|coupon|promo|code|version|"
             r"build|commande|facture|r[ée]f[ée]rence|dossier|colis|suivi|bestellung|bestellnummer|rechnung|"
             r"sendung|auftrag|pedido|factura|referencia|env[íi]o|seguimiento|ordine|fattura|riferimento|"
             r"spedizione|pratica|bestelling|factuur|referentie|zending|pakket|us|our|helpline|hotline|team|"
             r"department|office|branch|store|shop|desk|reception|switchboard|please\s+call|to\s+call|"
             r"(?:try|tried|by)\s+calling|(?:can|could|should|may)\s+call",
    "phone": r"phone|phones|ph|telephone|tel|mobile|cell|cellphone|landline|whats\s?app|sms|fax|dial|contact|"
             r"(?:call|ring|reach|text|contact)(?:ed|ing)?\s+(?:me|you|him|her|them|back)|callback|"
             r"(?:my|your|his|her|their|home|work)\s+number|t[ée]l[ée]phone|t[ée]l|portable|joindre|appelez-moi|"
             r"telefon\w*|handy|rufnummer|festnetz|tel[ée]fono|m[óo]vil|celular|ll[áa]mame|cellulare|chiamami|"
             r"mobiel|bel\s+me|call|calls|called|calling|ring|reach|text|texts",
}
_CUE = {name: re.compile(rf"(?<![\w])(?:{words})(?![\w])", re.I) for name, words in CUE_WORDS.items()}
_CUE["other"] = re.compile(rf"(?<![\w])(?:{CUE_WORDS['other']})(?![\w])|#", re.I)


def nearest_cue(text: str, start: int, end: int, *, before: int = 60, after: int = 25) -> str | None:
    """The cue closest to text[start:end], looking `before` characters back and `after` ahead."""
    window, ahead = text[max(0, start - before):start], text[end:end + after]
    best, best_distance = None, None
    for name, pattern in _CUE.items():
        behind = list(pattern.finditer(window))
        distances = [len(window) - behind[-1].end()] if behind else []
        first = pattern.search(ahead)
        if first:
            distances.append(first.start() + 1)  # a cue behind wins a tie
        for d in distances:
            if best_distance is None or d < best_distance:
                best, best_distance = name, d
    return best


# --- numbers: one reading of every digit run, then one judgement of what it is ----------------------------------

_SEP = r"(?:[ \u00a0]?[./\-–][ \u00a0]?|[ \u00a0]{1,2}|[ \u00a0]?\((?=\d)|\)[ \u00a0]?)"
_NUMBER = re.compile(rf"(?<![\w@#.,/=?&+\-–])(?:\+[ \u00a0]?|\(\+?)?\d(?:{_SEP}?\d)*(?![\w%@])")
_NANP = re.compile(r"\(\d{3}\)[ .-]?\d{3}[ .-]\d{4}|\d{3}([.-])\d{3}\1\d{4}")  # (415) 555-0132, 415-555-0132
_CARD_GROUPS = re.compile(r"\d{4}(?:[ -]\d{4}){2,3}(?:[ -]\d{1,3})?|\d{4}[ -]\d{6}[ -]\d{4,5}")
_BUSINESS_LINES = {PhoneNumberType.TOLL_FREE, PhoneNumberType.PREMIUM_RATE, PhoneNumberType.SHARED_COST}


def _numbers(numeric: str) -> Iterator[Hit]:
    for m in _NUMBER.finditer(numeric):
        digits = re.sub(r"\D", "", m.group(0))
        if len(digits) >= 6 and (judged := _judge_number(numeric, m.start(), m.end(), m.group(0), digits)):
            yield judged[0], m.start(), m.end(), judged[1]


def _judge_number(text: str, start: int, end: int, raw: str, digits: str, *,
                  spoken: bool = False) -> tuple[str, str] | None:
    """What a run of digits is, from its shape, its check digits and the nearest cue word; None if not personal."""
    n, cue = len(digits), nearest_cue(text, start, end)
    by_cue = {"card": ("CARD", 12, 19), "account": ("ACCOUNT", 6, 34), "national_id": ("NATIONAL_ID", 6, 15),
              "passport": ("PASSPORT", 6, 10)}
    if cue in by_cue and by_cue[cue][1] <= n <= by_cue[cue][2]:
        return by_cue[cue][0], f"number after {cue.replace('_', ' ')} words"
    if 13 <= n <= 19 and digits[0] in "23456" and luhn_ok(digits) and (cue != "other" or _CARD_GROUPS.fullmatch(raw)):
        return "CARD", "card checksum"
    ssn = re.fullmatch(r"(\d{3})-(\d{2})-(\d{4})", raw)
    if ssn and ssn_shape_ok(*ssn.groups()) and cue != "other":
        return "NATIONAL_ID", "US SSN format"
    if n == 15 and digits[0] in "12" and nir_ok(digits):
        return "NATIONAL_ID", "French NIR key"
    if raw.startswith(("+", "(+")):
        return _international(digits, cue, sure=True)
    if re.match(r"00[1-9]", digits) and (judged := _international(digits[2:], cue, sure=False)):
        return judged  # else a 00 that is no international prefix: read on as a national number
    if not 7 <= n <= 15:
        return None
    types = _phone_types(digits)
    if types and sum(t in _BUSINESS_LINES for t in types) * 2 >= len(types):
        return None  # read as toll-free, premium or shared-cost in most regions: a business's line
    if cue == "phone":
        return "PHONE", "number after phone words"
    if cue == "other":
        return None
    if spoken:
        return "PHONE", "spoken digits"
    if digits[0] == "0" and digits[1] != "0" and (types and 9 <= n <= 13 or 10 <= n <= 11):
        return "PHONE", "national format with trunk 0"
    if digits[0] != "0" and types and len(re.findall(r"\d+", raw)) >= 2:
        return "PHONE", "grouped national number"
    if _NANP.fullmatch(raw):
        return "PHONE", "North American format"
    return None


def _international(digits: str, cue: str | None, *, sure: bool) -> tuple[str, str] | None:
    """A number written with + (`sure`) or 00: a phone unless it is a business line or the cue says otherwise."""
    if not 8 <= len(digits) <= 15 or cue == "other":
        return None
    try:
        number = phonenumbers.parse("+" + digits)
    except NumberParseException:
        return ("PHONE", "international format") if sure else None
    if phonenumbers.is_valid_number(number) and phonenumbers.number_type(number) in _BUSINESS_LINES:
        return None
    return ("PHONE", "international format") if sure or phonenumbers.is_possible_number(number) else None


def _phone_types(digits: str) -> list[int]:
    """Number types in the regions where the digits, as written, are a valid number (trunk 0 or not)."""
    regions = ("GB", "IE", "FR", "DE", "IT", "NL") if digits.startswith("0") else ("US", "ES", "IT")
    types = []
    for region in regions:
        try:
            number = phonenumbers.parse(digits, region)
        except NumberParseException:
            continue
        if phonenumbers.is_valid_number_for_region(number, region):
            types.append(phonenumbers.number_type(number))
    return types


_DIGIT_WORDS = {
    **dict.fromkeys(("zero", "oh", "o", "nought", "nil", "zéro", "null", "cero", "nul"), "0"),
    **dict.fromkeys(("one", "un", "une", "eins", "uno", "een"), "1"),
    **dict.fromkeys(("two", "deux", "zwei", "zwo", "dos", "due", "twee"), "2"),
    **dict.fromkeys(("three", "trois", "drei", "tres", "tre", "drie"), "3"),
    **dict.fromkeys(("four", "quatre", "vier", "cuatro", "quattro"), "4"),
    **dict.fromkeys(("five", "cinq", "fünf", "cinco", "cinque", "vijf"), "5"),
    **dict.fromkeys(("six", "sechs", "seis", "sei", "zes"), "6"),
    **dict.fromkeys(("seven", "sept", "sieben", "siete", "sette", "zeven"), "7"),
    **dict.fromkeys(("eight", "huit", "acht", "ocho", "otto"), "8"),
    **dict.fromkeys(("nine", "neuf", "neun", "nueve", "nove", "negen"), "9"),
}
_REPEAT = {"double": 2, "triple": 3, "doppio": 2, "doble": 2}


def _spoken_numbers(text: str) -> Iterator[Hit]:
    """Numbers read out digit by digit ("oh seven seven double oh ..."), possibly mixed with written digits."""
    run: list[re.Match[str]] = []
    for m in re.finditer(r"[^\W_]+|\+", text):
        w = m.group(0).lower()
        joined = run and re.fullmatch(r"[ \t,.\-–]*", text[run[-1].end():m.start()])
        if not joined:
            yield from _spoken_run(text, run)
            run = []
        if w in _DIGIT_WORDS or w.isdigit() or w in _REPEAT or (w in ("+", "plus") and not run):
            run.append(m)
        else:
            yield from _spoken_run(text, run)
            run = []
    yield from _spoken_run(text, run)


def _spoken_run(text: str, run: list[re.Match[str]]) -> Iterator[Hit]:
    while run and run[-1].group(0).lower() in _REPEAT:
        run = run[:-1]
    words = sum(m.group(0).lower() in _DIGIT_WORDS for m in run)
    if words < 3:
        return
    digits, repeat = "", 1
    for m in run:
        w = m.group(0).lower()
        if w in _REPEAT:
            repeat = _REPEAT[w]
        elif w in _DIGIT_WORDS or w.isdigit():
            digits += (_DIGIT_WORDS.get(w) or w) * repeat
            repeat = 1
    plus = run[0].group(0).lower() in ("+", "plus")
    if len(digits) >= 7:
        raw = ("+" if plus else "") + digits
        judged = _judge_number(text, run[0].start(), run[-1].end(), raw, digits, spoken=True)
        if judged:
            yield judged[0], run[0].start(), run[-1].end(), judged[1]
