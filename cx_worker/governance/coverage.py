"""Synthetic nights with a known truth: how often do the audit estimates' intervals cover it?

Used by the tests and `bench/estimates.py`; nothing in a nightly run calls it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from cx_worker.governance.estimates import (
    LABELS,
    Audit,
    Seed,
    _rng,
    corrected_rates,
    draw_audit_sample,
    error_rate,
    label_precision_recall,
)

# P(predicted | true), rows = true label in LABELS order: deflected over-predicted (precision < recall).
CONFUSION = np.array([
    [0.80, 0.15, 0.02, 0.01, 0.02],   # resolved
    [0.05, 0.90, 0.01, 0.02, 0.02],   # deflected
    [0.03, 0.05, 0.85, 0.02, 0.05],   # escalated
    [0.02, 0.08, 0.02, 0.85, 0.03],   # abandoned
    [0.08, 0.10, 0.05, 0.02, 0.75],   # unresolved
])
MIX = np.array([0.45, 0.20, 0.15, 0.10, 0.10])      # mean true mix of a night
SUMMARY_ERROR = np.array([0.06, 0.04, 0.15, 0.10, 0.12])  # P(summary has an error | true label)


@dataclass(frozen=True)
class CoverageResult:
    windows: int
    coverage: float                  # corrected-rate interval covers the last night's true share
    mean_abs_error_corrected: float
    mean_abs_error_raw: float
    mean_half_width: float
    coverage_precision: float        # vs the window's realised precision of `label`
    coverage_recall: float           # vs the window's realised recall of `label`
    coverage_error_rate: float       # vs the window's realised share of summaries with an error
    not_enough: int                  # windows without a corrected estimate (excluded above)


def simulate_coverage(*, windows: int = 300, nights: int = 30, audits_per_night: int = 10,
                      night_size: tuple[int, int] = (150, 400), concentration: float = 200.0,
                      confusion: np.ndarray = CONFUSION, mix: np.ndarray = MIX, label: str = "deflected",
                      confidence: float = 0.90, predictive: bool = True, label_shift: bool = False,
                      draws: int = 2000, seed: Seed = 0) -> CoverageResult:
    """Synthetic windows with a known truth: how often do the intervals cover it?

    Each night: N ~ U(night_size); true mix ~ Dirichlet(concentration · mix) (smaller concentration = larger
    night-to-night prior shift); true labels from the mix; predicted labels from ``confusion`` =
    P(predicted | true); ``audits_per_night`` audits by ``draw_audit_sample``; summary errors by true label.
    The last night of each window is "tonight": its corrected rate of ``label`` is estimated from all the
    window's audits (tonight's included) and compared with its realised true share. Precision, recall and the
    summary error rate are compared with the window's realised values. ``predictive`` and ``label_shift`` are
    passed to ``corrected_rates``.
    """
    rng = _rng(seed)
    cum = np.cumsum(confusion, axis=1)
    hits, err_c, err_r, half, cov_p, cov_r, cov_e, short = [], [], [], [], [], [], [], 0
    c = LABELS.index(label)
    for _ in range(windows):
        audits, night_counts = [], {}
        tp = pred_c = true_c = errors = contacts = 0
        for t in range(nights):
            n = int(rng.integers(night_size[0], night_size[1] + 1))
            true = rng.choice(len(LABELS), size=n, p=rng.dirichlet(concentration * mix))
            pred = np.minimum((rng.random(n)[:, None] > cum[true]).sum(1), len(LABELS) - 1)
            err = rng.random(n) < SUMMARY_ERROR[true]
            design = draw_audit_sample({f"{t}:{i}": LABELS[p] for i, p in enumerate(pred)}, audits_per_night,
                                       seed=rng)
            night_counts[str(t)] = design.stratum_sizes
            for d in design:
                i = int(d.interaction_id.split(":")[1])
                audits.append(Audit(str(t), d.stratum, LABELS[true[i]], d.inclusion_probability,
                                    summary_errors=frozenset({"invented"}) if err[i] else frozenset()))
            tp += int(((true == c) & (pred == c)).sum())
            pred_c, true_c = pred_c + int((pred == c).sum()), true_c + int((true == c).sum())
            errors, contacts = errors + int(err.sum()), contacts + n
        truth = float((true == c).mean())
        r = corrected_rates(audits, night_counts[str(nights - 1)], confidence=confidence, predictive=predictive,
                            label_shift=label_shift, draws=draws, seed=rng).overall[label]
        q = label_precision_recall(audits, night_counts, confidence=confidence, min_n=0, draws=draws,
                                   seed=rng)[label]
        e = error_rate(audits, confidence=confidence, min_n=0)
        cov_p.append(q.precision.low <= tp / pred_c <= q.precision.high)
        cov_r.append(q.recall.low <= tp / true_c <= q.recall.high)
        cov_e.append(e.low <= errors / contacts <= e.high)
        if not r.corrected.enough:
            short += 1
            continue
        hits.append(r.corrected.low <= truth <= r.corrected.high)
        err_c.append(abs(r.corrected.value - truth))
        err_r.append(abs(r.raw - truth))
        half.append((r.corrected.high - r.corrected.low) / 2)
    m = lambda x: float(np.mean(x)) if x else math.nan  # noqa: E731
    return CoverageResult(windows, m(hits), m(err_c), m(err_r), m(half), m(cov_p), m(cov_r), m(cov_e), short)
