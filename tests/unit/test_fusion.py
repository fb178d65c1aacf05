"""The fusion model (numpy multinomial logistic regression + Platt confidence) and its use by the classifier."""

import numpy as np
import pytest

from cx_worker.models import Interaction
from cx_worker.outcomes import fusion
from cx_worker.outcomes.classify import decide
from cx_worker.outcomes.folds import stratified_folds
from cx_worker.outcomes.fusion import (
    FusionModel,
    feature_names,
    features,
    fit,
    knn,
    load_model,
    save_model,
    training_features,
    vote_shares,
)
from cx_worker.outcomes.signals import FEATURES


def _synthetic(n_per_class=60, seed=0):
    """Feature rows where each class has its own tell-tale signal, plus noise; clearly synthetic."""
    rng = np.random.default_rng(seed)
    tells = {"resolved": "fix_made", "deflected": "handoff_no_fix", "escalated": "escalation",
             "abandoned": "abandoned_wait"}
    x, y = [], []
    for label, tell in tells.items():
        for _ in range(n_per_class if label != "abandoned" else 8):
            fired = {tell} if rng.random() < 0.9 else set()
            if rng.random() < 0.2:
                fired.add("customer_thanks")
            shares = {label: rng.uniform(0.3, 1.0)}
            x.append(features(shares, rng.uniform(0.5, 0.9), fired))
            y.append(label)
    return np.stack(x), y


def test_features_are_vote_shares_nearest_similarity_and_signal_flags():
    x = features({"deflected": 0.75, "resolved": 0.25}, 0.8, ["handoff_dm", "handoff"])
    names = feature_names()
    assert len(x) == len(names) == 6 + len(FEATURES) + 5
    assert x[names.index("vote_deflected")] == 0.75 and x[names.index("nearest_similarity")] == 0.8
    assert x[names.index("handoff_dm")] == 1.0 and x[names.index("fix_made")] == 0.0
    assert not x[names.index("words_resolved"):].any()  # no word model: the word features are 0
    y = features({}, 0.8, [], {"escalated": 0.6, "resolved": 0.4})
    assert y[names.index("words_escalated")] == 0.6 and y[names.index("words_resolved")] == 0.4


def test_fit_learns_the_signals_and_gives_calibrated_probabilities():
    x, y = _synthetic()
    model = fit(x, y)
    labels, confidence, proba = model.predict(x)
    assert model.classes == ["resolved", "deflected", "escalated", "abandoned"]
    assert np.allclose(proba.sum(axis=1), 1.0) and ((confidence > 0) & (confidence < 1)).all()
    assert np.mean([p == t for p, t in zip(labels, y)]) > 0.85
    # The rare class is still found (class weighting), and a lone abandonment signal says abandoned.
    only_wait = features({}, 0.6, ["abandoned_wait"])
    assert model.predict(only_wait)[0] == ["abandoned"]
    # Calibration maps confidence towards the observed accuracy: right and wrong answers are told apart.
    right = np.array([p == t for p, t in zip(labels, y)])
    if (~right).any():
        assert confidence[right].mean() > confidence[~right].mean()
    # The out-of-fold predictions behind the calibration are kept as a confusion matrix: every exemplar once,
    # on the row of its true label.
    matrix = np.array(model.confusion["rows_true_cols_predicted"])
    assert model.confusion["labels"] == model.classes and matrix.sum() == len(y)
    assert list(matrix.sum(axis=1)) == [y.count(c) for c in model.classes]
    assert np.trace(matrix) / matrix.sum() > 0.75  # mostly right out of fold too


def test_model_round_trip_and_stale_models_are_not_used(tmp_path):
    x, y = _synthetic()
    model = fit(x, y, calibrate=False)
    path = save_model(model, tmp_path / "m.json")
    again = load_model(path)
    assert again is not None and np.allclose(again.proba(x), model.proba(x))
    stale = FusionModel(**{**model.__dict__, "signals_version": "signals-v0"})
    save_model(stale, tmp_path / "stale.json")
    assert load_model(tmp_path / "stale.json") is None and load_model(tmp_path / "missing.json") is None


