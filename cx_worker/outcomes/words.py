"""Outcome words: a logistic regression over the words of a contact's document, one more input of the fusion.

The kNN vote compares whole documents, whose embedding is dominated by what the contact is about (a refund, a
password, a delayed parcel). How it ended is said in a few words, often the same across topics: "DM us", "has
been notified", "a reset link", "that worked", "are you still there". This model learns those from the labelled
exemplars instead of a hand-written list: a multinomial logistic regression over the binary words and word pairs of
the document (the text the vector store embeds: opening and closing turns), each tagged with who said it
(`a:` agent or bot, `c:` customer), so "c:dm" and "a:dm" differ. Terms seen in fewer than `MIN_DF` exemplars are
dropped. Classes are balanced like the fusion's (`sample_weights`, same power; no extra deflected boost).

Its class probabilities enter the fusion model as features. For the fusion's own training rows they are
out-of-fold (`out_of_fold`): each exemplar's probabilities come from a text model that never saw it, as a new
contact's do at run time.

Pure numpy on a sparse representation (a document has ~100 terms): fitting on 1,000 exemplars takes about a
second, predicting one contact microseconds.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from cx_worker.outcomes.folds import stratified_folds

MIN_DF = 3          # a term must occur in this many training documents
L2 = 1.0            # ridge penalty, in units of the (weighted) sample
ITERATIONS = 100    # Adam steps (full batch); convex loss, deterministic answer (300 moves no probability 0.002)
LEARNING_RATE = 0.1
CLASS_WEIGHT_POWER = 0.5
OOF_FOLDS = 5

_WORD = re.compile(r"[a-z']+|\d+|[?!]")
_SPEAKER = re.compile(r"^(customer|agent|bot|system)\s*:\s?", re.IGNORECASE)


def terms(document: str) -> set[str]:
    """The speaker-tagged words and word pairs of a document ("speaker: text" lines, as `exemplars.document`).

    A line without a speaker prefix continues the previous turn.
    """
    out: set[str] = set()
    role = "a"
    for line in document.splitlines():
        match = _SPEAKER.match(line)
        if match:
            role = "c" if match.group(1).lower() == "customer" else "a"
            line = line[match.end():]
        words = _WORD.findall(line.lower())
        out.update(f"{role}:{w}" for w in words)
        out.update(f"{role}:{a}_{b}" for a, b in zip(words, words[1:]))
    return out


@dataclass
class TextModel:
    """A fitted text model: vocabulary, weights (vocabulary x classes) and intercepts."""

    classes: list[str]
    vocabulary: list[str]
    weights: list[list[float]]
    bias: list[float]

    def __post_init__(self) -> None:
        self._index = {t: j for j, t in enumerate(self.vocabulary)}
        self._w = np.asarray(self.weights, dtype=np.float64).reshape(len(self.vocabulary), len(self.classes))
        self._b = np.asarray(self.bias, dtype=np.float64)

    def proba(self, documents: Sequence[str]) -> np.ndarray:
        """Class probabilities (columns in `classes` order) of each document."""
        return self._proba([terms(d) for d in documents])

    def _proba(self, sets: Sequence[set[str]]) -> np.ndarray:
        return softmax(_Sparse(sets, self._index).dot(self._w) + self._b)

    def shares(self, document: str) -> dict[str, float]:
        """One document's class probabilities by label."""
        return self.shares_of(terms(document))

    def shares_of(self, found: set[str]) -> dict[str, float]:
        """`shares` of a document already split into its `terms`."""
        return dict(zip(self.classes, map(float, self._proba([found])[0])))

    def telling_terms(self, document: str, label: str, *, top: int = 5) -> list[str]:
        """The document's terms that most favour `label` over the other classes (evidence for a person)."""
        return self.telling_of(terms(document), label, top=top)

    def telling_of(self, found: set[str], label: str, *, top: int = 5) -> list[str]:
        """`telling_terms` of a document already split into its `terms`."""
        if label not in self.classes:
            return []
        return self.telling_by_label(found, top=top)[label]

    def telling_by_label(self, found: set[str], *, top: int = 5) -> dict[str, list[str]]:
        """`telling_of` for every class at once (one margin matrix), for a contact whose label is decided later,
        elsewhere (the chunk worker reads the words, the flow fuses)."""
        found = sorted(t for t in found if t in self._index and not _plain(t))
        if not found or len(self.classes) < 2:
            return {label: [] for label in self.classes}
        w = self._w[[self._index[t] for t in found]]
        total = w.sum(axis=1)
        out = {}
        for c, label in enumerate(self.classes):
            margin = w[:, c] - (total - w[:, c]) / (len(self.classes) - 1)
            best = sorted(range(len(found)), key=lambda i: (-margin[i], found[i]))[:top]
            out[label] = [found[i] for i in best if margin[i] > 0]
        return out

    def to_dict(self) -> dict:
        return {"classes": self.classes, "vocabulary": self.vocabulary,
                "weights": [[round(float(v), 5) for v in row] for row in self._w], "bias": [float(v) for v in self._b]}


# Words that say nothing to a person reading the evidence on their own ("c:my", "a:have_a"): left out of
# `telling_terms` only; the model itself uses every term.
_PLAIN = frozenset("""a about after again all also am an and any anything are as at be been before being but by
can could did do does doing else for from get got had has have having he her here him his how i i'm if in into is
it it's its just let me more my no not now of on one or our out please so some than that the their them then there
these they this to too up us very was way we were what when where which while who will with would you your ? !
http https www co com
""".split())


