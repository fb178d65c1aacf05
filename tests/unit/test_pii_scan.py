"""The governance PII scan: what it must find, what it must leave alone, and that it never repeats what it found.

All values are synthetic: reserved example domains, fictional phone ranges (Ofcom 07700 900xxx, NANP 555-01xx),
published test card numbers, the IBAN registry's example accounts and the id formats' documentation examples.
"""

import re

import pytest

from cx_worker.governance.metrics import EvalItem, PiiInLlmInput, PiiLeakRate
from cx_worker.governance.pii_scan import KINDS, scan


def _kinds(text: str) -> list[str]:
    return [f.kind for f in scan(text)]


def _found(kind: str, text: str, value: str) -> None:
    """`text` holds `value` as a `kind` finding whose span covers it."""
    start = text.index(value)
    hits = [f for f in scan(text) if f.kind == kind and f.start <= start + 1 and f.end >= start + len(value) - 1]
    assert hits, (kind, text, [(f.kind, text[f.start:f.end]) for f in scan(text)])


FORMATS = {  # kind: (text, the value in it)
    "EMAIL": [
        ("you can email me at ana.ejemplo95@example.org", "ana.ejemplo95@example.org"),
        ("My email is castellano_e@example.org if you need it.", "castellano_e@example.org"),
        ("it's jo+cx@mail.example.co.uk", "jo+cx@mail.example.co.uk"),
        ("write to jo (at) example (dot) com", "jo (at) example (dot) com"),
        ("it's jo dot smith at example dot com", "smith at example dot com"),
    ],
    "PHONE": [
        ("call me on 07700 900461", "07700 900461"),  # UK mobile
        ("07700900461", "07700900461"),
        ("020 7946 0018", "020 7946 0018"),  # UK London
        ("+44 20 7946 0018", "+44 20 7946 0018"),
        ("+44 (0)20 7946 0018", "+44 (0)20 7946 0018"),
        ("0044 7700 900461", "0044 7700 900461"),
        ("087 555 0142", "087 555 0142"),  # IE mobile
        ("ring me at +353 87 555 0142", "+353 87 555 0142"),
        ("06 12 34 56 78", "06 12 34 56 78"),  # FR
        ("01.99.00.12.34", "01.99.00.12.34"),
        ("+33 6 12 34 56 78", "+33 6 12 34 56 78"),
        ("030 12345678", "030 12345678"),  # DE
        ("Handy: 0151 23456789", "0151 23456789"),
        ("+49 151 23456789", "+49 151 23456789"),
        ("612 34 56 78", "612 34 56 78"),  # ES
        ("+34 612 345 678", "+34 612 345 678"),
        ("347 123 4567", "347 123 4567"),  # IT
        ("+39 06 1234 5678", "+39 06 1234 5678"),
        ("06-12345678", "06-12345678"),  # NL
        ("+31 20 123 4567", "+31 20 123 4567"),
        ("(415) 555-0132", "(415) 555-0132"),  # US
        ("415.555.0132", "415.555.0132"),
        ("phone is 004-510-4494", "004-510-4494"),
        ("please call me for more clarification on 9899955881", "9899955881"),
        ("my mobile no. is 0870 123 456", "0870 123 456"),
    ],
    "CARD": [
        ("4111 1111 1111 1111", "4111 1111 1111 1111"),
        ("4111111111111111", "4111111111111111"),
        ("5555-5555-5555-4444", "5555-5555-5555-4444"),
        ("3782 822463 10005", "3782 822463 10005"),  # Amex grouping
        ("my card number is 1234 5678 9012 3456", "1234 5678 9012 3456"),  # checksum fails, context says card
        ("visa 4000123412341234", "4000123412341234"),
        ("carte bancaire 4970 1012 3456 7899", "4970 1012 3456 7899"),
    ],
    "IBAN": [
        ("GB29 NWBK 6016 1331 9268 19", "GB29 NWBK 6016 1331 9268 19"),
        ("DE89370400440532013000", "DE89370400440532013000"),
        ("fr76 3000 6000 0112 3456 7890 189", "fr76 3000 6000 0112 3456 7890 189"),
        ("IBAN: ES91 2100 0418 4502 0005 1332", "ES91 2100 0418 4502 0005 1332"),
        ("NL91ABNA0417164300 thanks", "NL91ABNA0417164300"),
        ("IE29 AIBK 9311 5212 3456 78", "IE29 AIBK 9311 5212 3456 78"),
        ("IT60 X054 2811 1010 0000 0123 456", "IT60 X054 2811 1010 0000 0123 456"),
        ("GB00 NWBK 6016 1331 9268 19", "GB00 NWBK 6016 1331 9268 19"),  # wrong check digits: still an IBAN shape
        ("virement sur le compte QQ12 3456 7890 1234 56", "QQ12 3456 7890 1234 56"),  # unknown country, bank words
    ],
    "ACCOUNT": [
        ("sort code 20-00-00 account 12345678", "20-00-00 account 12345678"),
        ("20-00-00 12345678", "20-00-00 12345678"),
        ("account number 12345678", "12345678"),
        ("routing number 021000021", "021000021"),
        ("my bank account is 000123456789", "000123456789"),
        ("Kontonummer 1234567890", "1234567890"),
    ],
    "NATIONAL_ID": [
        ("AB 12 34 56 C", "AB 12 34 56 C"),  # UK NINO
        ("NI number: ab123456", "ab123456"),
        ("123-45-6789", "123-45-6789"),  # US SSN
        ("my social security number is 123 45 6789", "123 45 6789"),
        ("1 85 05 78 006 084 91", "1 85 05 78 006 084 91"),  # FR NIR with its key
        ("numéro de sécurité sociale 185057800608436", "185057800608436"),
        ("12345678Z", "12345678Z"),  # ES DNI
        ("DNI 12345678A", "12345678A"),  # wrong letter, id words
        ("X1234567L", "X1234567L"),  # ES NIE
        ("RSSMRA85T10A562S", "RSSMRA85T10A562S"),  # IT codice fiscale
        ("BSN 111222333", "111222333"),  # NL
        ("1234567T", "1234567T"),  # IE PPSN
        ("PPSN 1234567FA", "1234567FA"),
    ],
    "PASSPORT": [
        ("passport number 123456789", "123456789"),
        ("passport no. C01X00T47", "C01X00T47"),
        ("my passport is 12AB34567", "12AB34567"),
        ("numéro de passeport 12AB34567", "12AB34567"),
        ("Reisepass: C01X00T47", "C01X00T47"),
    ],
    "DATE_OF_BIRTH": [
        ("DOB 12/03/1985", "12/03/1985"),
        ("born on 3rd March 1985", "3rd March 1985"),
        ("date of birth: March 3, 1985", "March 3, 1985"),
        ("my date of birth is 1985-03-12", "1985-03-12"),
        ("né le 12 mars 1985", "12 mars 1985"),
        ("geboren am 12. März 1985", "12. März 1985"),
        ("fecha de nacimiento 12 de marzo de 1985", "12 de marzo de 1985"),
        ("nato il 12/03/1985", "12/03/1985"),
        ("geboortedatum 12-03-1985", "12-03-1985"),
    ],
    "ADDRESS": [
        ("10 Downing Street, London SW1A 2AA", "10 Downing Street"),
        ("the current address is 3505 1st ave Baltimore TX 76438", "3505 1st ave"),
        ("1157 Circle Drive  Brighton, MI 25708", "1157 Circle Drive"),
        ("ship it to 12 high street please", "12 high street"),
        ("SW1A 1AA", "SW1A 1AA"),
        ("D02 X285", "D02 X285"),  # Eircode
        ("12 rue de la Paix, 75002 Paris", "12 rue de la Paix"),
        ("Hauptstraße 5, 10115 Berlin", "Hauptstraße 5"),
        ("Calle Mayor 5, 28013 Madrid", "Calle Mayor 5"),
        ("Via Roma 12, 00184 Roma", "Via Roma 12"),
        ("Keizersgracht 123, 1015 CJ Amsterdam", "Keizersgracht 123"),
        ("1015 CJ Amsterdam", "1015 CJ Amsterdam"),
        ("Springfield, IL 62704", "Springfield, IL 62704"),
        ("mon adresse est 3 rue de la paix", "3 rue de la paix"),
    ],
    "NAME": [
        ("My  name is Ana Ejemplo.", "Ana Ejemplo"),
        ("Name: Jo Example", "Jo Example"),
        ("Thank you Mrs Sample.", "Sample"),
        ("agent: May I have your full name?\ncustomer: Jo Example", "Jo Example"),
        ("je m'appelle Anne Exemple", "Anne Exemple"),
    ],
}