def test_knn_never_lets_a_contact_vote_for_itself():
    rng = np.random.default_rng(1)
    bank = rng.normal(size=(20, 8))
    bank /= np.linalg.norm(bank, axis=1, keepdims=True)
    labels = ["resolved"] * 10 + ["deflected"] * 10
    nearest = knn(bank, bank, labels, k=3, self_index=list(range(20)))
    assert all(str(i) not in {n[0] for n in near} for i, near in enumerate(nearest))
    assert all(near[0][2] >= near[1][2] >= near[2][2] for near in nearest)
    x = training_features(bank, labels, [[] for _ in labels], k=3)
    assert x.shape == (20, len(feature_names()))


def test_stratified_folds_cover_every_contact_once_and_spread_each_label():
    labels = ["resolved"] * 50 + ["deflected"] * 30 + ["abandoned"] * 5
    folds = stratified_folds(labels, 5, seed=3)
    assert sorted(np.concatenate(folds).tolist()) == list(range(85))
    for fold in folds:
        got = [labels[i] for i in fold]
        assert got.count("resolved") == 10 and got.count("deflected") == 6 and got.count("abandoned") == 1


def test_decide_fuses_or_falls_back_to_the_vote():
    contact = Interaction(id="c", channel="messaging", turns=[
        {"speaker": "customer", "text": "My internet is down again"},
        {"speaker": "agent", "text": "Sorry about that! Please send us a DM with your account number."}])
    nearest = [("e1", "resolved", 0.71), ("e2", "resolved", 0.70), ("e3", "deflected", 0.69)]
    plain = decide(contact, nearest, model=None, review_confidence=0.9)
    assert plain.label == "resolved" and plain.signals["model"] == "vote"
    assert plain.signals["handoff_dm"]["turns"] == [1] and plain.signals["needs_review"] is True
    assert [e.exemplar_id for e in plain.evidence] == ["e1", "e2", "e3"]
    x, y = _synthetic()
    fused = decide(contact, nearest, model=fit(x, y), review_confidence=0.0)
    assert fused.label == "deflected" and set(fused.signals["probabilities"]) == {"resolved", "deflected",
                                                                                  "escalated", "abandoned"}
    assert fused.signals["model"].startswith("fusion") and fused.signals["needs_review"] is False


def test_vote_shares_are_similarity_weighted():
    shares = vote_shares([("a", "deflected", 0.91), ("b", "resolved", 0.80), ("c", "resolved", 0.79)])
    assert shares["deflected"] > 0.5 and sum(shares.values()) == pytest.approx(1.0)
    assert fusion.TEMPERATURE > 0


def test_ensure_model_refits_when_the_exemplars_change(tmp_path):
    import chromadb

    from cx_worker.outcomes.exemplars import add_exemplars, open_collection, read_exemplars
    from tests.support.paths import PROJECT_ROOT

    seed = list(read_exemplars(PROJECT_ROOT / "tests" / "fixtures" / "exemplars_small.jsonl"))[:24]
    collection = open_collection(tmp_path, name="refit", client=chromadb.EphemeralClient())
    add_exemplars(seed[:20], collection=collection)
    path = tmp_path / "model.json"
    first = fusion.ensure_model(collection, path, k=3)
    assert first is not None and first.exemplars_digest
    assert fusion.ensure_model(collection, path, k=3).fitted_at == first.fitted_at  # unchanged: not refitted
    add_exemplars(seed[20:], collection=collection)
    again = fusion.ensure_model(collection, path, k=3)
    assert again.exemplars_digest != first.exemplars_digest
    assert sum(again.trained_on.values()) == sum(first.trained_on.values()) + 4
