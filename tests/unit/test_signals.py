"""Outcome signals on real ABCD and TweetSumm excerpts (tests/fixtures/outcome_signals.jsonl), with their turns."""

import json

import pytest

from cx_worker.models import Interaction
from cx_worker.outcomes.signals import FEATURES, as_evidence, detect
from tests.support.paths import PROJECT_ROOT

CASES = {row["case"]: Interaction.model_validate(row["interaction"]) for row in map(
    json.loads, (PROJECT_ROOT / "tests" / "fixtures" / "outcome_signals.jsonl").read_text().splitlines())}


def _fired(case: str) -> dict:
    return detect(CASES[case])


@pytest.mark.parametrize("case, signal, turns, absent", [
    # ABCD: the agent asks for details, then "Are you still there David?" and a timeout warning; no reply.
    ("abandoned_wait", "abandoned_wait", (5, 6), {"ends_waiting", "fix_made"}),
    # TweetSumm: the last tweet asks for the account's username, unanswered (no DM, no presence check).
    ("ends_waiting", "ends_waiting", (3,), {"abandoned_wait", "handoff"}),
    # "Please send us a Direct Message, so that we can further assist you." as the last word.
    ("handoff_dm", "handoff_dm", (3,), {"fix_made", "customer_confirmed", "ends_waiting"}),
    # ABCD: "You can check the qualifications ... on our User FAQ page." (labelled deflected by its ACT line).
    ("handoff_link", "handoff_link", (8,), {"fix_made", "handoff_at_end"}),
    # "Please call our team at 800-535-5225." after "Still no bag...what a mess".
    ("handoff_phone", "handoff_phone", (3,), {"fix_made"}),
    # "Have you tried contacting Linksys?" after "There is nothing we can do unless you have our router."
    ("handoff_elsewhere", "handoff_elsewhere", (3,), {"ends_waiting"}),
    # ABCD: "I have issued the refund for you."
    ("fix_made", "fix_made", (3,), {"handoff", "handoff_no_fix"}),
    # Delta: "You both are good to go!"
    ("fix_made_tweet", "fix_made", (3,), {"handoff"}),
    # "That worked. Thank you" after a help-article link: confirmed, and the link was the fix, not a hand-off.
    ("customer_confirmed", "customer_confirmed", (2,), {"handoff_at_end", "handoff_no_fix"}),
    # "Seems like it might've worked ..." then "Yikes, spoke too soon, still inaccurate.": no confirmation.
    ("confirmation_taken_back", "complaint_at_end", (2,), {"customer_confirmed"}),
    # "Well don't lie on Twitter ... #Liars" is the last word: a complaint nobody answered.
    ("unanswered_complaint", "unanswered_complaint", (2,), {"customer_confirmed"}),
    # ABCD: "write up a report to the purchasing department" (ACT: the purchasing department was notified).
    ("escalation_abcd", "escalation", (2,), {"handoff"}),
    # Nike: "We've passed your feedback along to our team." / "Our team has been made aware."
    ("escalation_tweet", "escalation", (1, 3), {"handoff"}),
    # ABCD: the customer asks "is there a way to escalate this to a manager?"; the agent notifies the manager.
    ("human_requested", "human_requested", (1,), set()),
    # "there isn't anything we'd be able to do from here."
    ("refusal", "refusal", (2, 3), {"fix_made"}),  # and "We haven't been given that information I'm afraid."
])
def test_each_signal_fires_on_a_real_contact_with_its_turns(case, signal, turns, absent):
    fired = _fired(case)
    assert signal in fired, f"{signal} did not fire on {case}: {sorted(fired)}"
    assert fired[signal].turns == turns
    assert fired[signal].phrase
    assert not absent & set(fired), f"unexpected {sorted(absent & set(fired))} on {case}"


def test_handoff_is_the_union_and_no_fix_needs_no_fix():
    dm = _fired("handoff_dm")
    assert dm["handoff"].turns == (3,) and "handoff_no_fix" in dm and "handoff_at_end" in dm
    refund_and_link = Interaction(id="x", channel="chat", turns=[
        *CASES["handoff_link"].turns, {"speaker": "agent", "text": "I have issued the refund for you."}])
    fired = detect(refund_and_link)
    assert "handoff" in fired and "fix_made" in fired and "handoff_no_fix" not in fired


