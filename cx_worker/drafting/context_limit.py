"""Keeping a transcript within the LLM's context: a contact far over the limit is cut, with a recorded reason.

Tokens are estimated, not counted (the serving model's tokenizer is not ours to load): about 4 characters a token
for English, 3 to be safe on other scripts and on digits.

How a contact ended decides its outcome and its summary, so the cut always keeps the ending: the last turns get
the larger share of the budget (`ENDING_SHARE`), the opening (what the customer wanted) the rest, and the middle
goes, marked by one system turn that says how much was left out. A turn too long for its share is itself cut in
its middle (its start and its end kept, "[…]" between), so one huge turn can never push the ending out.
"""

from __future__ import annotations

import math

from cx_worker.models import Interaction, Turn

CHARS_PER_TOKEN = 3.0
ENDING_SHARE = 0.6  # of the budget, for the last turns; the opening gets the rest
_MARKER_TOKENS = 30  # the system turn that says what was left out
_CUT = " […] "


def estimate_tokens(text: str) -> int:
    """A conservative token estimate for `text`."""
    return math.ceil(len(text) / CHARS_PER_TOKEN)


def _cost(turn: Turn) -> int:
    return estimate_tokens(f"{turn.speaker}: {turn.text}") + 1


def _shorten(turn: Turn, tokens: int) -> Turn:
    """The turn cut to about `tokens`, its start and its end kept."""
    chars = max(int(tokens * CHARS_PER_TOKEN) - len(turn.speaker) - 2 - len(_CUT), 20)
    if len(turn.text) <= chars:
        return turn
    head = chars // 3  # the end of a long turn says more (how it ended) than its start
    return turn.model_copy(update={"text": turn.text[:head].rstrip() + _CUT + turn.text[-(chars - head):].lstrip()})


def _take(turns: list[Turn], budget: int, *, from_end: bool) -> list[Turn]:
    """Whole turns from one end while they fit; the first that does not fit is shortened into what is left."""
    kept: list[Turn] = []
    for turn in reversed(turns) if from_end else turns:
        cost = _cost(turn)
        if cost <= budget:
            kept.append(turn)
            budget -= cost
            continue
        if budget > 40 or not kept:  # room for a meaningful piece of it (or nothing kept yet: keep a piece)
            kept.append(_shorten(turn, max(budget, 40)))
        break
    return kept[::-1] if from_end else kept


def fit_transcript(interaction: Interaction, *, max_tokens: int) -> tuple[Interaction, str | None]:
    """The interaction cut to about `max_tokens` of transcript, and why (None when it already fits)."""
    total = estimate_tokens(interaction.transcript())
    if total <= max_tokens:
        return interaction, None
    budget = max(max_tokens - _MARKER_TOKENS, 80)
    turns = interaction.turns
    tail = _take(turns, int(budget * ENDING_SHARE), from_end=True)
    if len(tail) == len(turns):  # the ending is all there is (one huge turn, say): it may use the whole budget
        tail = _take(turns, budget, from_end=True)
    tail_start = len(turns) - len(tail)
    spent = sum(_cost(t) for t in tail)
    head = _take(turns[:tail_start], budget - spent, from_end=False)
    shortened = sum(a is not b for a, b in zip(head, turns)) + sum(
        a is not b for a, b in zip(tail, turns[tail_start:]))
    dropped = len(turns) - len(head) - len(tail)
    reason = (f"transcript ~{total} tokens is over the {max_tokens}-token limit (CX_MAX_TRANSCRIPT_TOKENS): "
              f"kept the first {len(head)} and last {len(tail)} turns ({shortened} of them cut in their middle), "
              f"dropped {dropped} from the middle")
    marker = [Turn(speaker="system", text=f"[{dropped} turns omitted here: transcript too long for the model]")]
    metadata = interaction.metadata | {"truncated": {"reason": reason, "estimated_tokens": total,
                                                     "dropped_turns": dropped, "shortened_turns": shortened}}
    return interaction.model_copy(update={"turns": head + (marker if dropped else []) + tail,
                                          "metadata": metadata}), reason
