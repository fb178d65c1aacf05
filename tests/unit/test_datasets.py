"""The dataset converters on real raw records (tests/fixtures/raw_abcd.json, raw_tweetsumm.jsonl; MIT / CC)."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from cx_worker.ingest.datasets import (
    ABCD_EPOCH,
    abcd_flows,
    abcd_label,
    abcd_to_interaction,
    reading_label,
    tweetsumm_label,
    tweetsumm_references,
    tweetsumm_to_interaction,
)
from cx_worker.models import Interaction

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
RAW_ABCD = json.loads((FIXTURES / "raw_abcd.json").read_text())
RAW_TWEETS = {json.loads(line)["conversation_id"][:8]: json.loads(line)
              for line in (FIXTURES / "raw_tweetsumm.jsonl").read_text().splitlines()}
# The part of ABCD's ontology.json these chats need (same structure: flow -> subflows).
FLOWS = abcd_flows({"intents": {"subflows": {
    "product_defect": ["refund_initiate", "refund_update", "refund_status"],
    "account_access": ["recover_username", "recover_password", "reset_2fa"],
    "purchase_dispute": ["out_of_stock_one_item"],
    "shipping_issue": ["cost"],
    "subscription_inquiry": ["status_due_date", "manage_extension"],
    "storewide_query": ["membership"],
}}})


def _abcd(index: int) -> tuple[Interaction, str | None, str]:
    text, subflow = RAW_ABCD[str(index)]
    return abcd_to_interaction(text, subflow, index=index, flows=FLOWS)


def _act_texts(index: int) -> list[str]:
    return [line[4:].strip() for line in RAW_ABCD[str(index)][0].splitlines() if line.startswith("ACT:")]


def test_abcd_refund_chat_is_resolved_and_no_act_line_reaches_the_turns():
    interaction, label, reason = _abcd(903)
    assert label == "resolved"
    assert "A refund has been made" in reason
    acts = _act_texts(903)
    assert acts, "the fixture must contain ACT lines"
    for turn in interaction.turns:
        assert not turn.text.startswith("ACT:")
        assert not any(act in turn.text for act in acts)
    assert "ACT" not in interaction.transcript()


@pytest.mark.parametrize("index", [int(i) for i in RAW_ABCD])
def test_no_abcd_conversion_leaks_its_actions_or_label(index):
    interaction, label, _ = _abcd(index)
    dumped = interaction.model_dump_json()
    assert not any(act in dumped for act in _act_texts(index))
    assert set(interaction.metadata) == {"source", "subflow", "licence", "synthetic_timestamps"}
    assert label is None or label not in json.dumps(interaction.metadata)


def test_abcd_chat_ending_on_are_you_there_is_abandoned():
    interaction, label, reason = _abcd(846)
    assert label == "abandoned"
    assert "are you there?" in reason
    assert interaction.turns[-1].speaker == "agent"


def test_abcd_refund_after_the_last_customer_turn_is_resolved_not_abandoned():
    # The agent refunded the shipping fee, then asked "Are you still there Albert?": the work was done.
    _, label, reason = _abcd(76)
    assert label == "resolved"
    assert "$8" in reason


def test_abcd_manager_notified_without_a_change_is_escalated():
    _, label, reason = _abcd(8)
    assert label == "escalated"
    assert "manager" in reason.lower()


def test_abcd_purchase_outranks_purchasing_notification():
    acts = _act_texts(53)
    assert any("has been notified" in act for act in acts)
    _, label, reason = _abcd(53)
    assert label == "resolved"
    assert "A purchase of" in reason


def test_abcd_link_only_is_deflected_but_link_plus_payment_is_resolved():
    assert _abcd(505)[1] == "deflected"
    assert "A link will be sent." in _act_texts(72)
    _, label, reason = _abcd(72)
    assert label == "resolved"
    assert "Details of 20 have been entered" in reason


def test_abcd_chat_with_only_lookups_is_left_unlabelled():
    _, label, reason = _abcd(199)
    assert label is None
    assert reason.startswith("unlabelled")


def test_abcd_rules_read_act_lines_only():
    # The customer saying "refund" or the agent promising one decides nothing; only the logged action does.
    lines = ["USR:I want a refund", "SYS:A refund has been made for you", "USR:thanks"]
    assert abcd_label(lines) == (None, "unlabelled: no ACT line records an outcome")
    assert abcd_label([*lines, "ACT:A promo code has been created."])[0] == "resolved"
    assert abcd_label(["USR:hi", "ACT:Account has been pulled up for Joyce Wu.",
                       "ACT:Identity verification in progress ..."])[0] is None


def test_abcd_interaction_fields():
    interaction, _, _ = _abcd(903)
    assert interaction.id == "abcd-dev-903"
    assert interaction.channel == "chat" and interaction.language == "en"
    assert interaction.queue == FLOWS[RAW_ABCD["903"][1]]
    assert {t.speaker for t in interaction.turns} == {"agent", "customer"}
    assert interaction.started_at == ABCD_EPOCH + timedelta(minutes=17 * 903)
    assert interaction.ended_at - interaction.started_at == timedelta(seconds=30 * len(interaction.turns))
    assert interaction.metadata["synthetic_timestamps"] is True
    assert interaction.customer_id.startswith("abcd-cust-")
    assert _abcd(903)[0] == interaction  # deterministic


def test_abcd_faq_subflows_map_to_their_topic_flow():
    flows = abcd_flows({"intents": {"subflows": {"single_item_query": ["shirt"], "storewide_query": ["policy"]}}})
    text = "USR:How wide is the collar?\nSYS:Let me check."
    assert abcd_to_interaction(text, "shirt_how_4", index=1, flows=flows)[0].queue == "single_item_query"
    assert abcd_to_interaction(text, "policy_2", index=1, flows=flows)[0].queue == "storewide_query"
    assert abcd_to_interaction(text, "status_questions", index=1, flows=flows)[0].queue is None


def test_tweetsumm_asked_to_dm_is_deflected_and_summaries_stay_out():
    obj = RAW_TWEETS["62fb6f04"]
    assert all("dm" in " ".join(s).lower() for s in obj["abstractive_summaries"])
    interaction, label, reason = tweetsumm_to_interaction(obj, index=3)
    assert label == "deflected"
    assert "3/3" in reason
    dumped = interaction.model_dump_json()
    for summary in tweetsumm_references(obj):
        assert summary not in dumped
    assert interaction.channel == "messaging"
    assert interaction.customer_id == "637745"  # the anonymised handle the agent addresses
    assert interaction.queue == "SpotifyCares"
    assert interaction.id == f"tweetsumm-{obj['conversation_id']}"
    assert interaction.metadata == {"source": "tweetsumm", "conversation_id": obj["conversation_id"],
                                    "licence": "CC BY-NC-SA 4.0 dialog text; CC0 summaries",
                                    "synthetic_timestamps": True}


def test_tweetsumm_fixed_is_resolved_forwarded_is_escalated_silence_is_unresolved():
    assert tweetsumm_label(RAW_TWEETS["a9c6234b"]["abstractive_summaries"])[0] == "resolved"
    assert tweetsumm_label(RAW_TWEETS["32d0e780"]["abstractive_summaries"])[0] == "escalated"
    label, reason = tweetsumm_label(RAW_TWEETS["c430a7f1"]["abstractive_summaries"])
    assert (label, reason.split(":")[1].strip()[:3]) == ("unresolved", "0/3")


def test_tweetsumm_a_summary_that_states_nothing_does_not_outvote_one_that_does():
    # Only one of three annotators wrote that the feedback was forwarded; the others left the ending out.
    label, reason = tweetsumm_label(RAW_TWEETS["71973c45"]["abstractive_summaries"])
    assert label == "escalated"
    assert "1/3" in reason and "a1=escalated" in reason


def test_tweetsumm_going_forward_is_not_an_escalation():
    _, reason = tweetsumm_label(RAW_TWEETS["b67d4c96"]["abstractive_summaries"])
    assert "escalated" not in reason


@pytest.mark.parametrize("summary, expected", [
    ("Customer cannot log in. Agent asks to DM the account email.", "deflected"),
    ("Customer cannot log in. Agent asks to DM so that the issue gets resolved.", "deflected"),
    ("Customer cannot log in. Agent reset the password and the issue is resolved.", "resolved"),
    ("Customer cannot log in. Agent will forward the issue to the tech team.", "escalated"),
    ("Customer cannot log in. Agent asks for details so that they can escalate it.", "unresolved"),
    ("Customer is praising the conductor. Agent passed the praise to his manager.", "resolved"),
    ("Customer is asking when tickets go on sale. Agent informs that they go on sale tomorrow.", "resolved"),
    ("Customer is asking for a refund. Agent says it is not possible.", "unresolved"),
    ("Customer reports a fault. Agent did not hear back from the customer.", "abandoned"),
])
def test_tweetsumm_rubric_rules(summary, expected):
    assert tweetsumm_label([summary])[0] == expected


def test_two_readings_that_differ_take_the_adjudicated_label():
    once = {"checked_label": "deflected"}
    agreed = {**once, "second_reading": {"label": "deflected"}}
    differ = {**once, "second_reading": {"label": "unresolved"}}
    judged = {**differ, "adjudication": {"label": "unresolved", "note": "no path given"}}
    assert reading_label(once) == ("deflected", "read once")
    assert reading_label(agreed) == ("deflected", "read twice, agreed")
    assert reading_label(differ) == ("deflected", "read twice, not adjudicated")
    assert reading_label(judged) == ("unresolved", "read twice, adjudicated")
    # An adjudication recorded where the readers agreed does not overrule them.
    assert reading_label({**agreed, "adjudication": {"label": "resolved"}})[0] == "deflected"
