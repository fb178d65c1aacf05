"""Speculative decoding by prompt lookup, made cheap enough to pay on a CPU.

A summary quotes its transcript and a JSON answer repeats its own structure, so the next tokens can often be
guessed by finding the last few generated tokens earlier in the context and copying what followed them. The model
then checks the guess in one batched pass and keeps the longest prefix it would have produced itself: greedy
output is unchanged, only the number of passes drops.

Two changes to llama-cpp-python 0.3.36's own support (`LlamaPromptLookupDecoding`, `draft_model`), both installed
into the server process by `server_app.install`:

- `RecentLookup`: the guess comes from the *latest* earlier occurrence of the longest matching n-gram (3 tokens,
  then 2, then 1), not the first: the first occurrence of `", "` is in the tool schema, the latest one in the
  answer being written.
- `lean_eval`: with a draft model, llama-cpp-python computes and copies the logits of every token it evaluates,
  prompt included: 151,936 logits a token, the whole output layer again for each of ~1,500 prompt tokens. Only
  the positions that are sampled need them (the last one, and the guessed ones); `lean_eval` asks for those only
  and skips the copy (used only for logprobs, which our client never requests).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np


class RecentLookup:
    """A `LlamaDraftModel`: the tokens that followed the latest earlier occurrence of the context's last n-gram."""

    def __init__(self, max_ngram_size: int = 3, num_pred_tokens: int = 8):
        self.max_ngram_size = max_ngram_size
        self.num_pred_tokens = num_pred_tokens

    def __call__(self, input_ids: np.ndarray, /, **_: Any) -> np.ndarray:
        n = int(input_ids.shape[0])
        for size in range(min(self.max_ngram_size, n - 1), 0, -1):
            tail = input_ids[n - size:]
            windows = np.lib.stride_tricks.sliding_window_view(input_ids[:n - 1], size)
            hits = np.flatnonzero(np.all(windows == tail, axis=1))
            for start in hits[::-1] + size:
                if start < n:
                    return input_ids[start:min(start + self.num_pred_tokens, n)].astype(np.intc)
        return np.array([], dtype=np.intc)


def lean_eval(original: Callable) -> Callable:
    """`Llama.eval` asking for logits only where tokens are sampled when a draft model is on (see the module
    docstring); without a draft model, the original."""

    def eval(self, tokens: Sequence[int]) -> None:  # noqa: A001 - the method it replaces
        if getattr(self, "draft_model", None) is None:
            return original(self, tokens)
        keep = getattr(self.draft_model, "num_pred_tokens", 10) + 1  # the sampled token and its guesses
        self._ctx.kv_cache_seq_rm(-1, self.n_tokens, -1)
        total = len(tokens)
        for i in range(0, total, self.n_batch):
            batch = tokens[i:min(total, i + self.n_batch)]
            n_past = self.n_tokens
            self._batch.set_batch(batch=batch, n_past=n_past, logits_all=False)
            for j in range(len(batch)):
                if i + j >= total - keep:
                    self._batch.batch.logits[j] = True
            self._ctx.decode(self._batch)
            self.input_ids[n_past:n_past + len(batch)] = batch
            self.n_tokens += len(batch)
            self._requires_eval = False
        return None

    return eval
