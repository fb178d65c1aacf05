"""Fusion of the kNN vote, the turn signals and the outcome words into one label and a calibrated confidence.

A multinomial logistic regression in numpy: features are the vote shares of the labelled neighbours, the
similarity of the nearest one, one flag per signal (`signals.FEATURES`), and the class probabilities of the
outcome-words model (`text_model.py`), which the fusion model carries. It is fitted on the labelled exemplars,
each exemplar's vote taken over the *other* exemplars (leave-one-out) and its word probabilities from word models
that did not see it (out-of-fold), exactly as a new contact is judged at run time. Classes are weighted so rare
outcomes (abandoned, escalated) are not drowned by resolved.

The confidence is not the raw class probability (class weighting skews those): it is the probability that the
predicted label is right, mapped from the top probability by a logistic curve fitted on out-of-fold predictions
of the exemplars themselves (Platt scaling). The same out-of-fold predictions give the model's confusion matrix,
which the run report uses to say how far its outcome rates can be trusted. A model file records the signal version
and feature names it was fitted with; a model that does not match the running code is not used.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from cx_worker.models import OUTCOME_LABELS
from cx_worker.outcomes import signals as sig
from cx_worker.outcomes.folds import stratified_folds
from cx_worker.outcomes.words import TextModel, fit_text, out_of_fold, sample_weights, softmax

MODEL_FILE = "outcome_fusion.json"
# Sharpness of the vote: weight = exp((similarity - best) / temperature). Lower trusts the nearest more.
TEMPERATURE = 0.05
# Chosen by `cx-worker outcomes evaluate` (5 folds x 3 seeds) among l2 in {1, 3}, class-weight power 0.5 and a
# deflected boost in {1, 1.5, 2, 3}. The boost trades deflected precision (0.75 -> 0.70) for recall (0.79 -> 0.91)
# at about the same macro-F1: a deflection called resolved inflates the true-resolution rate ops steer on, the
# opposite error only understates it.
L2 = 3.0                  # ridge penalty on the weights (not the intercepts), in units of the weighted sample
CLASS_WEIGHT_POWER = 0.5  # 0: no class weighting, 1: every class the same total weight
CLASS_BOOST: dict[str, float] = {"deflected": 3.0}  # extra weight per class on top of the balancing
CALIBRATION_FOLDS = 5


def feature_names() -> list[str]:
    """The fusion model's input features, in order."""
    return ([f"vote_{label}" for label in OUTCOME_LABELS] + ["nearest_similarity"] + list(sig.FEATURES)
            + [f"words_{label}" for label in OUTCOME_LABELS])


def vote_shares(neighbours: Sequence[tuple[str, str, float]], *, temperature: float = TEMPERATURE) -> dict[str, float]:
    """Similarity-weighted share of each label among (exemplar_id, label, similarity) neighbours."""
    if not neighbours:
        return {}
    top = max(s for _, _, s in neighbours)
    weights: Counter = Counter()
    for _, label, s in neighbours:
        weights[label] += float(np.exp((s - top) / temperature))
    total = sum(weights.values())
    return {label: w / total for label, w in sorted(weights.items())}


def features(shares: Mapping[str, float], nearest: float, fired: Iterable[str],
             words: Mapping[str, float] | None = None) -> np.ndarray:
    """One contact's feature vector: vote shares, nearest similarity, signal flags, outcome-word probabilities
    (all 0 without a word model)."""
    on = set(fired)
    words = words or {}
    return np.array([shares.get(label, 0.0) for label in OUTCOME_LABELS] + [nearest]
                    + [1.0 if name in on else 0.0 for name in sig.FEATURES]
                    + [words.get(label, 0.0) for label in OUTCOME_LABELS])


