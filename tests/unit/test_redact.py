from cx_worker.models import Interaction
from cx_worker.redact import find_pii, luhn_ok, redact_interaction


def _contact(*texts: str) -> Interaction:
    return Interaction(id="t1", channel="chat", turns=[{"speaker": "customer", "text": t} for t in texts])


def test_email_phone_card_replaced_with_typed_placeholders():
    red, counts = redact_interaction(_contact(
        "I'm davidw33@email.com, call me on (791) 582-4288", "card 4111 1111 1111 1111 please"))
    text = red.transcript()
    assert "davidw33" not in text and "582-4288" not in text and "4111" not in text
    assert "[EMAIL_1]" in text and "[PHONE_1]" in text and "[CARD_1]" in text
    assert counts == {"EMAIL": 1, "PHONE": 1, "CARD": 1}


def test_same_value_same_placeholder_across_turns():
    red, counts = redact_interaction(_contact("a@b.com", "again: A@B.com", "other: c@d.org"))
    assert [t.text for t in red.turns] == ["[EMAIL_1]", "again: [EMAIL_1]", "other: [EMAIL_2]"]
    assert counts["EMAIL"] == 2


def test_numbers_that_fail_luhn_are_not_cards():
    assert luhn_ok("4111111111111111") and not luhn_ok("4111111111111112")
    red, _ = redact_interaction(_contact("order 4111 1111 1111 1112 and zip 14224, $40 refund"))
    assert red.turns[0].text == "order 4111 1111 1111 1112 and zip 14224, $40 refund"


def test_international_phone_and_find_pii():
    red, _ = redact_interaction(_contact("ring +44 20 7946 0958 or +14155550123"))
    assert "7946" not in red.turns[0].text and "4155550123" not in red.turns[0].text
    assert find_pii(red.turns[0].text) == []
    assert {k for k, _ in find_pii("mail x.y@z.co or 5555 5555 5555 4444")} == {"EMAIL", "CARD"}


def test_original_is_not_modified():
    original = _contact("me@x.com")
    redact_interaction(original)
    assert original.turns[0].text == "me@x.com"