def test_escalation_also_reads_the_agents_notification():
    assert _fired("human_requested")["escalation"].turns == (3,)  # "I will notify the manager about this."


@pytest.mark.parametrize("agent_says, signal, fires", [
    # Real agent turns from TweetSumm and ABCD (signals-v2): feedback handed on, a team that will act, payments.
    ("We understand your frustration. We'll pass this feedback on to the right team /TF", "escalation", True),
    ("Got it! We'll be sure to share your feedback about this with our team.", "escalation", True),
    ("Our team will surely contact you for further assistance. Request you to wait for some time.", "escalation", True),
    ("Please DM us your booking ref and we'll look in to this for you.", "escalation", False),
    ("Could you send us the details via DM?", "escalation", False),
    ("I've renewed your subscription with a payment of $55.", "fix_made", True),
    ("Alright, you are all paid up.", "fix_made", True),
    ("I just posted your payment for you, so your account is now active!", "fix_made", True),
    ("Your payment has been sent. Is there anything else I can help you with?", "fix_made", True),
    ("Once the payment is posted you will get an email.", "fix_made", False),
])
def test_escalation_and_fix_phrasings_of_the_public_data(agent_says, signal, fires):
    contact = Interaction(id="x", channel="messaging", turns=[{"speaker": "customer", "text": "Can you help?"},
                                                               {"speaker": "agent", "text": agent_says}])
    assert (signal in detect(contact)) is fires


@pytest.mark.parametrize("customer_says, fires", [
    # Real customer tweets from TweetSumm: the customer says it works now, in words the first patterns missed.
    ("Everything seems to be great now! Thanks again for your help, I love your service :)", True),
    ("Seems to be working alright now. Thank you", True),
    ("I've finally been reimbursed! Thanks for the help", True),
    ("We're back up and running, thanks", True),
    ("It seems to be working on my laptop but not on my phone", False),
    ("Everything was fine until the update", False),
])
def test_the_customer_says_it_works_now(customer_says, fires):
    contact = Interaction(id="x", channel="messaging", turns=[{"speaker": "customer", "text": "It keeps crashing"},
                                                               {"speaker": "agent", "text": "Try a restart."},
                                                               {"speaker": "customer", "text": customer_says}])
    assert ("customer_confirmed" in detect(contact)) is fires


def test_a_reply_after_the_presence_check_is_not_abandonment():
    turns = [*CASES["abandoned_wait"].turns, {"speaker": "customer", "text": "Sorry, yes I'm here"}]
    assert "abandoned_wait" not in detect(Interaction(id="x", channel="chat", turns=turns))


def test_bot_only_and_bot_to_human_synthetic():
    # Synthetic: no public data here has bot turns.
    bot_only = Interaction(id="s1", channel="chat", turns=[
        {"speaker": "bot", "text": "Hi! What can I help you with?"},
        {"speaker": "customer", "text": "my parcel is late"},
        {"speaker": "bot", "text": "You can track it here: https://example.com/track"}])
    fired = detect(bot_only)
    assert fired["bot_only"].turns == (0, 2) and "bot_to_human" not in fired and "handoff_link" in fired
    handed = Interaction(id="s2", channel="chat", turns=[
        {"speaker": "bot", "text": "Hi! What can I help you with?"},
        {"speaker": "customer", "text": "I want to speak to a real person"},
        {"speaker": "bot", "text": "Connecting you to an agent."},
        {"speaker": "agent", "text": "Hi, I'm Sam. I have refunded the delivery fee."}])
    fired = detect(handed)
    assert fired["bot_to_human"].turns == (2, 3) and fired["human_requested"].turns == (1,)
    assert "bot_only" not in fired and fired["fix_made"].turns == (3,)


def test_evidence_is_json_ready_and_in_feature_order():
    fired = _fired("handoff_phone")
    evidence = as_evidence(fired)
    assert json.loads(json.dumps(evidence)) == evidence
    assert list(evidence) == [name for name in FEATURES if name in evidence]
    assert evidence["handoff_phone"]["turns"] == [3] and "call" in evidence["handoff_phone"]["phrase"].lower()