@dataclass
class FusionModel:
    """A fitted fusion model: weights per class, the calibration curve, and what it was fitted on."""

    classes: list[str]
    feature_names: list[str]
    weights: list[list[float]]          # (features + 1) x classes, the last row is the intercept
    calibration: tuple[float, float]    # confidence = sigmoid(a * logit(top probability) + b)
    signals_version: str = sig.VERSION
    k: int = 7
    temperature: float = TEMPERATURE
    trained_on: dict[str, int] = field(default_factory=dict)
    fitted_at: str = ""
    exemplars_digest: str = ""          # the exemplars it was fitted on (`exemplars_digest`); "" if not from a store
    words: dict | None = None           # the outcome-words model (`text_model.TextModel.to_dict`); None: not used
    # Out-of-fold confusion of the model on its own exemplars (the calibration folds), {"labels",
    # "rows_true_cols_predicted"}: how often each true label is predicted as each label (`outcome_report.trust`).
    confusion: dict | None = None

    @property
    def word_model(self) -> TextModel | None:
        """The outcome-words model, if the fusion model was fitted with one."""
        if self.words is None:
            return None
        if getattr(self, "_word_model", None) is None:
            self._word_model = TextModel(**self.words)
        return self._word_model

    def proba(self, x: np.ndarray) -> np.ndarray:
        """Class probabilities (rows of x are feature vectors)."""
        x = np.atleast_2d(x)
        w = np.asarray(self.weights)
        return softmax(x @ w[:-1] + w[-1])

    def predict(self, x: np.ndarray) -> tuple[list[str], np.ndarray, np.ndarray]:
        """Labels, calibrated confidences and class probabilities of the rows of x."""
        p = self.proba(x)
        top = p.max(axis=1)
        return [self.classes[i] for i in p.argmax(axis=1)], _calibrate(top, self.calibration), p

    def matches_code(self) -> bool:
        """True if the model was fitted with the features the running code computes."""
        return self.signals_version == sig.VERSION and self.feature_names == feature_names()


def fit(x: np.ndarray, y: Sequence[str], *, l2: float = L2, class_weight_power: float = CLASS_WEIGHT_POWER,
        class_boost: Mapping[str, float] | None = None, calibrate: bool = True, seed: int = 0) -> FusionModel:
    """Fit the fusion model on feature rows `x` with labels `y` (labels absent from `y` are never predicted).

    Args:
        x: One feature vector per exemplar (`features`), its vote taken without itself.
        y: The exemplars' labels.
        l2: Ridge penalty on the weights.
        class_weight_power: 0 weighs every exemplar alike; 1 gives every class the same total weight.
        class_boost: Extra weight per class (default `CLASS_BOOST`).
        calibrate: Fit the confidence curve on out-of-fold predictions (else confidence = top probability).
        seed: Fold assignment for the calibration.
    """
    y = list(y)
    classes = [c for c in OUTCOME_LABELS if c in set(y)]
    boost = dict(CLASS_BOOST if class_boost is None else class_boost)
    weights = _fit_weights(x, y, classes, l2=l2, power=class_weight_power, boost=boost)
    calibration = (1.0, 0.0)
    confusion = None
    if calibrate and len(classes) > 1:
        folds = stratified_folds(y, CALIBRATION_FOLDS, seed=seed)
        top, right = [], []
        counts = np.zeros((len(classes), len(classes)), dtype=int)
        for test in folds:
            train = np.setdiff1d(np.arange(len(y)), test)
            sub = [y[i] for i in train]
            sub_classes = [c for c in classes if c in set(sub)]
            w = _fit_weights(x[train], sub, sub_classes, l2=l2, power=class_weight_power, boost=boost)
            p = softmax(x[test] @ w[:-1] + w[-1])
            top += list(p.max(axis=1))
            right += [sub_classes[j] == y[i] for j, i in zip(p.argmax(axis=1), test)]
            for j, i in zip(p.argmax(axis=1), test):
                counts[classes.index(y[i]), classes.index(sub_classes[j])] += 1
        calibration = _platt(np.array(top), np.array(right, dtype=float))
        confusion = {"labels": classes, "rows_true_cols_predicted": counts.tolist()}
    return FusionModel(classes=classes, feature_names=feature_names(), weights=weights.tolist(),
                       calibration=calibration, trained_on=dict(Counter(y)),
                       fitted_at=datetime.now(UTC).isoformat(timespec="seconds"), confusion=confusion)


