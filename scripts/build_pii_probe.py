"""Build evals/datasets/pii_probe.jsonl: synthetic PII in realistic customer-service turns, every value labelled.

Deterministic (seed 5). Values are synthetic: fictional 555-01xx / Ofcom drama numbers, generated card numbers
that pass Luhn, IBANs with computed check digits, SSNs and NI numbers in valid ranges, invented people and
streets. Each record is a small contact (1-3 turns) with the spans to find; non-PII look-alikes (order numbers,
amounts, dates, tracking codes) are mixed in so false positives show. `python scripts/build_pii_probe.py`.
"""

from __future__ import annotations

import json
import random
import string
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "evals" / "datasets" / "pii_probe.jsonl"
R = random.Random(5)
FIRST = ["Priya", "Tomasz", "Grace", "Mohammed", "Sofia", "Liam", "Aisha", "Kenji", "Chloe", "Mateo", "Hannah",
         "Oluwaseun", "Ingrid", "Rahul", "Fatima", "Declan", "Mei", "Lucas", "Amara", "Nikolai", "Elena", "Dmitri"]
LAST = ["Raman", "Nowak", "O'Neill", "Haddad", "Rossi", "Brennan", "Okafor", "Tanaka", "Dubois", "Herrera",
        "Lindqvist", "McAllister", "Smith-Jones", "Kowalczyk", "Adeyemi", "Varga", "Castellano", "Whitfield"]
STREETS = ["Maple", "Kingfisher", "Harcourt", "Elm", "Willow", "Cedar", "Bramble", "Lakeview", "Juniper", "Orchard"]
TYPES = ["Street", "St", "Avenue", "Ave", "Road", "Rd", "Lane", "Drive", "Close", "Court", "Way", "Blvd"]
US_CITIES = [("Springfield", "IL", "62704"), ("Austin", "TX", "78701"), ("Portland", "OR", "97205"),
             ("Columbus", "OH", "43215"), ("Raleigh", "NC", "27601"), ("Tucson", "AZ", "85701")]
UK_TOWNS = [("Leeds", "LS6 2QT"), ("Sheffield", "S10 1DH"), ("Bristol", "BS8 4RE"), ("Norwich", "NR2 3HL"),
            ("Cardiff", "CF10 3AT"), ("Leicester", "LE1 6SL")]
DOMAINS = ["gmail.com", "outlook.com", "yahoo.co.uk", "icloud.com", "btinternet.com", "proton.me", "example.org"]
DISTRACTORS = ["My order number is {order}.", "It was {amount} on the invoice dated {date}.",
               "Tracking says 1Z{track} and it left the depot at 8:30pm.", "The reference is REF-{ref}.",
               "I ordered 2 items, SKU 4431-{sku}.", "The app is on version 14.2.{ver}."]


def _digits(n: int) -> str:
    return "".join(R.choice(string.digits) for _ in range(n))


def _luhn_complete(prefix: str, length: int) -> str:
    body = prefix + _digits(length - len(prefix) - 1)
    for check in string.digits:
        total = 0
        for i, ch in enumerate(reversed(body + check)):
            d = int(ch)
            if i % 2 == 1:
                d = d * 2 - 9 if d > 4 else d * 2
            total += d
        if total % 10 == 0:
            return body + check
    raise AssertionError


def card() -> str:
    kind = R.choice(["visa", "mc", "amex"])
    number = _luhn_complete("4", 16) if kind == "visa" else _luhn_complete(R.choice(["51", "53", "55"]), 16) \
        if kind == "mc" else _luhn_complete(R.choice(["34", "37"]), 15)
    style = R.choice(["space", "dash", "none"])
    if kind == "amex":
        groups = [number[:4], number[4:10], number[10:]]
    else:
        groups = [number[i:i + 4] for i in range(0, 16, 4)]
    return {"space": " ".join(groups), "dash": "-".join(groups), "none": number}[style]


def iban() -> str:
    country, length = R.choice([("GB", 22), ("DE", 22), ("FR", 27), ("ES", 24), ("NL", 18), ("IT", 27), ("IE", 22)])
    if country in ("GB", "NL", "IE"):
        bban = "".join(R.choice(string.ascii_uppercase) for _ in range(4)) + _digits(length - 8)
    else:
        bban = _digits(length - 4)
    digits = "".join(str(int(c, 36)) for c in bban + country + "00")
    value = f"{country}{98 - int(digits) % 97:02d}{bban}"
    return " ".join(value[i:i + 4] for i in range(0, len(value), 4)) if R.random() < 0.6 else value


def ssn() -> str:
    area = R.choice([n for n in range(1, 900) if n != 666])
    return f"{area:03d}-{R.randint(1, 99):02d}-{R.randint(1, 9999):04d}"


def nino() -> str:
    prefix = R.choice(["AB", "JG", "PR", "WK", "NE", "SC", "TM", "HL", "YZ", "CE"])
    num = _digits(6)
    if R.random() < 0.5:
        return f"{prefix} {num[:2]} {num[2:4]} {num[4:]} {R.choice('ABCD')}"
    return f"{prefix}{num}{R.choice('ABCD')}"


def phone() -> str:
    n = f"{R.randint(0, 99):02d}"
    area = R.choice(["415", "212", "312", "503", "617", "702"])
    return R.choice([f"({area}) 555-01{n}", f"{area}-555-01{n}", f"{area}.555.01{n}", f"+1 {area} 555 01{n}",
                     f"+1{area}55501{n}", f"07700 900{R.randint(100, 999)}", f"+44 7700 900{R.randint(100, 999)}",
                     f"020 7946 0{R.randint(100, 999)}", f"+44 20 7946 0{R.randint(100, 999)}"])


