"""The hand-off brief: for an escalated or emotionally risky contact, what the next agent needs so the customer
never has to repeat themselves — what they want, what was already tried, what was promised, how they feel.

Built from the validated after-call work and the outcome (no extra LLM call); shown first in the CRM note.
"""

from __future__ import annotations

from typing import Any

_STATE = {"very_negative": "very upset", "negative": "unhappy", "neutral": "calm", "positive": "satisfied",
          "very_positive": "very satisfied"}


def needs_brief(work: dict[str, Any], outcome: dict[str, Any]) -> bool:
    """Escalated, not resolved with an upset customer, or flagged as an emotional risk."""
    risky = bool((work.get("emotional_risk") or {}).get("flag"))
    upset = work.get("sentiment_end") in ("negative", "very_negative")
    return outcome.get("label") == "escalated" or risky or (upset and outcome.get("label") != "resolved")


def handoff_brief(work: dict[str, Any], outcome: dict[str, Any]) -> dict[str, Any] | None:
    """The brief as fields (None when the contact needs none)."""
    if not needs_brief(work, outcome):
        return None
    promised = [f"{a['description']}" + (f" (due {a['due']})" if a.get("due") else "")
                for a in work.get("action_items", []) if a.get("owner") in ("agent", "back_office")]
    waiting_on_customer = [a["description"] for a in work.get("action_items", []) if a.get("owner") == "customer"]
    risk = work.get("emotional_risk") or {}
    state = _STATE.get(work.get("sentiment_end", ""), work.get("sentiment_end", "unknown"))
    if work.get("sentiment_start") != work.get("sentiment_end"):
        state = f"{_STATE.get(work.get('sentiment_start', ''), work.get('sentiment_start'))} → {state}"
    return {
        "reason": "escalated" if outcome.get("label") == "escalated" else
                  ("emotional risk" if risk.get("flag") else f"{outcome.get('label')}, customer unhappy"),
        "wants": work.get("customer_intent", ""),
        "already_tried": work.get("handoff_context") or work.get("summary", ""),
        "promised": promised,
        "waiting_on_customer": waiting_on_customer,
        "customer_state": state + (f"; {risk['reason']}" if risk.get("flag") and risk.get("reason") else ""),
    }