def knn(queries: np.ndarray, bank: np.ndarray, bank_labels: Sequence[str], *, k: int,
        self_index: Sequence[int] | None = None) -> list[list[tuple[str, str, float]]]:
    """Exact cosine k nearest neighbours of unit-norm `queries` among unit-norm `bank` rows, as vote input.

    Args:
        queries: Query vectors (n x 384).
        bank: Exemplar vectors (m x 384); nothing outside it can vote.
        bank_labels: The exemplars' labels.
        k: Neighbours per query.
        self_index: For each query, the bank row that is the query itself (-1 if none): never its own neighbour.

    Returns:
        Per query, (bank row as id, label, similarity) nearest first.
    """
    out = []
    k = min(k, len(bank) - (1 if self_index is not None else 0))
    for start in range(0, len(queries), 1024):  # chunks keep the similarity matrix small at 10k exemplars
        sims = queries[start:start + 1024] @ bank.T
        if self_index is not None:
            for row, own in enumerate(self_index[start:start + 1024]):
                if own >= 0:
                    sims[row, own] = -np.inf
        top = np.argpartition(-sims, k - 1, axis=1)[:, :k] if k < bank.shape[0] else np.tile(
            np.arange(bank.shape[0]), (len(sims), 1))
        for row, cols in enumerate(top):
            cols = cols[np.argsort(-sims[row, cols])][:k]
            out.append([(str(c), bank_labels[c], float(sims[row, c])) for c in cols])
    return out


def training_features(vectors: np.ndarray, labels: Sequence[str], fired: Sequence[Iterable[str]], *,
                      k: int, temperature: float = TEMPERATURE, documents: Sequence[str] | None = None,
                      seed: int = 0) -> np.ndarray:
    """Feature rows of labelled exemplars as at run time: each voted on by the others only (leave-one-out), its
    outcome-word probabilities (if `documents` are given) from word models fitted on the other folds only."""
    nearest = knn(vectors, vectors, labels, k=k, self_index=list(range(len(vectors))))
    words: list[dict | None] = [None] * len(labels)
    if documents is not None:
        classes = [c for c in OUTCOME_LABELS if c in set(labels)]
        proba = out_of_fold(documents, labels, classes=classes, seed=seed)
        words = [dict(zip(classes, row)) for row in proba]
    return np.stack([features(vote_shares(n, temperature=temperature), n[0][2] if n else 0.0, f, w)
                     for n, f, w in zip(nearest, fired, words)])


def fit_with_words(vectors: np.ndarray, labels: Sequence[str], fired: Sequence[Iterable[str]],
                   documents: Sequence[str], *, k: int, temperature: float = TEMPERATURE, seed: int = 0,
                   **options) -> FusionModel:
    """The fusion model and its outcome-words model, both fitted on these labelled exemplars only."""
    x = training_features(vectors, labels, fired, k=k, temperature=temperature, documents=documents, seed=seed)
    model = fit(x, labels, seed=seed, **options)
    model.words = fit_text(documents, labels, classes=model.classes).to_dict()
    model.k, model.temperature = k, temperature
    return model


def fit_from_collection(collection, *, k: int, **options) -> FusionModel | None:
    """Fit the fusion model on every exemplar in the collection (seed, corrections) with current signals.

    Exemplars whose stored signals come from another signal version are left out (rebuild the store to
    refresh them). Returns None when fewer than two labels are left.
    """
    got = collection.get(include=["embeddings", "metadatas", "documents"])
    keep = [i for i, m in enumerate(got["metadatas"]) if m.get("signals_version") == sig.VERSION]
    labels = [got["metadatas"][i]["label"] for i in keep]
    if len(set(labels)) < 2:
        return None
    vectors = np.asarray(got["embeddings"], dtype=np.float32)[keep]
    fired = [[s for s in got["metadatas"][i].get("signals", "").split(",") if s] for i in keep]
    documents = got.get("documents") or [None] * len(got["ids"])
    model = fit_with_words(vectors, labels, fired, [documents[i] or "" for i in keep], k=k, **options)
    model.exemplars_digest = exemplars_digest(got["ids"], got["metadatas"])
    return model


def exemplars_digest(ids: Sequence[str], metadatas: Sequence[Mapping]) -> str:
    """A fingerprint of the labelled exemplars a model can be fitted on (id, label, signals, signal version, and
    the seed key, which names the version of the documents the words model learns from)."""
    rows = sorted((i, m.get("label", ""), m.get("signals", ""), m.get("signals_version", ""), m.get("seed", ""))
                  for i, m in zip(ids, metadatas) if m.get("signals_version") == sig.VERSION)
    return hashlib.sha256(json.dumps(rows).encode()).hexdigest()[:16]


