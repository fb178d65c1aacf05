"""A transcript over the model's context is cut so that its ending always survives, whatever the shape of the
contact: one huge turn anywhere, many small turns, a huge last turn."""

import pytest

from cx_worker.drafting.context_limit import estimate_tokens, fit_transcript
from cx_worker.models import Interaction

WORDS = "lorem ipsum dolor sit amet " * 400  # ~11,000 characters: far over a small budget on its own


def _contact(texts: list[str]) -> Interaction:
    return Interaction(id="c", channel="chat", turns=[
        {"speaker": "customer" if i % 2 == 0 else "agent", "text": t} for i, t in enumerate(texts)])


SHAPES = {
    "huge_first_turn": ["START " + WORDS + " first-end", "agent asks", "customer answers", "FINAL escalated"],
    "huge_middle_turn": ["START opening", "agent asks", "customer " + WORDS, "agent replies", "FINAL escalated"],
    "huge_last_turn": ["START opening", "agent asks", "customer answers", "agent " + WORDS + " FINAL escalated"],
    "only_one_huge_turn": ["START " + WORDS + " FINAL escalated"],
    "many_small_turns": ["START opening"] + [f"turn {i} " + "words " * 30 for i in range(300)] + ["FINAL escalated"],
    "two_huge_turns_at_the_end": ["START opening", "agent " + WORDS, "customer " + WORDS + " FINAL escalated"],
}


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("max_tokens", [300, 1000, 2800])
def test_the_ending_and_the_opening_survive_and_the_budget_holds(shape, max_tokens):
    contact = _contact(SHAPES[shape])
    fitted, reason = fit_transcript(contact, max_tokens=max_tokens)
    if estimate_tokens(contact.transcript()) <= max_tokens:
        assert reason is None and fitted == contact
        return
    text = fitted.transcript()
    assert reason and "FINAL escalated" in text, "the ending decides the outcome: it is never dropped"
    assert "START" in text, "the opening says what the customer wanted"
    assert estimate_tokens(text) <= max_tokens + 40  # the marker turn and rounding
    assert fitted.turns[-1].speaker == contact.turns[-1].speaker
    kept = fitted.metadata["truncated"]
    assert kept["estimated_tokens"] == estimate_tokens(contact.transcript())


def test_a_huge_single_turn_is_cut_in_its_middle_not_at_its_end():
    fitted, reason = fit_transcript(_contact(["START " + WORDS + " the very end of it"]), max_tokens=400)
    assert fitted.turns[0].text.startswith("START") and fitted.turns[0].text.endswith("the very end of it")
    assert "[…]" in fitted.turns[0].text and "1 of them cut in their middle" in reason


def test_a_transcript_that_fits_is_untouched():
    contact = _contact(["hello", "hi, how can I help?"])
    assert fit_transcript(contact, max_tokens=2800) == (contact, None)
