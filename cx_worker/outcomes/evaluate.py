"""Honest evaluation of the outcome classifier: stratified k-fold cross-validation over the labelled contacts.

`cx-worker outcomes evaluate`. The labelled contacts are the exemplars (`evals/datasets/exemplars.jsonl`) and the
sample night (`labels.jsonl` over `data/contacts/`). ABCD labels come from the agent's logged actions (never shown
to the classifier: the ACT lines are not in the turns); TweetSumm labels from careful readings of the whole dialog
(`tweetsumm_handcheck.jsonl`: two blind readings, a third where they differ; `evals/reading_guide.md`), or with
`rubric_only` from the rubric over the human summaries (`rubric_label`), which agrees with a reading less often.

For every fold the held-out contacts are classified exactly as at run time, by a classifier built from the other
folds only: their kNN vote is taken over training-fold exemplars only, and the fusion model (with its confidence
calibration) is fitted on training-fold contacts only. The signals are rules, not fitted. Nothing about a
held-out contact, its label included, reaches its own prediction. The outcome-words model is fitted per fold on
training rows only too, and the fusion's training rows get their word probabilities out-of-fold within them.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cx_worker.bundled import bundled_path
from cx_worker.ingest.datasets import reading_label
from cx_worker.ingest.source import Read, read_interactions
from cx_worker.models import OUTCOME_LABELS, Interaction
from cx_worker.outcomes.embeddings import MiniLMEmbedding
from cx_worker.outcomes.exemplars import document, read_exemplars
from cx_worker.outcomes.folds import stratified_folds
from cx_worker.outcomes.fusion import TEMPERATURE, features, fit, fit_with_words, knn, training_features, vote_shares
from cx_worker.outcomes.signals import detect
from cx_worker.redaction.redactor import redact_interaction
from cx_worker.settings import Settings

TARGET_CLASSES = ("resolved", "deflected", "escalated", "abandoned")
HANDCHECK = bundled_path("datasets", "tweetsumm_handcheck.jsonl")


@dataclass
class Labelled:
    """One labelled contact and where its label comes from."""

    interaction: Interaction
    label: str
    label_source: str  # abcd-act | tweetsumm-rubric | tweetsumm-reading | correction ...
    rubric_label: str | None = None  # a read TweetSumm contact: what the summary rubric says


def load_labelled(*, exemplars: Path, labels: Path, contacts: Path, handcheck: Path | None,
                  rubric_only: bool = False) -> list[Labelled]:
    """The exemplars and the labelled sample contacts.

    A TweetSumm contact read by hand (a row in `handcheck`) gets the readings' label (`datasets.reading_label`:
    two readers' agreed label, or the adjudicated one), or with `rubric_only` the rubric's label recorded beside it,
    whatever label the exemplar file carries.
    """
    checked: dict[str, dict] = {}
    if handcheck is not None and handcheck.exists():
        for line in handcheck.read_text().splitlines():
            if line.strip():
                row = json.loads(line)
                checked[row["id"]] = row
    out = [Labelled(ex.interaction, ex.label, ex.source) for ex in read_exemplars(exemplars)]
    if labels.exists():
        wanted = {}
        for line in labels.read_text().splitlines():
            if line.strip():
                row = json.loads(line)
                wanted[row["id"]] = (row["label"], row.get("source", "reference"))
        for item in read_interactions(contacts):
            if isinstance(item, Read) and item.interaction.id in wanted:
                label, source = wanted.pop(item.interaction.id)
                out.append(Labelled(item.interaction, label, source))
    seen: set[str] = set()
    unique = []
    for row in out:
        if row.interaction.id in seen:
            continue
        seen.add(row.interaction.id)
        read = checked.get(row.interaction.id)
        if read is not None:
            row.rubric_label = read.get("rubric_label")
            row.label, row.label_source = ((row.rubric_label, "tweetsumm-rubric") if rubric_only
                                           else (reading_label(read)[0], "tweetsumm-reading"))
        unique.append(row)
    return unique


def embed_documents(texts: Sequence[str], *, cache: Path | None = None, embed=None) -> np.ndarray:
    """Unit vectors of the texts (MiniLM, as the vector store embeds them), cached by text hash in `cache`."""
    keys = [hashlib.sha256(t.encode()).hexdigest() for t in texts]
    known: dict[str, np.ndarray] = {}
    if cache is not None and cache.exists():
        with np.load(cache) as data:
            known = dict(zip(data["keys"].tolist(), data["vectors"]))
    missing = [i for i, key in enumerate(keys) if key not in known]
    if missing:
        if embed is None:
            embed = MiniLMEmbedding()
        for i, vector in zip(missing, embed([texts[i] for i in missing])):
            known[keys[i]] = np.asarray(vector, dtype=np.float32)
        if cache is not None:
            cache.parent.mkdir(parents=True, exist_ok=True)
            np.savez(cache, keys=np.array(list(known)), vectors=np.stack(list(known.values())))
    return np.stack([known[key] for key in keys]).astype(np.float32)


def cross_validate(
    vectors: np.ndarray, labels: Sequence[str], fired: Sequence[Sequence[str]], *, n_folds: int = 5, seed: int = 0,
    k: int = 7, temperature: float = TEMPERATURE, fit_options: dict | None = None, trace: dict | None = None,
    documents: Sequence[str] | None = None,
) -> dict:
    """Out-of-fold predictions of the fused classifier and of the plain vote.

    Args:
        vectors: Document vectors of the labelled contacts (unit norm).
        labels: Their labels.
        fired: Their fired signal names.
        n_folds: Folds, stratified by label.
        seed: Fold assignment.
        k: Neighbours in the vote.
        temperature: Vote sharpness.
        fit_options: Passed to `fusion.fit` (l2, class_weight_power).
        documents: The contacts' documents: with them the outcome-words model is fitted per fold (on training
            rows only) and used, as at run time; without, the word features stay 0.
        trace: If given, filled with what each fold used: "neighbours" (held-out row -> training rows that
            voted) and "fitted_on" (fold -> training rows the model saw). Tests check it for leaks.

    Returns:
        {"fusion": labels, "vote": labels, "confidence": calibrated confidences, "fold": fold per row}.
    """
    labels = list(labels)
    n = len(labels)
    fusion_pred, vote_pred = [""] * n, [""] * n
    confidence, fold_of = np.zeros(n), np.zeros(n, dtype=int)
    for f, test in enumerate(stratified_folds(labels, n_folds, seed=seed)):
        train = np.setdiff1d(np.arange(n), test)
        train_labels = [labels[i] for i in train]
        if documents is None:
            x_train = training_features(vectors[train], train_labels, [fired[i] for i in train], k=k,
                                        temperature=temperature)
            model = fit(x_train, train_labels, **(fit_options or {}))
        else:
            model = fit_with_words(vectors[train], train_labels, [fired[i] for i in train],
                                   [documents[i] for i in train], k=k, temperature=temperature, seed=seed,
                                   **(fit_options or {}))
        words = model.word_model
        nearest = knn(vectors[test], vectors[train], train_labels, k=k)
        x_test = []
        for row, near in zip(test, nearest):
            shares = vote_shares(near, temperature=temperature)
            vote_pred[row] = max(shares, key=lambda lab: (shares[lab], lab))
            x_test.append(features(shares, near[0][2], fired[row],
                                   words.shares(documents[row]) if words is not None else None))
            if trace is not None:
                trace.setdefault("neighbours", {})[int(row)] = [int(train[int(i)]) for i, _, _ in near]
        predicted, conf, _ = model.predict(np.stack(x_test))
        for row, label, c in zip(test, predicted, conf):
            fusion_pred[row], confidence[row], fold_of[row] = label, c, f
        if trace is not None:
            trace.setdefault("fitted_on", {})[f] = [int(i) for i in train]
    return {"fusion": fusion_pred, "vote": vote_pred, "confidence": confidence, "fold": fold_of}


def scores(y_true: Sequence[str], y_pred: Sequence[str]) -> dict:
    """Per-class precision/recall/F1, macro-F1 over the four target classes, deflected recall, confusion matrix."""
    classes = [c for c in OUTCOME_LABELS if c in set(y_true) | set(y_pred)]
    per_class = {}
    for c in classes:
        tp = sum(t == c and p == c for t, p in zip(y_true, y_pred))
        fp = sum(t != c and p == c for t, p in zip(y_true, y_pred))
        fn = sum(t == c and p != c for t, p in zip(y_true, y_pred))
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_class[c] = {"precision": precision, "recall": recall, "f1": f1, "support": tp + fn}
    present = [c for c in TARGET_CLASSES if per_class.get(c, {}).get("support")]
    counts = Counter(zip(y_true, y_pred))
    return {
        "n": len(y_true),
        "accuracy": sum(t == p for t, p in zip(y_true, y_pred)) / len(y_true) if y_true else 0.0,
        "per_class": per_class,
        "macro_f1_4": float(np.mean([per_class[c]["f1"] for c in present])) if present else 0.0,
        "macro_f1_classes": present,
        "deflected_recall": per_class.get("deflected", {}).get("recall", 0.0),
        "confusion": {"labels": classes, "rows_true_cols_predicted": [[counts[(t, p)] for p in classes]
                                                                     for t in classes]},
    }


def calibration(confidence: np.ndarray, right: np.ndarray, *, bins: int = 10) -> dict:
    """Expected calibration error and Brier score of confidences against correctness."""
    edges = np.linspace(0, 1, bins + 1)
    which = np.clip(np.digitize(confidence, edges) - 1, 0, bins - 1)
    ece = sum(abs(confidence[which == b].mean() - right[which == b].mean()) * (which == b).mean()
              for b in range(bins) if (which == b).any())
    return {"ece": float(ece), "brier": float(np.mean((confidence - right) ** 2)),
            "mean_confidence": float(confidence.mean()), "accuracy": float(right.mean())}


def evaluate_outcomes(settings: Settings, *, folds: int = 5, seeds: Sequence[int] = (0, 1, 2),
                      rubric_only: bool = False, contacts: Path | None = None) -> dict:
    """Cross-validate the outcome classifier on the labelled data; returns the metrics (see module doc)."""
    rows = load_labelled(exemplars=settings.exemplars, labels=settings.labelled,
                         contacts=contacts or bundled_path("contacts"), handcheck=HANDCHECK,
                         rubric_only=rubric_only)
    redacted = [redact_interaction(r.interaction)[0] for r in rows]
    documents = [document(r) for r in redacted]
    vectors = embed_documents(documents, cache=settings.data_dir / "cache" / "eval_vectors.npz")
    fired = [list(detect(r)) for r in redacted]
    labels = [r.label for r in rows]
    runs = [cross_validate(vectors, labels, fired, n_folds=folds, seed=s, k=settings.knn_k, documents=documents)
            for s in seeds]
    first = runs[0]
    right = np.array([p == t for p, t in zip(first["fusion"], labels)], dtype=float)
    groups = {"all": list(range(len(rows)))}
    for name in ("abcd", "tweetsumm"):
        groups[name] = [i for i, r in enumerate(rows) if r.interaction.id.startswith(name)]
    # TweetSumm contacts labelled by a reading (the rubric agrees with it on `rubric_agreement` of these).
    groups["tweetsumm_read"] = [i for i, r in enumerate(rows) if r.label_source == "tweetsumm-reading"]
    per_seed = [scores(labels, r["fusion"]) for r in runs]
    review = first["confidence"] < settings.review_confidence
    return {
        "method": f"stratified {folds}-fold cross-validation, seeds {list(seeds)}; vote over training folds only, "
                  "fusion model, calibration and outcome-words model fitted on training folds only",
        "k": settings.knn_k,
        "labels": {"counts": dict(Counter(labels)), "by_source": dict(Counter(r.label_source for r in rows)),
                   "tweetsumm_labels": "rubric" if rubric_only else "reading where there is one"},
        "fusion": {name: scores([labels[i] for i in idx], [first["fusion"][i] for i in idx])
                   for name, idx in groups.items()},
        "vote_only": {name: scores([labels[i] for i in idx], [first["vote"][i] for i in idx])
                      for name, idx in groups.items()},
        "seeds": [{"seed": s, "macro_f1_4": sc["macro_f1_4"], "deflected_recall": sc["deflected_recall"]}
                  for s, sc in zip(seeds, per_seed)],
        "mean_over_seeds": {"macro_f1_4": float(np.mean([sc["macro_f1_4"] for sc in per_seed])),
                            "deflected_recall": float(np.mean([sc["deflected_recall"] for sc in per_seed]))},
        "rubric_agreement_on_read": None if rubric_only else _rubric_agreement(rows),
        "calibration": calibration(first["confidence"], right),
        "review": {"threshold": settings.review_confidence, "share_flagged": float(review.mean()),
                   "accuracy_not_flagged": float(right[~review].mean()) if (~review).any() else None},
    }


def _rubric_agreement(rows: list[Labelled]) -> float | None:
    """How often the TweetSumm rubric label agrees with the reading on the contacts labelled by one."""
    checked = [r for r in rows if r.label_source == "tweetsumm-reading" and r.rubric_label is not None]
    return sum(r.rubric_label == r.label for r in checked) / len(checked) if checked else None


def format_result(result: dict) -> str:
    """The evaluation as plain text: per-class table and confusion matrix per group."""
    lines = [result["method"], f"labels: {result['labels']['counts']} from {result['labels']['by_source']}",
             "per-class tables and confusion matrices: first seed"]
    for which in ("fusion", "vote_only"):
        for group, s in result[which].items():
            lines.append(f"\n== {which} / {group} (n={s['n']}, accuracy {s['accuracy']:.3f}) ==")
            lines.append(f"{'class':12}{'precision':>10}{'recall':>8}{'f1':>8}{'support':>9}")
            for c, m in s["per_class"].items():
                lines.append(f"{c:12}{m['precision']:10.3f}{m['recall']:8.3f}{m['f1']:8.3f}{m['support']:9d}")
            lines.append(f"macro-F1 over {'/'.join(s['macro_f1_classes'])}: {s['macro_f1_4']:.3f}   "
                         f"deflected recall: {s['deflected_recall']:.3f}")
            labels = s["confusion"]["labels"]
            lines.append("confusion (rows true, columns predicted): " + " ".join(f"{c[:5]:>6}" for c in labels))
            for c, row in zip(labels, s["confusion"]["rows_true_cols_predicted"]):
                lines.append(f"  {c:12}" + " ".join(f"{v:6d}" for v in row))
    lines.append("\nper seed: " + "; ".join(f"{r['seed']}: macro-F1 {r['macro_f1_4']:.3f}, deflected recall "
                                           f"{r['deflected_recall']:.3f}" for r in result["seeds"]))
    mean = result["mean_over_seeds"]
    lines.append(f"MEAN over seeds: macro-F1 (4 classes) {mean['macro_f1_4']:.3f}, deflected recall "
                 f"{mean['deflected_recall']:.3f}   (targets: >= 0.85, >= 0.90)")
    if result.get("rubric_agreement_on_read") is not None:
        hand = result["fusion"]["tweetsumm_read"]["accuracy"]
        lines.append(f"TweetSumm contacts labelled by a reading: the classifier agrees with the reading on {hand:.3f}, "
                     f"the summary rubric on {result['rubric_agreement_on_read']:.3f}")
    cal = result["calibration"]
    lines.append(f"confidence: ECE {cal['ece']:.3f}, Brier {cal['brier']:.3f}, mean {cal['mean_confidence']:.3f} "
                 f"vs accuracy {cal['accuracy']:.3f}")
    rv = result["review"]
    lines.append(f"review (confidence < {rv['threshold']}): {rv['share_flagged']:.1%} flagged; accuracy of the "
                 f"rest {rv['accuracy_not_flagged']:.3f}" if rv["accuracy_not_flagged"] is not None else "")
    return "\n".join(lines)