class TestEmail:
    @pytest.mark.parametrize("text, value", FORMATS["EMAIL"])
    def test_formats(self, text, value):
        _found("EMAIL", text, value)

    @pytest.mark.parametrize("text", ["ask @NikeSupport", "visit us at example.com", "email support@example.com"])
    def test_handles_sites_and_role_mailboxes_are_not_personal(self, text):
        assert "EMAIL" not in _kinds(text)


class TestPhone:
    @pytest.mark.parametrize("text, value", FORMATS["PHONE"])
    def test_formats(self, text, value):
        _found("PHONE", text, value)

    @pytest.mark.parametrize("text", [
        "my number is oh seven seven double oh nine double oh four six one",
        "plus four four seven seven zero zero nine zero zero four six one",
        "mi número es seis uno dos tres cuatro cinco seis siete ocho",
        "meine Nummer: null eins fünf eins zwei drei vier fünf sechs sieben acht",
    ])
    def test_spoken_digits(self, text):
        assert _kinds(text) == ["PHONE"]

    @pytest.mark.parametrize("text", [
        "call us on 0800 123 4567",  # toll-free, and "us"
        "Dyson's line 0800 298 0298",  # toll-free
        "contact our Reservations team at 800-433-7300",
        "please report it to our lost property team on 03331 031 031 option 1",
        "Have you tried calling 0345 165 7209, the store's number?",
        "Order ID: 5393574023",  # valid as a US number: the cue says order
        "my order id is 7236572524",
        "The order number is 614-800-7936.",
        "ticket #4455667",
        "the order is one two three four five six seven eight",
    ])
    def test_business_lines_and_order_numbers(self, text):
        assert "PHONE" not in _kinds(text)


