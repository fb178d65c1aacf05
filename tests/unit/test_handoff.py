from cx_worker.delivery.handoff import handoff_brief
from cx_worker.delivery.notes import render_note
from tests.unit.test_crm_store import _payload


def test_escalated_contact_gets_a_brief_first_in_the_note():
    p = _payload()
    p.work = p.work.model_validate(p.work.model_dump() | {
        "customer_intent": "dispute a double charge",
        "handoff_context": "Agent verified identity; refund refused by policy; manager notified.",
        "sentiment_start": "negative", "sentiment_end": "very_negative",
        "emotional_risk": {"flag": True, "reason": "threatens to cancel"},
        "action_items": [{"description": "manager to call back", "owner": "back_office", "due": "48h"},
                         {"description": "send bank statement", "owner": "customer", "due": None}]})
    p.outcome.label = "escalated"
    p.handoff = handoff_brief(p.work, p.outcome)
    assert p.handoff.promised == ["manager to call back (due 48h)"]
    assert p.handoff.waiting_on_customer == ["send bank statement"]
    assert p.handoff.customer_state == "unhappy → very upset; threatens to cancel"
    body = render_note(p)
    assert body.index("HAND-OFF BRIEF (escalated)") < body.index("Outcome:")
    assert "Already tried: Agent verified identity" in body and "Promised: manager to call back" in body


def test_a_resolved_calm_contact_needs_no_brief():
    p = _payload()
    assert handoff_brief(p.work, p.outcome) is None
    p.handoff = None
    assert "HAND-OFF BRIEF" not in render_note(p)
