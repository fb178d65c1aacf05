"""Misattribution check: does the summary give the customer what only the agent did or said, or the reverse?

Deterministic, no LLM, so it runs on every contact every night. Each summary clause with a known subject
(`attribution_text.claims`) is checked against the transcript's sentences (`attribution_text.sentences`):

- a statement ("said the parcel never arrived"): whose turns carry its content;
- a question or request ("asked whether …", "asked them to DM", "offered …"): who asked for it;
- an act ("reset the router"): did the named speaker report doing it, or did the other do it ("I reset my router"),
  ask for it to be done ("please reset your router", with no sign the customer did), or only promise to look into it;
- an apology or thanks: who apologised or thanked.

A clause is flagged only when the named speaker has no evidence for it and the other has clear evidence. A false
alarm costs more than a missed swap (agents and governance leads read these flags), so every doubt means no finding:
a negated clause ("did not refund"), an unknown or ambiguous subject, a claim of one content word (but "confirmed it
works"). Development figures: tests/unit/data/README.md.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from cx_worker.governance import attribution_lexicon as lx
from cx_worker.governance.attribution_lexicon import overlap, stem
from cx_worker.governance.attribution_text import OTHER, TRANSACTIONS, Actor, Claim, Sentence, claims, sentences
from cx_worker.governance.metrics import EvalItem, Metric
from cx_worker.models import Turn

Verdict = Literal["misattributed", "consistent", "unchecked"]


@dataclass(frozen=True)
class AttributionFinding:
    """One clause of the summary that the transcript gives to the other speaker."""

    span: str  # the summary's clause
    named: Actor  # who the summary says did or said it
    supported: Literal["customer", "agent", "neither"]  # who the transcript shows did or said it
    turns: tuple[int, ...]  # the evidence turns, 0-based
    reason: str


@dataclass
class AttributionResult:
    verdict: Verdict
    findings: list[AttributionFinding] = field(default_factory=list)
    checked: int = 0  # clauses with a known subject and something to check


def _finding(claim: Claim, supported: str, evidence: list[Sentence], reason: str) -> AttributionFinding:
    turns = tuple(sorted({s.turn for s in evidence}))[:3]
    return AttributionFinding(claim.span, claim.actor, supported, turns, reason)  # type: ignore[arg-type]


def _pooled(sents: list[Sentence], modes, *, heard: bool) -> dict[int, frozenset[str]]:
    """Each turn's terms over its sentences whose mode is in `modes` (a claim's content can span a turn's sentences)."""
    pools: dict[int, frozenset[str]] = {}
    for s in sents:
        if s.mode in modes:
            pools[s.turn] = pools.get(s.turn, frozenset()) | (s.heard if heard else s.terms)
    return pools


_COMPLAINT_VERBS = frozenset(stem(v) for v in lx.COMPLAINT_VERBS)
_ALL_MODES = frozenset("echo conditional question request negated hedge future done you_done statement".split())
_CLAIMS = _ALL_MODES - {"echo", "conditional", "question"}
_ASKS = frozenset({"question", "request"})


