"""Check digits and registries the governance PII scan uses to tell personal numbers from look-alikes.

Each check takes the compact form (digits and letters only, upper case) and answers a yes/no; none of them knows
anything about where the number was found.
"""

from __future__ import annotations

# IBAN length per country (SWIFT IBAN registry): a code in this table followed by two check digits is an IBAN shape.
IBAN_LENGTHS: dict[str, int] = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22, "BI": 27, "BR": 29,
    "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DJ": 27, "DK": 18, "DO": 28, "EE": 20, "EG": 29,
    "ES": 24, "FI": 18, "FK": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27, "GT": 28,
    "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IQ": 23, "IS": 26, "IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28,
    "LC": 32, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "LY": 25, "MC": 27, "MD": 24, "ME": 22, "MK": 19, "MN": 20,
    "MR": 27, "MT": 31, "MU": 30, "NI": 28, "NL": 18, "NO": 15, "OM": 23, "PK": 24, "PL": 28, "PS": 29, "PT": 25,
    "QA": 29, "RO": 24, "RS": 22, "RU": 33, "SA": 24, "SC": 31, "SD": 18, "SE": 24, "SI": 19, "SK": 24, "SM": 27,
    "SO": 23, "ST": 25, "SV": 28, "TL": 23, "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20, "YE": 30,
}

_DNI_LETTERS = "TRWAGMYFPDXBNJZSQVHLCKE"
_PPSN_LETTERS = "WABCDEFGHIJKLMNOPQRSTUV"


def luhn_ok(digits: str) -> bool:
    """Payment-card checksum."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def iban_ok(compact: str) -> bool:
    """ISO 13616 mod-97 check of an IBAN (country, check digits, BBAN)."""
    if len(compact) < 5 or not compact.isalnum():
        return False
    moved = compact[4:] + compact[:4]
    return int("".join(str(int(ch, 36)) for ch in moved)) % 97 == 1


def nir_ok(digits: str) -> bool:
    """French social security number (NIR): 13 digits and a two-digit key 97 - (n mod 97); Corsica's 2A/2B count
    as 19/18."""
    if len(digits) != 15:
        return False
    body = digits[:13].replace("2A", "19").replace("2B", "18")
    return body.isdigit() and 97 - int(body) % 97 == int(digits[13:])


def dni_ok(compact: str) -> bool:
    """Spanish DNI (8 digits + letter) or NIE (X/Y/Z + 7 digits + letter) control letter."""
    if len(compact) != 9:
        return False
    head = compact[:8]
    if head[0] in "XYZ":
        head = str("XYZ".index(head[0])) + head[1:]
    return head.isdigit() and _DNI_LETTERS[int(head) % 23] == compact[8]


def ppsn_ok(compact: str) -> bool:
    """Irish PPS number: 7 digits, a check letter, an optional second letter (weighted 9, W counting as 0)."""
    if not (8 <= len(compact) <= 9 and compact[:7].isdigit()):
        return False
    total = sum(int(d) * w for d, w in zip(compact[:7], range(8, 1, -1), strict=True))
    if len(compact) == 9 and compact[8] != "W":
        total += (ord(compact[8]) - 64) * 9
    return _PPSN_LETTERS[total % 23] == compact[7]


def ssn_shape_ok(area: str, group: str, serial: str) -> bool:
    """US SSN ranges the SSA never issues (area 000, 666, 900-999; group 00; serial 0000)."""
    return area not in ("000", "666") and area[0] != "9" and group != "00" and serial != "0000"
