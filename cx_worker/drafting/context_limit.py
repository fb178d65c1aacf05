"""Keeping a transcript within the LLM's context: a contact far over the limit is cut, with a recorded reason.

Tokens are estimated, not counted (the serving model's tokenizer is not ours to load): about 4 characters a token
for English, 3 to be safe on other scripts and on digits. The cut keeps the opening (what the customer wanted) and
the ending (how it ended) and drops whole turns from the middle, marked by one system turn that says how many.
"""

from __future__ import annotations

import math

from cx_worker.models import Interaction, Turn

CHARS_PER_TOKEN = 3.0


def estimate_tokens(text: str) -> int:
    """A conservative token estimate for `text`."""
    return math.ceil(len(text) / CHARS_PER_TOKEN)


def fit_transcript(interaction: Interaction, *, max_tokens: int) -> tuple[Interaction, str | None]:
    """The interaction cut to about `max_tokens` of transcript, and why (None when it already fits).

    Keeps turns from both ends alternately (start first) until the budget is spent; a single turn longer than the
    whole budget is itself cut to fit.
    """
    total = estimate_tokens(interaction.transcript())
    if total <= max_tokens:
        return interaction, None
    budget = max_tokens - 30  # room for the marker turn
    costs = [estimate_tokens(f"{t.speaker}: {t.text}") + 1 for t in interaction.turns]
    head, tail = [], []
    i, j = 0, len(costs) - 1
    while i <= j:
        side = i if len(head) <= len(tail) else j
        if costs[side] > budget:
            break
        budget -= costs[side]
        if side == i:
            head.append(interaction.turns[i])
            i += 1
        else:
            tail.insert(0, interaction.turns[j])
            j -= 1
    if not head:  # the first turn alone is over the budget: keep its beginning
        first = interaction.turns[0]
        head = [Turn(speaker=first.speaker, text=first.text[:int(budget * CHARS_PER_TOKEN)], ts=first.ts)]
        i = 1
    dropped = len(interaction.turns) - len(head) - len(tail)
    reason = (f"transcript ~{total} tokens is over the {max_tokens}-token limit (CX_MAX_TRANSCRIPT_TOKENS): "
              f"kept the first {len(head)} and last {len(tail)} turns, dropped {dropped} from the middle")
    marker = Turn(speaker="system", text=f"[{dropped} turns omitted here: transcript too long for the model]")
    turns = head + ([marker] if dropped else []) + tail
    metadata = interaction.metadata | {"truncated": {"reason": reason, "estimated_tokens": total,
                                                     "dropped_turns": dropped}}
    return interaction.model_copy(update={"turns": turns, "metadata": metadata}), reason