class TestCard:
    @pytest.mark.parametrize("text, value", FORMATS["CARD"])
    def test_formats(self, text, value):
        _found("CARD", text, value)

    def test_card_read_out(self):
        assert _kinds("the card is four one one one one one one one one one one one one one one one") == ["CARD"]

    @pytest.mark.parametrize("text", ["Order 1234-5678-9012-3456", "tracking number 9400 1000 0000 0000 0000 00",
                                      "EAN 4006381333931", "Order #112-1234567-1234567"])
    def test_look_alikes(self, text):
        assert "CARD" not in _kinds(text)


class TestIban:
    @pytest.mark.parametrize("text, value", FORMATS["IBAN"])
    def test_formats(self, text, value):
        _found("IBAN", text, value)

    @pytest.mark.parametrize("text", ["tracking JD014600003828461920", "parcel DE12345678901234567890 (tracking)"])
    def test_tracking_codes(self, text):
        assert "IBAN" not in _kinds(text)


class TestBankAccount:
    @pytest.mark.parametrize("text, value", FORMATS["ACCOUNT"])
    def test_formats(self, text, value):
        _found("ACCOUNT", text, value)

    @pytest.mark.parametrize("text", ["Account ID: 9HT1GZVANO", "on 20-03-24 we shipped it", "Order ID: 3286118033"])
    def test_look_alikes(self, text):
        assert "ACCOUNT" not in _kinds(text)


class TestNationalId:
    @pytest.mark.parametrize("text, value", FORMATS["NATIONAL_ID"])
    def test_formats(self, text, value):
        _found("NATIONAL_ID", text, value)

    @pytest.mark.parametrize("text", ["AB 12 34 56", "order 12345678 a", "we 12 34 56 a", "123-45-6789-0"])
    def test_look_alikes(self, text):
        assert "NATIONAL_ID" not in _kinds(text)


class TestPassport:
    @pytest.mark.parametrize("text, value", FORMATS["PASSPORT"])
    def test_formats(self, text, value):
        _found("PASSPORT", text, value)

    def test_a_passport_without_a_number_is_not_one(self):
        assert _kinds("my passport expires next year, flight AB1234") == []


class TestDateOfBirth:
    @pytest.mark.parametrize("text, value", FORMATS["DATE_OF_BIRTH"])
    def test_formats(self, text, value):
        _found("DATE_OF_BIRTH", text, value)

    @pytest.mark.parametrize("text", ["ordered on 12/03/2024", "the 2019-10-09 order", "delivered 3rd March 2024",
                                      "born in 1985", "it's my birthday next week"])
    def test_other_dates(self, text):
        assert _kinds(text) == []


class TestAddress:
    @pytest.mark.parametrize("text, value", FORMATS["ADDRESS"])
    def test_formats(self, text, value):
        _found("ADDRESS", text, value)

    @pytest.mark.parametrize("text", [
        "I waited 2 hours on the road", "3 blocks down the street", "via DHL 2 days", "2024 US Open tennis",
        "PS5 1TB edition", "Windows 8", "items are shipped to, and it only updated for 2 out of 3 items",
        "les 3 places disponibles", "Spring 2024",
    ])
    def test_look_alikes(self, text):
        assert "ADDRESS" not in _kinds(text)