def ensure_model(collection, path: Path, *, k: int, refit: bool = False) -> FusionModel | None:
    """The fusion model at `path`; fitted from the collection and saved first if missing, stale or `refit`.

    Stale: fitted for other features, another k, or other exemplars than the collection now holds (a refreshed
    seed file, a correction made elsewhere). Returns None (the classifier then uses the plain vote) when the
    collection cannot train one.
    """
    model = None if refit else load_model(path)
    if model is not None and model.confusion is None and len(model.classes) > 1:
        model = None  # fitted before models kept their out-of-fold confusion matrix, which the run report shows
    if model is not None and model.exemplars_digest:
        got = collection.get(include=["metadatas"])
        if exemplars_digest(got["ids"], got["metadatas"]) != model.exemplars_digest:
            model = None
    if model is None or model.k != k:
        model = fit_from_collection(collection, k=k)
        if model is not None:
            save_model(model, path)
    return model


def saved_confusion(path: Path) -> dict | None:
    """The out-of-fold confusion matrix of the model at `path` (see `FusionModel.confusion`), or None."""
    model = load_model(path)
    return model.confusion if model is not None else None


def save_model(model: FusionModel, path: Path) -> Path:
    """Write the model as JSON (small: a few kB)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(asdict(model), indent=1) + "\n")
    return path


def load_model(path: Path) -> FusionModel | None:
    """The model at `path`, or None if there is none or it was fitted for other features (then: plain vote)."""
    if not path.exists():
        return None
    data = json.loads(path.read_text())
    data["calibration"] = tuple(data["calibration"])
    model = FusionModel(**data)
    return model if model.matches_code() else None


def _fit_weights(x: np.ndarray, y: Sequence[str], classes: list[str], *, l2: float, power: float,
                 boost: Mapping[str, float] | None = None) -> np.ndarray:
    """Multinomial logistic regression by Newton's method (a few dozen parameters: the Hessian is tiny)."""
    n, d = x.shape
    c = len(classes)
    if c == 1:
        return np.zeros((d + 1, 1))
    index = {label: j for j, label in enumerate(classes)}
    t = np.zeros((n, c))
    t[np.arange(n), [index[label] for label in y]] = 1.0
    sample_w = sample_weights(t.argmax(axis=1), classes, power=power, boost=boost)
    xb = np.hstack([x, np.ones((n, 1))])
    penalty = np.full(d + 1, l2)
    penalty[-1] = 1e-4  # intercepts nearly free
    reg = np.kron(np.eye(c), np.diag(penalty))  # parameters laid out class by class
    w = np.zeros((d + 1, c))
    for _ in range(50):
        p = softmax(xb @ w)
        grad = (xb.T @ ((p - t) * sample_w[:, None])).T.reshape(-1) + reg @ w.T.reshape(-1)
        # Hessian block (a, b) = sum_i w_i p_ia (delta_ab - p_ib) x_i x_i^T
        outer = np.einsum("i,ia,ib->iab", sample_w, p, -p)
        outer[:, np.arange(c), np.arange(c)] += sample_w[:, None] * p
        hess = np.empty((c, d + 1, c, d + 1))
        for a in range(c):
            for b in range(a, c):
                hess[a, :, b, :] = hess[b, :, a, :] = (xb * outer[:, a, b][:, None]).T @ xb
        hess = hess.reshape(c * (d + 1), c * (d + 1)) + reg
        step = np.linalg.solve(hess + 1e-9 * np.eye(len(hess)), grad)
        w -= step.reshape(c, d + 1).T
        if np.abs(step).max() < 1e-6:
            break
    return w


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


def _calibrate(top: np.ndarray, calibration: tuple[float, float]) -> np.ndarray:
    a, b = calibration
    return np.clip(1.0 / (1.0 + np.exp(-(a * _logit(top) + b))), 0.001, 0.999)


def _platt(top: np.ndarray, right: np.ndarray, *, prior: float = 1.0) -> tuple[float, float]:
    """Fit P(right) = sigmoid(a * logit(top) + b) by Newton's method on the log-loss.

    A ridge pulls (a, b) towards (1, 0), "trust the model's own probability": with few or no wrong
    out-of-fold answers the curve would otherwise grow without bound and claim certainty.
    """
    z = _logit(top)
    identity = np.array([1.0, 0.0])
    params = identity.copy()
    design = np.stack([z, np.ones_like(z)], axis=1)
    for _ in range(100):
        p = 1.0 / (1.0 + np.exp(-(design @ params)))
        grad = design.T @ (p - right) + prior * (params - identity)
        hess = design.T @ (design * (p * (1 - p))[:, None]) + prior * np.eye(2)
        step = np.linalg.solve(hess, grad)
        params -= step
        if np.abs(step).max() < 1e-8:
            break
    return float(params[0]), float(params[1])
