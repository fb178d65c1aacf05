"""The cross-validation behind `cx-worker outcomes evaluate`: no label leak, right metrics, right labels."""

import json

import numpy as np
import pytest

from cx_worker.cli import main
from cx_worker.outcomes import evaluate as outcome_eval
from cx_worker.outcomes.evaluate import cross_validate, load_labelled, scores
from tests.support.paths import PROJECT_ROOT

FIXTURES = PROJECT_ROOT / "tests" / "fixtures"


def _data(n_per_class=20, seed=0):
    """Synthetic vectors clustered by label, with a matching signal on most rows."""
    rng = np.random.default_rng(seed)
    labels, vectors, fired = [], [], []
    tells = {"resolved": "fix_made", "deflected": "handoff_no_fix", "escalated": "escalation",
             "abandoned": "abandoned_wait"}
    centres = {label: rng.normal(size=16) for label in tells}
    for label, tell in tells.items():
        for _ in range(n_per_class if label != "abandoned" else 6):
            v = centres[label] + rng.normal(scale=1.5, size=16)
            vectors.append(v / np.linalg.norm(v))
            labels.append(label)
            fired.append([tell] if rng.random() < 0.8 else [])
    return np.stack(vectors).astype(np.float32), labels, fired


def test_held_out_contacts_are_voted_on_and_fitted_without_their_own_fold(monkeypatch):
    vectors, labels, fired = _data()
    seen_fits = []
    real_fit = outcome_eval.fit

    def spy_fit(x, y, **kw):
        seen_fits.append(list(y))
        return real_fit(x, y, **kw)

    monkeypatch.setattr(outcome_eval, "fit", spy_fit)
    trace: dict = {}
    result = cross_validate(vectors, labels, fired, n_folds=4, seed=1, k=5, trace=trace)
    folds = [np.flatnonzero(result["fold"] == f) for f in range(4)]
    assert sorted(np.concatenate(folds).tolist()) == list(range(len(labels)))
    for f, test in enumerate(folds):
        test = set(test.tolist())
        assert not test & set(trace["fitted_on"][f]), "the fusion model saw a held-out contact"
        assert set(trace["fitted_on"][f]) == set(range(len(labels))) - test
        for row in test:
            assert not test & set(trace["neighbours"][row]), "a held-out contact voted on one of its fold"
    # The model of each fold was fitted on exactly the training labels, in order.
    assert [sorted(y) for y in seen_fits] == [sorted(labels[i] for i in trace["fitted_on"][f]) for f in range(4)]
    assert np.mean([p == t for p, t in zip(result["fusion"], labels)]) > 0.7


def test_a_label_only_the_held_out_contact_has_is_never_predicted():
    # A leak canary: one contact carries a label nothing else has. If its own label reached its prediction
    # (through the vote or the fitted model), it could be predicted; from training folds only, it cannot.
    vectors, labels, fired = _data()
    vectors = np.vstack([vectors, vectors[:1]])  # its vector even duplicates a training contact's
    labels = [*labels, "unresolved"]
    fired = [*fired, fired[0]]
    for seed in range(3):
        result = cross_validate(vectors, labels, fired, n_folds=3, seed=seed, k=3)
        assert result["fusion"][-1] != "unresolved" and result["vote"][-1] != "unresolved"


def test_scores_per_class_macro_f1_over_four_and_confusion():
    y_true = ["resolved", "resolved", "deflected", "deflected", "escalated", "abandoned", "unresolved"]
    y_pred = ["resolved", "deflected", "deflected", "deflected", "escalated", "resolved", "unresolved"]
    s = scores(y_true, y_pred)
    assert s["per_class"]["deflected"] == pytest.approx(
        {"precision": 2 / 3, "recall": 1.0, "f1": 0.8, "support": 2})
    assert s["deflected_recall"] == 1.0 and s["per_class"]["abandoned"]["f1"] == 0.0
    f1 = [s["per_class"][c]["f1"] for c in ("resolved", "deflected", "escalated", "abandoned")]
    assert s["macro_f1_4"] == pytest.approx(np.mean(f1))  # unresolved is not in the macro average
    labels = s["confusion"]["labels"]
    matrix = s["confusion"]["rows_true_cols_predicted"]
    assert matrix[labels.index("abandoned")][labels.index("resolved")] == 1 and sum(map(sum, matrix)) == 7


def test_hand_checked_labels_replace_rubric_labels(tmp_path):
    exemplars = tmp_path / "ex.jsonl"
    exemplars.write_text("\n".join((FIXTURES / "exemplars_small.jsonl").read_text().splitlines()[:30]) + "\n")
    first_tweet = next(json.loads(line) for line in exemplars.read_text().splitlines()
                       if json.loads(line)["interaction"]["id"].startswith("tweetsumm"))
    other = "escalated" if first_tweet["label"] != "escalated" else "resolved"
    check = tmp_path / "check.jsonl"
    third = next(label for label in ("abandoned", "unresolved") if label not in (other, first_tweet["label"]))
    check.write_text(json.dumps({"id": first_tweet["interaction"]["id"], "checked_label": other,
                                 "rubric_label": third}) + "\n")
    rows = load_labelled(exemplars=exemplars, labels=tmp_path / "none.jsonl", contacts=tmp_path, handcheck=check)
    row = next(r for r in rows if r.interaction.id == first_tweet["interaction"]["id"])
    assert row.label == other and row.label_source == "tweetsumm-reading" and len(rows) == 30
    rubric = load_labelled(exemplars=exemplars, labels=tmp_path / "none.jsonl", contacts=tmp_path, handcheck=check,
                           rubric_only=True)
    assert next(r for r in rubric if r.interaction.id == row.interaction.id).label == third
    plain = load_labelled(exemplars=exemplars, labels=tmp_path / "none.jsonl", contacts=tmp_path, handcheck=None)
    assert next(r for r in plain if r.interaction.id == row.interaction.id).label == first_tweet["label"]
    # Two readings that differ: the adjudicated label is the reference.
    check.write_text(json.dumps({"id": first_tweet["interaction"]["id"], "checked_label": other, "rubric_label": third,
                                 "second_reading": {"label": third}, "adjudication": {"label": third}}) + "\n")
    judged = load_labelled(exemplars=exemplars, labels=tmp_path / "none.jsonl", contacts=tmp_path, handcheck=check)
    assert next(r for r in judged if r.interaction.id == row.interaction.id).label == third


def test_the_evaluate_command_prints_and_writes_the_metrics(tmp_path, capsys, monkeypatch):
    vectors, labels, fired = _data(n_per_class=10)
    monkeypatch.setattr(outcome_eval, "embed_documents", lambda texts, **kw: vectors[:len(texts)])
    exemplars = tmp_path / "ex.jsonl"
    exemplars.write_text("\n".join((FIXTURES / "exemplars_small.jsonl").read_text().splitlines()[:len(labels)]))
    code = main(["outcomes", "evaluate", "--folds", "3", "--seeds", "0", "--data-dir", str(tmp_path / "cx"),
                 "--exemplars", str(exemplars), "--labelled", str(tmp_path / "none.jsonl")])
    assert code == 0
    out = capsys.readouterr().out
    assert "macro-F1 over" in out and "deflected recall" in out and "confusion" in out
    written = json.loads((tmp_path / "cx" / "evals" / "outcomes_cv.json").read_text())
    assert set(written["fusion"]["all"]) >= {"per_class", "macro_f1_4", "deflected_recall", "confusion"}
