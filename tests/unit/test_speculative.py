"""Prompt lookup for speculative decoding: the latest match of the longest n-gram, and logits asked for only where
tokens are sampled."""

from types import SimpleNamespace

import numpy as np

from cx_worker.llm.speculative import RecentLookup, lean_eval


def test_the_guess_follows_the_latest_occurrence_of_the_longest_ngram():
    ids = np.array([5, 6, 7, 1, 2, 3, 9, 9, 1, 2, 4, 8, 8, 1, 2], dtype=np.intc)
    # "1 2" occurs three times before the end: the latest earlier one is followed by "4 8 8"
    assert RecentLookup(max_ngram_size=3, num_pred_tokens=3)(ids).tolist() == [4, 8, 8]
    # a 3-gram match wins over a later 2-gram one
    ids = np.array([7, 1, 2, 3, 4, 0, 1, 2, 5, 0, 7, 1, 2], dtype=np.intc)
    assert RecentLookup(max_ngram_size=3, num_pred_tokens=2)(ids).tolist() == [3, 4]


def test_no_match_no_guess_and_never_past_the_end():
    assert RecentLookup()(np.array([1, 2, 3, 4], dtype=np.intc)).size == 0
    ids = np.array([1, 2, 3, 1, 2], dtype=np.intc)
    assert RecentLookup(num_pred_tokens=10)(ids).tolist() == [3, 1, 2]


class _Model:
    """Just what `Llama.eval` touches: a context that records each decode's logit flags, and a batch."""

    def __init__(self, *, draft: bool, n_batch: int = 4):
        self.n_batch, self.n_tokens, self.input_ids = n_batch, 0, np.zeros(64, dtype=np.intc)
        self.draft_model = RecentLookup(num_pred_tokens=2) if draft else None
        self.decoded = []
        flags = [False] * n_batch
        self._batch = SimpleNamespace(batch=SimpleNamespace(logits=flags), set_batch=self._set_batch)
        self._ctx = SimpleNamespace(kv_cache_seq_rm=lambda *a: True,
                                    decode=lambda batch: self.decoded.append(list(flags[:self._n])))
        self._requires_eval = True

    def _set_batch(self, *, batch, n_past, logits_all):
        self._n = len(batch)
        for i in range(len(batch)):
            self._batch.batch.logits[i] = logits_all
        self._batch.batch.logits[len(batch) - 1] = True


def test_logits_only_for_the_last_sampled_positions_across_batches():
    model = _Model(draft=True)
    original_called = []
    eval_ = lean_eval(lambda self, tokens: original_called.append(tokens))
    eval_(model, list(range(10)))  # a prompt of 10 tokens in batches of 4: keep = 2 guesses + 1
    assert original_called == []
    assert model.decoded == [[False, False, False, True], [False, False, False, True], [True, True]]
    assert model.n_tokens == 10 and model.input_ids[:10].tolist() == list(range(10))
    eval_(model, [42, 43, 44])  # a sampled token and two guesses: every position is sampled
    assert model.decoded[-1] == [True, True, True] and model.n_tokens == 13


def test_without_a_draft_model_the_original_eval_runs():
    called = []
    lean_eval(lambda self, tokens: called.append(list(tokens)))(_Model(draft=False), [1, 2])
    assert called == [[1, 2]]
