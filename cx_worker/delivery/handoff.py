"""The hand-off brief: for an escalated or emotionally risky contact, what the next agent needs so the customer
never has to repeat themselves — what they want, what was already tried, what was promised, how they feel.

Built from the validated after-call work and the outcome (no extra LLM call); shown first in the CRM note.
"""

from __future__ import annotations

from cx_worker.models import AfterCallWork, HandoffBrief, Outcome

_STATE = {"very_negative": "very upset", "negative": "unhappy", "neutral": "calm", "positive": "satisfied",
          "very_positive": "very satisfied"}


def needs_brief(work: AfterCallWork, outcome: Outcome) -> bool:
    """Escalated, not resolved with an upset customer, or flagged as an emotional risk."""
    upset = work.sentiment_end in ("negative", "very_negative")
    return outcome.label == "escalated" or work.emotional_risk.flag or (upset and outcome.label != "resolved")


def handoff_brief(work: AfterCallWork, outcome: Outcome) -> HandoffBrief | None:
    """The brief (None when the contact needs none)."""
    if not needs_brief(work, outcome):
        return None
    promised = [a.description + (f" (due {a.due})" if a.due else "")
                for a in work.action_items if a.owner in ("agent", "back_office")]
    waiting_on_customer = [a.description for a in work.action_items if a.owner == "customer"]
    risk = work.emotional_risk
    state = _STATE.get(work.sentiment_end, work.sentiment_end)
    if work.sentiment_start != work.sentiment_end:
        state = f"{_STATE.get(work.sentiment_start, work.sentiment_start)} → {state}"
    return HandoffBrief(
        reason="escalated" if outcome.label == "escalated" else
               ("emotional risk" if risk.flag else f"{outcome.label}, customer unhappy"),
        wants=work.customer_intent,
        already_tried=work.handoff_context or work.summary,
        promised=promised,
        waiting_on_customer=waiting_on_customer,
        customer_state=state + (f"; {risk.reason}" if risk.flag and risk.reason else ""),
    )
