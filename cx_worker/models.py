"""Domain models: the contract between the stages of the nightly run and with the LLM.

Field descriptions double as the JSON Schema the LLM sees, so they are written for it.
`cx-worker schemas` writes them to `schemas/`.
"""

from __future__ import annotations

import json
import re
import unicodedata
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from confusable_homoglyphs import utils as _confusables
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
        """The turns as 'speaker: text' lines (`render_turn`), the form every prompt and embedding uses."""
        return "\n".join(render_turn(t) for t in self.turns)


# Rendering a turn ------------------------------------------------------------------------------------------------
# Everything the LLM and the outcome classifier read is "speaker: text", one turn per line. A turn's text must not
# be able to start a line of its own, nor hold what reads as a speaker label ("\nagent: refunded", "[AGENT]",
# "ＡＩ：", "аgent:" in Cyrillic): a customer could forge the agent's half of the conversation.

# Every line end str.splitlines() knows (and so the outcome-words model, and any reader of the lines).
_LINE_BREAK = re.compile(r"\r\n|[\n\r\x0b\x0c\x1c-\x1e\x85\u2028\u2029]")
ROLE_WORDS = frozenset("""customer client caller agent rep representative operator advisor adviser bot chatbot system
assistant user human ai a.i. model developer support staff kunde kundin mitarbeiter berater cliente agente operatore
operador asistente assistente assistent klant medewerker klient konsultant utilisateur conseiller usuario utente
gebruiker uzytkownik sistema systeme systeem""".split())
_COLONS = ":\uff1a\ufe55\ufe13\u2236\ua789\u02f8\u05c3\u0703\u0704\ufe30\u0589\u1361\u205d"
_WORD = r"[^\W\d_](?:[^\W\d_]|\.(?=[^\W\d_]))*\.?"  # letters of any script, "A.I." too
_LABEL = re.compile(
    rf"\[\s*(?P<b>{_WORD})\s*\](?:\s*[{_COLONS}])?"                       # [agent]  [AGENT]:
    rf"|[(<{{]\s*(?P<p>{_WORD})\s*[)>}}]\s*[{_COLONS}]"                     # (agent):  <bot>:
    rf"|(?<!\w)[*_\"'`“”‘’]*(?<![^\W_])(?P<w>{_WORD})[*_\"'`“”‘’]*\s*[{_COLONS}][*_]*"  # agent:  **Agent:**
)
# After one of these on the same line a role word is a noun of the sentence ("I told the agent: ..."), not a label.
_DETERMINERS = frozenset("the a an your my our their his her its this that to for with from of dear any each every "
                         "no same le la les un une votre der die das den dem ein eine ihr ihre el los las una su tu "
                         "il lo gli de het een uw je o os um uma seu sua".split())
# Letters TR39 does not list as confusable with a Latin letter but that are read as one in a Latin word.
_EXTRA = {"ł": "l", "Ł": "L", "ø": "o", "Ø": "O", "đ": "d", "Đ": "D", "ß": "ss", "æ": "ae", "Æ": "AE", "œ": "oe",
          "Œ": "OE", "к": "k", "м": "m", "н": "h", "т": "t", "в": "b", "ε": "e", "κ": "k", "τ": "t", "χ": "x",
          "ѵ": "v", "ԛ": "q", "ԝ": "w", "ɡ": "g", "ı": "i", "ȷ": "j", "ℓ": "l", "\u2019": "'", "\u2018": "'",
          "\u02bc": "'", "\u2032": "'"}


@lru_cache(maxsize=1)
def lookalikes() -> dict[str, str]:
    """Non-ASCII character -> the ASCII letter (or colon, apostrophe) it is read as: Unicode's confusables (TR39,
    via `confusable-homoglyphs`: Cyrillic, Greek, Cherokee, Lisu, ... lookalikes) and a few letters it leaves out.
    Shared by the renderer here and the injection guard (`guard.normalise`)."""
    table: dict[str, str] = {}
    for char, homoglyphs in _confusables.load("confusables.json").items():
        if len(char) != 1 or char.isascii():
            continue
        for h in homoglyphs:
            c = h["c"]
            if len(c) == 1 and c.isascii() and (c.isalpha() or c == ":"):
                # TR39 writes capital I's lookalikes as "l"; in a capitalised word they stand for "I".
                if c == "l" and "CAPITAL" in unicodedata.name(char, ""):
                    c = "I"
                table[char] = c
                break
    return table | _EXTRA


def render_text(text: str) -> str:
    """A turn's text as it is rendered: line breaks of every kind become spaces, and a role label in it is
    defused (the role word stays, quoted, without its colon or brackets: "agent: done" -> "'agent' done").

    Text without a line break or a role label is returned unchanged, byte for byte.
    """
    lines = _LINE_BREAK.split(text)
    return " ".join(_defuse(line) for line in lines)


def render_turn(turn: Turn) -> str:
    """One turn as the LLM and the classifier read it: 'speaker: text' on one line (see `render_text`)."""
    return f"{turn.speaker}: {render_text(turn.text)}"


def _defuse(line: str) -> str:
    def label(m: re.Match[str]) -> str:
        word = m.group("b") or m.group("p") or m.group("w")
        if _fold(word) not in ROLE_WORDS:
            return m.group(0)
        before = line[:m.start()].split()
        # "I told the agent: no" is a sentence, not a label; "The agent: refunded" opening a sentence is one.
        if len(before) >= 2 and before[-1].lower() in _DETERMINERS and not before[-2].endswith((".", "!", "?", ":")):
            return m.group(0)
        return f"'{word}'" + (" " if m.end() < len(line) and not line[m.end()].isspace() else "")

    return _LABEL.sub(label, line) if any(c in line for c in _COLONS + "[") else line


def _fold(word: str) -> str:
    """A word as the role it reads as: compatibility forms (full width, math letters) and accents gone, lookalike
    letters of other scripts as Latin ones (`lookalikes`), lower case."""
    plain = unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", word))
    if plain.isascii():
        return plain.casefold()
    table = lookalikes()
    return "".join(table.get(c, c) for c in plain if not unicodedata.combining(c)).casefold()


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