def _judge_content(claim: Claim, mine: list[Sentence], theirs: list[Sentence]) -> AttributionFinding | None:
    """A statement, question or request: whose turns carry its content, in the form the clause says."""
    n = len(claim.content)
    if claim.frame == "said":
        # A customer's question often carries their claim ("why hasn't my refund arrived?"); an agent's is a probe.
        asks_too = claim.actor == "customer" or claim.verb in _COMPLAINT_VERBS
        my_pools = _pooled(mine, _CLAIMS | {"conditional"} | ({"question"} if asks_too else set()), heard=True)
        negated = bool(lx.NEGATION.search(claim.span))  # the other's evidence must say it the same way round
        their_pools = _pooled([s for s in theirs if s.negated == negated], _CLAIMS - {"request"}, heard=True)
    else:  # a question or request: the other side must have asked it
        my_pools = _pooled(mine, _ALL_MODES - {"echo"} - ({"negated"} if claim.frame == "request" else set()),
                           heard=False)
        # the content of a question or request can run over the sentences around it ("… marketing, so can we have
        # an email ID?"): pool the turns that ask
        asking = {s.turn for s in theirs if s.mode in ({"question"} if claim.frame == "question" else _ASKS)}
        their_pools = _pooled([s for s in theirs if s.turn in asking], _ALL_MODES - {"echo"}, heard=False)
    best_mine = max((overlap(claim.content, p) for p in my_pools.values()), default=0)
    scored = {turn: overlap(claim.content, p) for turn, p in their_pools.items()}
    best_theirs = max(scored.values(), default=0)
    if n == 1 and claim.frame == "said" and claim.content <= lx.STATUS_TERMS:  # "confirmed it works"
        status = _pooled(theirs, _CLAIMS - {"negated", "request"}, heard=False)
        scored = {turn: overlap(claim.content, p) for turn, p in status.items()}
        if best_mine or not any(scored.values()):
            return None
    elif (n < 2 or best_mine >= (n // 2 + 1 if n <= 3 else math.ceil(n / 2))
          or best_theirs < max(2, math.ceil(0.6 * n)) or best_theirs <= best_mine):
        return None
    elif claim.frame != "said" and any(
            s.mode in _ASKS and s.turn < min(t for t, k in scored.items() if k == best_theirs)
            and overlap(claim.content, s.terms) for s in mine):
        return None  # the named speaker asked first, in other words; the other side followed it up
    other = OTHER[claim.actor]
    top = max(scored.values())
    what = {"said": "said", "question": "asked", "request": "asked for"}[claim.frame]
    return _finding(claim, other, [s for s in theirs if scored.get(s.turn) == top],
                    f"the {other} {what} this; nothing the {claim.actor} wrote says it")


_CUES = frozenset("you please pls kindly try let's mind should need suggest recommend advise sure".split())
_FILLERS = frozenset("just simply then also and so ok okay now first next".split())


def _directed(s: Sentence, key: frozenset[str]) -> bool:
    """Is the act the thing asked for ("can you reset it", "please DM us"), not a word elsewhere in the request?"""
    words = re.findall(r"[a-z_']+", s.text)
    for i, w in enumerate(words):
        if stem(w) in key and (set(words[:i]) <= _FILLERS or words[0] in _CUES or _CUES & set(words[max(0, i - 4):i])):
            return True
    return False


def _judge_act(claim: Claim, sents: list[Sentence]) -> AttributionFinding | None:
    """An act: did the named speaker report it, or did the other do it, ask for it, or ask for it to be done?"""
    named, other = claim.actor, OTHER[claim.actor]
    need = 1 if len(claim.key) == 1 else math.ceil(len(claim.key) / 2)
    obj = claim.content - claim.key
    handing_over = bool(claim.key & lx.HANDING_OVER) and obj  # a link, a photo, the numbers: the thing shows it

    pools = {s.turn: _turn_pool(sents, s.turn) for s in sents}

    def about(s: Sentence) -> bool:  # the act in this sentence, its object in this turn or the two before
        return overlap(claim.key, s.terms) >= need and (not obj or overlap(obj, pools[s.turn]) >= 1)

    own_modes = {"done", "statement"} | ({"future"} if named == "agent" else set())
    if not claim.key or any(overlap(claim.key, s.heard if lx.AFFIRMATIVE.match(s.text) else s.terms) >= need
                            for s in sents if s.speaker == named and s.mode in own_modes):
        return None
    if handing_over and any(s.speaker == named and (
            obj & {"link", "photo"} and "link" in s.terms and s.mode != "echo"  # a URL: the link or the picture
            or s.mode not in _ASKS | {"echo"} and overlap(obj, s.terms) * 2 >= len(obj)) for s in sents):
        return None  # the link, photo or number is in the named speaker's turns: they handed it over
    if any(s.speaker == other and s.mode == "you_done" and overlap(claim.key, s.terms) >= need for s in sents):
        return None  # the other party says "you did it"
    did = [s for s in sents if s.speaker == other and about(s) and (
        s.mode in ({"done", "future", "hedge"} if other == "agent" else {"done"})
        or s.mode == "negated" and lx.FIRST_PERSON_DONE.search(s.text) and not s.denies(claim.key))]
    if did:
        return _finding(claim, other, did, f"the {other} reported doing this; the {named} did not")
    planned = [s for s in sents if other == "customer" and s.speaker == other and s.mode == "future" and about(s)]
    if planned:
        return _finding(claim, other, planned, "the customer said they would do this; the agent did not")
    if claim.verb in lx.LIGHT_VERBS:
        return None  # "took the card number": too vague to say who was asked
    asked = [s for s in sents if s.speaker == "agent" and s.mode in _ASKS and about(s) and _directed(s, claim.key)]
    if named == "customer":
        later = [s for s in sents if s.speaker == "customer" and asked and s.turn > asked[0].turn]
        refused = [s for s in later if s.denies(claim.key)]
        if asked and refused:
            return _finding(claim, "agent", asked + refused, "the agent asked the customer to do this; the customer "
                                                             "declined")
        if asked and not any(lx.ACKNOWLEDGED.search(s.text) for s in later):
            return _finding(claim, "agent", asked, "the agent asked the customer to do this; the customer never "
                                                   "said they did")
        return None
    if not claim.key & TRANSACTIONS:
        return _asked_instead(claim, asked, obj)
    hedged = [s for s in sents if s.speaker == "agent" and s.mode == "hedge" and about(s)]
    wanted = [s for s in sents if s.speaker == "customer" and s.mode in ("request", "question", "negated")
              and about(s)]
    refused = [s for s in sents if s.speaker == "agent" and s.mode == "negated" and about(s)]
    if wanted and not _accepted(sents, wanted[0].turn):
        outcome = ("said they could not" if refused else "only said they would look into it" if hedged
                   else "never said they did it")
        return _finding(claim, "neither" if hedged or refused else "customer", wanted + hedged + refused,
                        f"the customer asked for this; the agent {outcome}")
    if hedged:
        return _finding(claim, "neither", hedged, "the agent only said they would look into it")
    return _asked_instead(claim, asked, obj)


def _asked_instead(claim: Claim, asked: list[Sentence], obj: frozenset[str]) -> AttributionFinding | None:
    """The agent's act was only ever the agent asking the customer to do it, object and all in one sentence ("please
    power cycle your network devices"): a verb asked for about something else ("you can collect them") is no sign."""
    asked = [s for s in asked if not obj or overlap(obj, s.terms)]
    return _finding(claim, "customer", asked, "the agent asked the customer to do this") if asked else None


def _turn_pool(sents: list[Sentence], turn: int) -> frozenset[str]:
    """A turn's terms with those of the two turns before it, where the act's object is often named ("What's the new
    number?" "(408) 487-4899" "Everything is updated on our end!")."""
    return frozenset().union(*(s.terms for s in sents if turn - 2 <= s.turn <= turn))


def _accepted(sents: list[Sentence], turn: int) -> bool:
    """Did the agent's next turn after `turn` report something done ("Done!", "I've sorted that for you")?"""
    after = [s for s in sents if s.speaker == "agent" and s.turn > turn]
    return any(s.mode == "done" for s in after if s.turn == after[0].turn)


def _judge(claim: Claim, sents: list[Sentence]) -> AttributionFinding | None:
    mine = [s for s in sents if s.speaker == claim.actor]
    theirs = [s for s in sents if s.speaker != claim.actor]
    if claim.frame in ("sorry", "thank"):
        if any(overlap(claim.key, s.terms) for s in mine):
            return None
        evidence = [s for s in theirs if overlap(claim.key, s.terms)]
        verb = "apologised" if claim.frame == "sorry" else "thanked"
        return _finding(claim, OTHER[claim.actor], evidence, f"only the {OTHER[claim.actor]} {verb}") \
            if evidence else None
    if claim.frame == "done":
        return _judge_act(claim, sents)
    return _judge_content(claim, mine, theirs) if claim.content else None


_SIDE: dict[str, Actor] = {"customer": "customer", "agent": "agent", "bot": "agent"}


def check_attribution(turns: Iterable[Turn | Mapping[str, Any] | tuple[str, str]], summary: str) -> AttributionResult:
    """Find the summary's clauses that give one speaker what the transcript shows the other did or said.

    Args:
        turns: The dialog in order: `Turn` models, dicts with `speaker` (or `role`) and `text`, or (speaker, text)
            pairs. Speakers are customer, agent or bot (counted on the agent's side); others are ignored.
        summary: The English summary, third person ("The customer … The agent …").

    Returns:
        The findings and the verdict: misattributed, consistent, or unchecked when no clause names an actor.
    """
    pairs: list[tuple[Actor, str]] = []
    for t in turns:
        speaker, text = (t if isinstance(t, tuple) else (t.get("speaker", t.get("role")), t.get("text"))
                         if isinstance(t, Mapping) else (t.speaker, t.text))
        if speaker in _SIDE and text:
            pairs.append((_SIDE[speaker], text))
    found = claims(summary)
    sents = sentences(pairs)
    findings = [f for c in found if (f := _judge(c, sents)) is not None]
    verdict: Verdict = "misattributed" if findings else "consistent" if found else "unchecked"
    return AttributionResult(verdict, findings, len(found))


_TURN_LINE = re.compile(r"^(customer|agent|bot|system):\s?(.*)$")


def transcript_turns(transcript: str) -> list[tuple[str, str]]:
    """The 'speaker: text' lines of a rendered transcript (`Interaction.transcript`) as (speaker, text) pairs."""
    return [(m.group(1), m.group(2)) for line in transcript.splitlines() if (m := _TURN_LINE.match(line))]


class Attribution(Metric):
    name = "attribution"
    description = ("Share of summaries that give no act or statement to the wrong speaker (customer vs agent), "
                   "checked clause by clause against the transcript without an LLM; summaries with no clause "
                   "naming an actor are counted apart.")

    def _score(self, items: list[EvalItem]):
        checked, failures, unmeasured = 0, [], []
        for i in (i for i in items if i.work is not None):
            result = check_attribution(transcript_turns(i.transcript), i.work.get("summary", ""))
            if result.verdict == "unchecked":
                unmeasured.append({"id": i.interaction_id, "why": "no clause of the summary names an actor"})
                continue
            checked += 1
            if result.findings:
                why = " | ".join(f"{f.span!r}: {f.reason} (turn {', '.join(map(str, f.turns))})"
                                 for f in result.findings)
                failures.append({"id": i.interaction_id, "why": why[:400]})
        self.context.setdefault("unmeasured", {})[self.name] = unmeasured
        if not checked:
            return None
        return 1 - len(failures) / checked, failures, checked
