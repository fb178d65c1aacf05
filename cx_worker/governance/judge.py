"""The faithfulness judge: an LLM checks a summary's claims one by one against the transcript.

It is one eval signal among deterministic ones (groundedness), never the only gate on a note.
"""

from __future__ import annotations

from collections.abc import Callable

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage, SystemMessage
from pydantic import BaseModel, Field

from cx_worker.llm.prompts import render_parts, template_hash

TEMPLATE = "judge_faithfulness.j2"


class ClaimCheck(BaseModel):
    """One factual claim of the summary and whether the transcript supports it."""

    claim: str = Field(max_length=200, description="One factual claim from the summary.")
    supported: bool = Field(description="True only if the transcript supports the claim.")
    evidence: str = Field(default="", max_length=200, description="Short quote from the transcript, or empty.")


class FaithfulnessJudgement(BaseModel):
    """The claims of a summary, each checked against the transcript."""

    claims: list[ClaimCheck] = Field(min_length=1, max_length=8)

    @property
    def score(self) -> float:
        return sum(c.supported for c in self.claims) / len(self.claims)


def make_judge(llm: BaseChatModel, *, method: str = "function_calling") -> Callable[..., FaithfulnessJudgement]:
    """A judge function `(transcript=..., summary=...) -> FaithfulnessJudgement` over the given chat model."""
    structured = llm.with_structured_output(FaithfulnessJudgement, method=method)

    def judge(*, transcript: str, summary: str) -> FaithfulnessJudgement:
        # `transcript` is `Interaction.transcript()`: one turn per line, no line break or speaker label inside a
        # turn (`render_turn`), so the judge reads the same turns the writer did. Neither text may open or close a
        # block of the prompt.
        parts = render_parts(TEMPLATE, transcript=_unmarked(transcript), summary=_unmarked(summary))
        result = structured.invoke([SystemMessage(parts["system"]), HumanMessage(parts["user"])])
        if result is None:
            raise ValueError("the judge returned no structured answer")
        return result

    judge.template_hash = template_hash(TEMPLATE)  # type: ignore[attr-defined]
    return judge


def _unmarked(text: str) -> str:
    return text.replace("<<<", "‹‹‹").replace(">>>", "›››")