class TestName:
    @pytest.mark.parametrize("text, value", FORMATS["NAME"])
    def test_introduced_names(self, text, value):
        _found("NAME", text, value)

    @pytest.mark.parametrize("text", ["My name is Sarah, how can I help?", "It's the $89 jacket by Calvin Klein",
                                      "agent: Your name please?\ncustomer: Thank You"])
    def test_first_names_and_brands(self, text):
        assert "NAME" not in _kinds(text)


PLACEHOLDERS = ["[EMAIL_1]", "[PHONE_2]", "[NAME_1]", "[ADDRESS_1]", "[CARD_1]", "[IBAN_1]", "[NATIONAL_ID_1]",
                "[DATE_OF_BIRTH_1]", "[PASSPORT_1]", "[ACCOUNT_1]", "[POSTCODE_12]", "[AMOUNT]"]


class TestPlaceholders:
    @pytest.mark.parametrize("placeholder", PLACEHOLDERS)
    @pytest.mark.parametrize("frame", [
        "{p}", "my email is {p}", "call me on {p}", "my name is {p}", "I live at {p}", "card {p}", "IBAN {p}",
        "national insurance number {p}", "born on {p}", "passport number {p}", "account number {p}",
        "sort code {p} account {p}", "{p} {p}",
    ])
    def test_never_flagged(self, placeholder, frame):
        assert scan(frame.format(p=placeholder)) == []

    def test_a_redacted_transcript_is_clean(self):
        transcript = ("agent: May I have your full name or account id please?\ncustomer: My name is [NAME_1].\n"
                      "agent: And your email and phone?\ncustomer: [EMAIL_1], [PHONE_1]\n"
                      "customer: the address is [ADDRESS_1], born [DATE_OF_BIRTH_1]\n"
                      "customer: order ID 8895215719, refund of $40 on 13/11/17 at 10:30am, app 11.1.2")
        assert scan(transcript) == []


class TestDescriptions:
    @pytest.mark.parametrize("text", [text for cases in FORMATS.values() for text, _ in cases])
    def test_no_raw_value(self, text):
        for f in scan(text):
            value = text[f.start:f.end]
            assert f.kind in KINDS and f.description.startswith(f.kind)
            masked = f.description[len(f.kind) + 1:f.description.rindex(" (")]  # the rule's words are fixed text
            assert value not in f.description
            compact_value = re.sub(r"[\W_]", "", value).lower()
            compact_description = re.sub(r"[\W_]", "", masked).lower()
            windows = {compact_value[i:i + 5] for i in range(len(compact_value) - 4)}
            assert not any(w in compact_description for w in windows), (value, f.description)

    def test_masks_keep_what_identifies_no_one(self):
        [phone] = scan("call me on +44 7700 900461")
        assert phone.description == "PHONE +44 •••• •••461 (international format)"
        [card] = scan("4111 1111 1111 1234 is my card")
        assert "•••• •••• •••• 1234" in card.description
        [email] = scan("jo.example@example.org")
        assert "j•••@•••.org" in email.description
        [iban] = scan("GB29 NWBK 6016 1331 9268 19")
        assert "GB•• ••••" in iban.description


def _item(iid: str, transcript: str, **work) -> EvalItem:
    return EvalItem(interaction_id=iid, transcript=transcript,
                    work={"summary": "Customer asked for a refund; agent issued it.", "crm_note": "Refunded.",
                          "action_items": [], **work})


class TestMetrics:
    def test_pii_in_llm_input_sees_what_the_redaction_missed(self):
        clean = _item("c1", "customer: my phone is [PHONE_1], order 8895215719")
        missed = _item("c2", "customer: my phone is 07700 900461 and I live at 12 High Street")
        r = PiiInLlmInput(0.0).measure([clean, missed])
        assert r.score == 0.5 and not r.success
        [failure] = r.details["failures"]
        assert failure["id"] == "c2" and "PHONE" in failure["why"] and "ADDRESS" in failure["why"]
        assert "900461" not in failure["why"] and "High Street" not in failure["why"]

    def test_pii_leak_rate_reads_every_field(self):
        leak = _item("c2", "customer: [IBAN_1]",
                     action_items=[{"description": "Refund to GB29 NWBK 6016 1331 9268 19", "owner": "back_office"}])
        r = PiiLeakRate(0.0).measure([_item("c1", "customer: hi"), leak])
        assert r.score == 0.5
        [failure] = r.details["failures"]
        assert failure["id"] == "c2" and "IBAN" in failure["why"] and "6016" not in failure["why"]

    def test_descriptions_say_what_is_covered(self):
        for metric in (PiiLeakRate, PiiInLlmInput):
            assert "IBAN" in metric.description and "date of birth" in metric.description