def email(first: str, last: str) -> str:
    user = R.choice([f"{first}.{last}", f"{first[0]}{last}", f"{first}{R.randint(1, 99)}", f"{last}_{first[0]}"])
    return f"{user.lower().replace(chr(39), '')}@{R.choice(DOMAINS)}"


def address() -> str:
    number = R.randint(1, 9800)
    street = f"{number} {R.choice(STREETS)} {R.choice(TYPES)}"
    if R.random() < 0.55:
        city, state, zipcode = R.choice(US_CITIES)
        unit = R.choice(["", f" Apt {R.randint(1, 40)}{R.choice('ABC')}", f", Suite {R.randint(100, 900)}"])
        zip4 = f"{zipcode}-{_digits(4)}" if R.random() < 0.4 else zipcode
        return f"{street}{unit}, {city}, {state} {zip4}"
    town, postcode = R.choice(UK_TOWNS)
    return f"{street}, {town} {postcode}"


def _person() -> tuple[str, str]:
    return R.choice(FIRST), R.choice(LAST)


TEMPLATES = {
    "EMAIL": ["you can email me at {v}", "My email is {v} if you need it.", "it's {v}",
              "Please send the receipt to {v}, not the old address.", "I changed my login email to {v} last week",
              "Can you confirm you have {v} on file?"],
    "PHONE": ["You can reach me on {v} after 5.", "my number is {v}", "Call me back at {v} please",
              "The phone on the account is {v}", "text me on {v} when it ships", "It's {v}, the mobile."],
    "CARD": ["The card number is {v}, expiry 09/27.", "I paid with {v}", "charge it to {v} please",
             "my visa is {v}", "It was card {v} that got charged twice."],
    "IBAN": ["Please refund to my IBAN {v}", "my bank account is {v}", "IBAN: {v}",
             "Can you send it to {v}? That's my new account.", "The direct debit should come from {v}"],
    "NATIONAL_ID": ["My SSN is {v}", "social security number {v}", "National Insurance number {v}",
                    "my NI number is {v}", "For the tax form: {v}"],
    "ADDRESS": ["I live at {v}.", "Please ship it to {v}", "the address on file is {v}",
                "My new address is {v}, since March.", "It went to {v} instead of my office."],
}
NAME_CONTEXTS = [
    [("agent", "Can I take your full name please?"), ("customer", "{full}")],
    [("customer", "Hi, my name is {full} and I have a problem with my bill.")],
    [("customer", "This is {full}, I called yesterday about the router.")],
    [("customer", "I'm {full}, the account holder.")],
    [("customer", "Name: {full}")],
    [("customer", "my name is {lower}")],
    [("customer", "I need to update my plan."), ("agent", "Of course. Thank you, {first}. One moment.")],
    [("customer", "Still waiting on that refund."), ("agent", "Sorry about that, Mr. {last}, let me check.")],
]


def _span(text: str, value: str, kind: str, turn: int) -> dict:
    start = text.index(value)
    return {"turn": turn, "start": start, "end": start + len(value), "type": kind, "value": value}


def build() -> list[dict]:
    records = []
    counts = {"EMAIL": 40, "PHONE": 44, "CARD": 36, "IBAN": 30, "NATIONAL_ID": 32, "ADDRESS": 42}
    for kind, n in counts.items():
        for i in range(n):
            first, last = _person()
            value = {"EMAIL": lambda: email(first, last), "PHONE": phone, "CARD": card, "IBAN": iban,  # noqa: B023
                     "NATIONAL_ID": lambda: ssn() if i % 2 == 0 else nino(), "ADDRESS": address}[kind]()  # noqa: B023
            template = TEMPLATES[kind][i % len(TEMPLATES[kind])]
            if kind == "NATIONAL_ID":
                template = TEMPLATES[kind][(i // 2) % 2 + (0 if i % 2 == 0 else 2)] if i % 5 else TEMPLATES[kind][4]
            text = template.format(v=value)
            if R.random() < 0.5:
                distractor = R.choice(DISTRACTORS).format(
                    order=_digits(10), amount=f"${R.randint(5, 400)}.{_digits(2)}", date=f"{R.randint(1, 28)}/11/25",
                    track=_digits(16), ref=_digits(5), sku=_digits(2), ver=R.randint(0, 9))
                text = f"{distractor} {text}" if R.random() < 0.5 else f"{text} {distractor}"
            records.append({"id": f"probe-{kind.lower()}-{i:02d}", "turns": [{"speaker": "customer", "text": text}],
                            "spans": [_span(text, value, kind, 0)]})
    for i in range(32):
        first, last = _person()
        context = NAME_CONTEXTS[i % len(NAME_CONTEXTS)]
        turns, spans = [], []
        for t, (speaker, template) in enumerate(context):
            text = template.format(full=f"{first} {last}", lower=f"{first} {last}".lower(), first=first, last=last)
            turns.append({"speaker": speaker, "text": text})
            for value in (f"{first} {last}", f"{first} {last}".lower(), first, last):
                if value in text and not any(s["turn"] == t and s["start"] <= text.index(value) < s["end"]
                                             for s in spans):
                    spans.append(_span(text, value, "NAME", t))
                    break
        records.append({"id": f"probe-name-{i:02d}", "turns": turns, "spans": spans})
    return records


if __name__ == "__main__":
    rows = build()
    OUT.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    print(f"{OUT}: {len(rows)} records, {sum(len(r['spans']) for r in rows)} labelled PII instances")
