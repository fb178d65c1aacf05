"""Domain models: the contract between the stages of the nightly run and with the LLM.

Field descriptions double as the JSON Schema the LLM sees, so they are written for it.
`cx-worker schemas` writes them to `schemas/`.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic.json_schema import SkipJsonSchema

Channel = Literal["voice", "chat", "email", "messaging"]
Speaker = Literal["customer", "agent", "bot", "system"]
Sentiment = Literal["very_negative", "negative", "neutral", "positive", "very_positive"]
OutcomeLabel = Literal["resolved", "deflected", "escalated", "abandoned", "unresolved"]
OUTCOME_LABELS: tuple[str, ...] = ("resolved", "deflected", "escalated", "abandoned", "unresolved")


class Turn(BaseModel):
    """One utterance of a contact."""

    model_config = ConfigDict(extra="forbid")

    speaker: Speaker
    text: str
    ts: datetime | None = None


class Interaction(BaseModel):
    """A completed contact (call transcript, chat, email thread), in canonical form."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1, max_length=200)
    channel: Channel
    customer_id: str | None = None
    started_at: datetime | None = None
    ended_at: datetime | None = None
    language: str | None = Field(default=None, description="BCP-47 code, e.g. 'en'")
    queue: str | None = None
    turns: list[Turn] = Field(min_length=1)
    metadata: dict[str, Any] = Field(default_factory=dict)

    @field_validator("turns")
    @classmethod
    def _some_text(cls, turns: list[Turn]) -> list[Turn]:
        if not any(t.text.strip() for t in turns):
            raise ValueError("transcript has no text")
        return turns

    def transcript(self) -> str:
        """The turns as 'speaker: text' lines, the form every prompt and embedding uses."""
        return "\n".join(f"{t.speaker}: {t.text}" for t in self.turns)


class ActionItem(BaseModel):
    """A follow-up somebody has to do after the contact."""

    description: str = Field(max_length=200, description="What has to be done, one sentence.")
    owner: Literal["agent", "customer", "back_office"] = Field(
        description="Who does it: the agent, the customer, or the back office."
    )
    due: str | None = Field(
        default=None, max_length=40, description="When, only if the transcript states it; else null."
    )


class EmotionalRisk(BaseModel):
    """Whether the customer is at risk of churn, complaint or distress."""

    flag: bool = Field(description="True if the customer is angry, distressed or threatens to leave.")
    reason: str = Field(default="", max_length=200, description="Why, quoting the customer briefly; empty if false.")


class AfterCallWork(BaseModel):
    """The after-call work an agent would write, drafted by the LLM from the transcript."""

    summary: str = Field(
        max_length=600,
        description="2-4 sentences: what the customer wanted, what was done, how it ended. "
        "Only facts in the transcript.",
    )
    customer_intent: str = Field(max_length=120, description="The customer's main intent in a few words.")
    disposition: str = Field(description="Exactly one disposition code from the allowed list.")
    action_items: list[ActionItem] = Field(
        default_factory=list, max_length=5, description="Follow-ups still open at the end of the contact."
    )
    crm_note: str = Field(
        max_length=400,
        description="A short, neutral, professional note for the CRM record, for the next agent.",
    )
    sentiment_start: Sentiment = Field(description="Customer sentiment at the start.")
    sentiment_end: Sentiment = Field(description="Customer sentiment at the end.")
    emotional_risk: EmotionalRisk
    handoff_context: str = Field(
        default="",
        max_length=400,
        description="For the next agent: what was already tried and what was promised. Empty if nothing is open.",
    )
    # Only in the schema when ops declared custom questions (acw.output_model adds the typed object then).
    answers: SkipJsonSchema[dict[str, Any] | None] = Field(
        default=None, description="Answers to the ops team's custom questions about this contact."
    )


class Evidence(BaseModel):
    """A labelled exemplar that voted for an outcome."""

    exemplar_id: str
    label: str
    similarity: float


class Outcome(BaseModel):
    """How the contact really ended."""

    label: OutcomeLabel
    confidence: float = Field(ge=0.0, le=1.0)
    evidence: list[Evidence] = Field(default_factory=list)
    signals: dict[str, Any] = Field(default_factory=dict)


class HandoffBrief(BaseModel):
    """What the next agent needs of an escalated or emotionally risky contact, so the customer never repeats it."""

    reason: str
    wants: str
    already_tried: str
    promised: list[str] = Field(default_factory=list)
    waiting_on_customer: list[str] = Field(default_factory=list)
    customer_state: str


class NotePayload(BaseModel):
    """Everything a CRM note is made of: the contact, the after-call work, the outcome with its evidence, the
    hand-off brief; what the ledger keeps and every sink's template renders."""

    interaction_id: str
    run_id: str
    channel: Channel
    queue: str | None = None
    customer_id: str | None = None
    model: str
    prompt_hash: str
    work: AfterCallWork
    metadata: dict[str, Any] = Field(default_factory=dict)
    outcome: Outcome
    handoff: HandoffBrief | None = None
    reviewed_by: str | None = None


class Exemplar(BaseModel):
    """A labelled contact the outcome classifier compares new contacts against."""

    interaction: Interaction
    label: OutcomeLabel
    source: str = Field(description="Where the label came from: 'abcd-act', 'tweetsumm-rubric', 'correction'.")
    reason: str = ""


SCHEMA_MODELS: dict[str, type[BaseModel]] = {
    "interaction": Interaction,
    "after_call_work": AfterCallWork,
    "outcome": Outcome,
    "exemplar": Exemplar,
}


def write_schemas(folder: Path) -> list[Path]:
    """Write the JSON Schema of every contract model into `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, model in SCHEMA_MODELS.items():
        path = folder / f"{name}.schema.json"
        path.write_text(json.dumps(model.model_json_schema(), indent=2, sort_keys=True) + "\n")
        written.append(path)
    return written