def _plain(term: str) -> bool:
    """A term made only of function words or punctuation (or a lone number or letter)."""
    words = term.split(":", 1)[1].split("_")
    return all(w in _PLAIN or w.isdigit() or len(w) < 2 for w in words)


def fit_text(documents: Sequence[str], labels: Sequence[str], *, classes: Sequence[str] | None = None,
             l2: float = L2, iterations: int = ITERATIONS, power: float = CLASS_WEIGHT_POWER,
             boost: Mapping[str, float] | None = None) -> TextModel:
    """Fit the text model on labelled documents.

    Args:
        documents: The exemplars' documents.
        labels: Their labels.
        classes: The class order (default: the labels present, sorted).
        l2: Ridge penalty.
        iterations: Adam steps.
        power: Class weighting (0: none; 1: every class the same total weight).
        boost: Extra weight per class.
    """
    classes = list(classes or sorted(set(labels)))
    sets = [terms(d) for d in documents]
    df = Counter(t for s in sets for t in s)
    vocabulary = sorted(t for t, c in df.items() if c >= MIN_DF)
    index = {t: j for j, t in enumerate(vocabulary)}
    matrix = _Sparse(sets, index)
    n, k, v = len(documents), len(classes), len(vocabulary)
    y = np.array([classes.index(label) for label in labels])
    target = np.eye(k)[y]
    sample_w = sample_weights(y, classes, power=power, boost=boost)
    w, b = np.zeros((v, k)), np.zeros(k)
    moments = [np.zeros_like(w), np.zeros_like(w), np.zeros(k), np.zeros(k)]
    for step in range(1, iterations + 1):
        p = softmax(matrix.dot(w) + b)
        g = (p - target) * sample_w[:, None] / n
        grad_w = matrix.tdot(g, v) + l2 / n * w
        for param, grad, m, s in ((w, grad_w, moments[0], moments[1]), (b, g.sum(axis=0), moments[2], moments[3])):
            m *= 0.9
            m += 0.1 * grad
            s *= 0.999
            s += 0.001 * grad * grad
            param -= LEARNING_RATE * (m / (1 - 0.9 ** step)) / (np.sqrt(s / (1 - 0.999 ** step)) + 1e-8)
    return TextModel(classes=classes, vocabulary=vocabulary, weights=w.tolist(), bias=b.tolist())


def out_of_fold(documents: Sequence[str], labels: Sequence[str], *, classes: Sequence[str], folds: int = OOF_FOLDS,
                seed: int = 0, **options) -> np.ndarray:
    """Each document's class probabilities from a text model fitted on the other folds only (rows x `classes`)."""
    out = np.zeros((len(documents), len(classes)))
    for test in stratified_folds(labels, min(folds, len(documents)), seed=seed):
        train = np.setdiff1d(np.arange(len(documents)), test)
        if len(test) == 0 or len(train) == 0:
            continue
        model = fit_text([documents[i] for i in train], [labels[i] for i in train], classes=classes, **options)
        out[test] = model.proba([documents[i] for i in test])
    return out


class _Sparse:
    """Documents x vocabulary, binary terms, each row scaled to unit length (coordinate lists; numpy only)."""

    def __init__(self, sets: Sequence[set[str]], index: Mapping[str, int]) -> None:
        rows, cols = [], []
        for i, found in enumerate(sets):
            known = sorted(index[t] for t in found if t in index)
            rows += [i] * len(known)
            cols += known
        self.n = len(sets)
        self.rows = np.array(rows, dtype=np.int64)
        self.cols = np.array(cols, dtype=np.int64)
        per_row = np.bincount(self.rows, minlength=self.n)
        self.vals = 1.0 / np.sqrt(per_row[self.rows]) if len(self.rows) else np.zeros(0)

    def dot(self, w: np.ndarray) -> np.ndarray:
        """X @ w (bincount per column of w: faster here than reduceat or a dense matrix)."""
        wt = np.ascontiguousarray(w.T)
        return np.stack([np.bincount(self.rows, weights=col[self.cols] * self.vals, minlength=self.n)
                         for col in wt], axis=1)

    def tdot(self, g: np.ndarray, size: int) -> np.ndarray:
        """X.T @ g (size rows)."""
        gt = np.ascontiguousarray(g.T)
        return np.stack([np.bincount(self.cols, weights=col[self.rows] * self.vals, minlength=size)
                         for col in gt], axis=1)


def sample_weights(y: np.ndarray, classes: Sequence[str], *, power: float,
                   boost: Mapping[str, float] | None = None) -> np.ndarray:
    """Per-sample weights that balance the classes (shared with `fusion`).

    Class j weighs (n / (classes x count_j)) ** power x boost[j]; the weights are then scaled to sum to n. `y`
    holds each sample's index into `classes`; a class without samples counts as one.
    """
    n, k = len(y), len(classes)
    counts = np.maximum(np.bincount(y, minlength=k), 1)
    per_class = (n / (k * counts)) ** power * np.array([(boost or {}).get(c, 1.0) for c in classes])
    weights = per_class[y]
    return weights * (n / weights.sum())


def softmax(z: np.ndarray) -> np.ndarray:
    """Row-wise softmax (shared with `fusion`)."""
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)
