"""The faithfulness judge: an LLM splits a summary into claims and quotes the transcript for each; code then checks
every quote.

A small model asked "is this supported?" says yes to almost anything. So the judge must show its evidence: for
each claim, who the summary says did or said it, and the transcript words that support it, before its verdict.
Then `verify` checks what can be checked without a model:

- the quote must be in the transcript (word for word, give or take punctuation and case): a quote the judge made
  up supports nothing;
- the quote must be in a turn of the speaker the claim names: "the customer reset the router", supported by the
  agent's "please reset the router", is a swapped speaker;
- a claim the judge calls supported with no quote at all is unsupported: nothing shows it.

It is one eval signal among deterministic ones (groundedness, attribution, tone), never the only gate on a note.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Literal

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage, SystemMessage
from pydantic import BaseModel, Field

from cx_worker.llm.prompts import render_parts, template_hash

TEMPLATE = "judge_faithfulness.j2"
Speaker = Literal["customer", "agent", "both", "nobody"]


class JudgedClaim(BaseModel):
    """One factual claim of the summary, who it says did or said it, and the transcript words that show it."""

    claim: str = Field(max_length=200, description="One factual claim from the summary.")
    speaker: Speaker = Field(description="Who the claim says did or said it: customer, agent, both, or nobody.")
    evidence: str = Field(max_length=200, description="The transcript's own words that show the claim, copied "
                          "exactly from one turn; empty if no turn shows it.")
    supported: bool = Field(description="True only if the evidence shows the claim, said by that speaker.")


class JudgedSummary(BaseModel):
    """The claims of a summary, each with its evidence."""

    claims: list[JudgedClaim] = Field(min_length=1, max_length=8)


class ClaimCheck(BaseModel):
    """A claim after the checks: supported or not, and why not."""

    claim: str
    supported: bool
    evidence: str = ""
    speaker: Speaker = "nobody"
    judge_supported: bool | None = None  # the model's own verdict, before `verify`
    problem: str = ""  # why the claim is unsupported: the judge's verdict, or what `verify` found


class FaithfulnessJudgement(BaseModel):
    """The claims of a summary, each checked against the transcript."""

    claims: list[ClaimCheck] = Field(min_length=1, max_length=8)

    @property
    def score(self) -> float:
        return sum(c.supported for c in self.claims) / len(self.claims)


def make_judge(llm: BaseChatModel, *, method: str = "function_calling") -> Callable[..., FaithfulnessJudgement]:
    """A judge function `(transcript=..., summary=...) -> FaithfulnessJudgement` over the given chat model."""
    structured = llm.with_structured_output(JudgedSummary, method=method)

    def judge(*, transcript: str, summary: str) -> FaithfulnessJudgement:
        # `transcript` is `Interaction.transcript()`: one turn per line, no line break or speaker label inside a
        # turn (`render_turn`), so the judge reads the same turns the writer did. Neither text may open or close a
        # block of the prompt.
        parts = render_parts(TEMPLATE, transcript=_unmarked(transcript), summary=_unmarked(summary))
        result = structured.invoke([SystemMessage(parts["system"]), HumanMessage(parts["user"])])
        if result is None:
            raise ValueError("the judge returned no structured answer")
        return verify(result, transcript)

    judge.template_hash = template_hash(TEMPLATE)  # type: ignore[attr-defined]
    return judge


def verify(judged: JudgedSummary, transcript: str) -> FaithfulnessJudgement:
    """The judge's claims with every quote checked against the transcript (see the module docstring)."""
    turns = [_turn(line) for line in transcript.splitlines() if line.strip()]
    return FaithfulnessJudgement(claims=[_check(c, turns) for c in judged.claims])


def _check(claim: JudgedClaim, turns: list[tuple[str, list[str]]]) -> ClaimCheck:
    out = ClaimCheck(claim=claim.claim, supported=claim.supported, evidence=claim.evidence, speaker=claim.speaker,
                     judge_supported=claim.supported)
    if not claim.supported:
        out.problem = "the judge found no support"
        return out
    quote = _words(claim.evidence)
    quoted_in = {speaker for speaker, words in turns if quote and _contains(words, quote)}
    # How much of the claim's content each speaker's best turn holds: a small judge often quotes the wrong turn of
    # a true claim, so a quote that misses is not enough to call the claim unsupported.
    content = _content(claim.claim)
    cover = {speaker: max((_share(content, words) for s, words in turns if s == speaker), default=0.0)
             for speaker in ("customer", "agent")}
    named = claim.speaker if claim.speaker in cover else None
    if named is not None:
        other = "agent" if named == "customer" else "customer"
        if named in quoted_in or cover[named] >= _HELD:
            return out
        if other in quoted_in and cover[other] >= _HELD:
            return _fail(out, f"said by the {other}, not the {named}")
    elif quoted_in or max(cover.values()) >= _HELD:
        return out
    if not quoted_in and max(cover.values()) < _ABSENT:
        return _fail(out, "nothing in the transcript says it" if quote else "no evidence quoted, and no turn says it")
    return out  # some of it is there, the quote is not: not enough to call the claim unsupported


_HELD, _ABSENT = 0.5, 0.34  # share of a claim's content words in one turn: shows it / does not show it
_STOP = frozenset("""a about after again all also an and any are as asked at back be because been before being but by
can could customer customers agent agents did do does for from get got had has have he her him his i if in into is it
its just me more my no not of on only or our out over per said she should so some than that the their them then there
they this to told up us via was we were what when where which who will with would yes you your""".split())


def _content(text: str) -> set[str]:
    return {_stem(w) for w in _words(text) if w not in _STOP and not w.isdigit() or len(w) > 2 and w.isdigit()}


def _share(content: set[str], words: list[str]) -> float:
    if not content:
        return 1.0
    return len(content & {_stem(w) for w in words}) / len(content)


def _stem(word: str) -> str:
    return word[:5] if len(word) > 5 and not word.isdigit() else word


def _fail(check: ClaimCheck, problem: str) -> ClaimCheck:
    check.supported, check.problem = False, problem
    return check


_SPEAKER = re.compile(r"^\s*(customer|agent|bot|system)\s*:\s*", re.I)
_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)?")


def _turn(line: str) -> tuple[str, list[str]]:
    m = _SPEAKER.match(line)
    speaker = (m.group(1).lower() if m else "unknown").replace("bot", "agent")
    return speaker, _words(line[m.end():] if m else line)


def _words(text: str) -> list[str]:
    return [w.lower().replace("’", "'") for w in _WORD.findall(text)]


def _contains(words: list[str], quote: list[str], *, slack: float = 0.8) -> bool:
    """Whether `quote` stands in `words`: as one run, or (a quote trimmed or lightly edited) with at least `slack`
    of its words in order within a window not much longer than the quote."""
    n, m = len(words), len(quote)
    if m == 0 or n == 0:
        return False
    joined, q = " " + " ".join(words) + " ", " " + " ".join(quote) + " "
    if q in joined:
        return True
    need = max(1, int(slack * m + 0.999))
    window = m + max(2, m // 4)
    for start in range(max(1, n - window + 1)):
        matched, at = 0, 0
        for w in words[start:start + window]:
            if at < m and w == quote[at]:
                matched, at = matched + 1, at + 1
            elif at + 1 < m and w == quote[at + 1]:  # one quote word skipped
                matched, at = matched + 1, at + 2
        if matched >= need:
            return True
    return False


def _unmarked(text: str) -> str:
    return text.replace("<<<", "‹‹‹").replace(">>>", "›››")
