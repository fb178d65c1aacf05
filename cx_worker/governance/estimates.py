"""How far to trust tonight's figures: audit sampling and audit-based estimates for cx-worker.

Pure functions, no I/O; everything random takes a ``seed`` (an int or a ``numpy.random.Generator``).

* ``draw_audit_sample``: the nightly audit sample, stratified by predicted label (sqrt allocation).
* ``label_precision_recall``, ``corrected_rates``, ``error_rate``, ``judge_agreement``: estimates from the
  audits of a window of nights, each an ``Estimate`` (value, interval, n, and "not enough audits" below min_n).
``coverage.simulate_coverage`` checks on synthetic nights with a known truth that the intervals cover what they
claim. Why these estimators, and how they were checked: docs in ``evals/estimates.md``.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from statistics import NormalDist

import numpy as np

LABELS = ("resolved", "deflected", "escalated", "abandoned", "unresolved")
ERROR_TYPES = frozenset({"invented", "misattributed", "omission", "disposition", "language", "tone", "pii"})
# What each automated judge is meant to catch: a human-found error of one of these types is a "positive".
JUDGE_TARGETS: dict[str, frozenset[str]] = {
    "faithfulness": frozenset({"invented", "misattributed"}),
    "groundedness": frozenset({"invented", "misattributed"}),
    "attribution": frozenset({"misattributed"}),
    "pii": frozenset({"pii"}),
    "tone": frozenset({"tone", "language"}),
}
MIN_N = 30               # default audits needed before a number is shown
MIN_SEGMENT_AUDITS = 5  # k: audits of a stratum within a segment before that segment's own row is used
JEFFREYS = 0.5           # Dirichlet prior per cell of a P(true | predicted) row
Seed = int | np.random.Generator


def _rng(seed: Seed | None) -> np.random.Generator:
    return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)


# ---------------------------------------------------------------- sample design

@dataclass(frozen=True)
class AuditDraw:
    interaction_id: str
    stratum: str                  # the predicted label
    inclusion_probability: float  # n_h / N_h


@dataclass(frozen=True)
class SampleDesign:
    """One night's audit sample; iterating it yields the draws."""
    draws: list[AuditDraw]
    stratum_sizes: dict[str, int]  # N_h: the night's contacts per predicted label
    allocation: dict[str, int]     # n_h

    def __iter__(self):
        return iter(self.draws)

    def __len__(self) -> int:
        return len(self.draws)


def allocate(stratum_sizes: Mapping[str, int], size: int) -> dict[str, int]:
    """Audits per stratum: one per non-empty stratum, the rest proportional to sqrt(N_h).

    The rest is handed out one audit at a time by the Sainte-Laguë rule (next audit to the stratum with the
    largest sqrt(N_h) / (n_h + 0.5)), never beyond N_h. If ``size`` is below the number of non-empty strata,
    the largest strata get the one audit each (ties by name). ``size >= sum(N_h)`` takes everyone.
    """
    sizes = {h: int(n) for h, n in stratum_sizes.items() if n > 0}
    if size >= sum(sizes.values()):
        return dict(sizes)
    order = sorted(sizes, key=lambda h: (-sizes[h], h))
    alloc = dict.fromkeys(order, 0)
    for h in order[:max(size, 0)]:
        alloc[h] = 1
    for _ in range(size - sum(alloc.values())):
        h = max((h for h in order if alloc[h] < sizes[h]), key=lambda h: math.sqrt(sizes[h]) / (alloc[h] + 0.5))
        alloc[h] += 1
    return alloc


def draw_audit_sample(predicted: Mapping[str, str], size: int, *, seed: Seed) -> SampleDesign:
    """Draw tonight's audit sample, stratified by predicted label.

    Args:
        predicted: contact id -> predicted label, for all of tonight's contacts.
        size: audits wanted tonight (0 gives none; at least the night's size gives everyone, probability 1).
        seed: int or Generator; the same seed and input give the same sample whatever the mapping's order.

    Returns:
        A ``SampleDesign``: the draws (simple random sample without replacement within each stratum, each
        with inclusion probability n_h / N_h), the stratum sizes N_h and the allocation n_h (see ``allocate``).
    """
    rng = _rng(seed)
    strata: dict[str, list[str]] = defaultdict(list)
    for cid, label in predicted.items():
        strata[label].append(cid)
    sizes = {h: len(strata[h]) for h in sorted(strata)}
    alloc = allocate(sizes, size)
    draws = []
    for h, ids in sorted(strata.items()):
        n = alloc.get(h, 0)
        if n:
            ids = sorted(ids)
            draws += [AuditDraw(ids[i], h, n / len(ids)) for i in sorted(rng.choice(len(ids), n, replace=False))]
    return SampleDesign(draws, sizes, {h: alloc.get(h, 0) for h in sizes})


# ---------------------------------------------------------------- audits and results

@dataclass(frozen=True)
class Audit:
    """One audited contact: what the classifier said, what the person found, what the judges flagged."""
    night: str
    predicted: str
    true: str
    inclusion_probability: float
    segment: str | None = None
    summary_errors: frozenset[str] = frozenset()
    judges: Mapping[str, bool | None] = field(default_factory=dict)

    def __post_init__(self):
        if not 0 < self.inclusion_probability <= 1:
            raise ValueError(f"inclusion_probability must be in (0, 1], got {self.inclusion_probability}")
        if unknown := set(self.summary_errors) - ERROR_TYPES:
            raise ValueError(f"unknown summary error types: {sorted(unknown)}")


@dataclass(frozen=True)
class Estimate:
    """A rate with its interval; value/low/high are None when there are fewer than n_required audits."""
    value: float | None
    low: float | None
    high: float | None
    n: int                   # audits used
    n_required: int
    confidence: float
    n_eff: float | None = None  # effective sample size behind the interval, where one applies
    note: str = ""

    @property
    def enough(self) -> bool:
        return self.n >= self.n_required

    def text(self, digits: int = 3) -> str:
        """'0.183 (90% 0.121–0.262, n=240)', or 'not enough audits (n of m)' below n_required."""
        if not self.enough:
            return f"not enough audits ({self.n} of {self.n_required})"
        return (f"{self.value:.{digits}f} ({self.confidence * 100:g}% {self.low:.{digits}f}–"
                f"{self.high:.{digits}f}, n={self.n})")


def _estimate(value, low, high, n, n_required, confidence, n_eff=None, note="") -> Estimate:
    if n < n_required:
        return Estimate(None, None, None, n, n_required, confidence, n_eff, note)
    return Estimate(float(value), float(low), float(high), n, n_required, confidence, n_eff, note)


def wilson_interval(successes: float, n: float, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a proportion; ``successes`` and ``n`` may be effective (non-integer)."""
    if n <= 0:
        return 0.0, 1.0
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)


def _weighted_share(flags: np.ndarray, w: np.ndarray, confidence: float, n_required: int, note="") -> Estimate:
    """Weighted share with a Wilson interval on the Kish effective n = (Σw)² / Σw²."""
    if len(w) == 0:
        return _estimate(math.nan, 0.0, 1.0, 0, n_required, confidence, 0.0, note)
    p = float(w[flags].sum() / w.sum())
    n_eff = float(w.sum() ** 2 / (w ** 2).sum())
    return _estimate(p, *wilson_interval(p * n_eff, n_eff, confidence), len(w), n_required, confidence, n_eff, note)


def _weights(audits: list[Audit], night_counts: Mapping[str, Mapping[str, int]] | None) -> np.ndarray:
    """1/π per audit; with night_counts, N_{night,h} / (audits done in night, h) (allows unfinished audits)."""
    if night_counts is None:
        return np.array([1.0 / a.inclusion_probability for a in audits])
    done = Counter((a.night, a.predicted) for a in audits)
    w = []
    for a in audits:
        big_n = night_counts.get(a.night, {}).get(a.predicted, 0)
        if big_n < done[a.night, a.predicted]:
            raise ValueError(f"night_counts[{a.night!r}][{a.predicted!r}]={big_n} is below its audits")
        w.append(big_n / done[a.night, a.predicted])
    return np.array(w, dtype=float)


def _labels(*groups: Iterable[str]) -> list[str]:
    seen = {x for g in groups for x in g}
    return list(LABELS) + sorted(seen - set(LABELS))


def _row(true_idx: np.ndarray, w: np.ndarray, k: int) -> tuple[np.ndarray, float]:
    """Weighted P(true | this stratum) and its effective n; no audits gives the prior mean and n_eff 0."""
    if len(w) == 0:
        return np.full(k, 1.0 / k), 0.0
    return np.bincount(true_idx, weights=w, minlength=k) / w.sum(), float(w.sum() ** 2 / (w ** 2).sum())


def _quantiles(x: np.ndarray, confidence: float) -> tuple[float, float]:
    if not np.isfinite(x).any():  # nothing to draw from (no audits): no interval
        return math.nan, math.nan
    lo, hi = np.nanquantile(x, [(1 - confidence) / 2, (1 + confidence) / 2])
    return float(lo), float(hi)


# ---------------------------------------------------------------- classifier precision and recall

@dataclass(frozen=True)
class LabelQuality:
    label: str
    precision: Estimate  # P(true = label | predicted = label)
    recall: Estimate     # P(predicted = label | true = label)


def label_precision_recall(audits: Iterable[Audit], night_counts: Mapping[str, Mapping[str, int]], *,
                           confidence: float = 0.95, min_n: int = MIN_N, draws: int = 4000,
                           seed: Seed = 0) -> dict[str, LabelQuality]:
    """Per label, the classifier's precision and recall over the window's contacts.

    Precision is the weighted share of true = c among stratum c's audits, Wilson interval on the Kish effective
    n (n = audits predicted c). Recall = N_c θ_cc / Σ_h N_h θ_hc, where θ_h = P(true | predicted h) and N_h the
    window's stratum sizes (summed over the nights the audits came from); its interval comes from Jeffreys
    Dirichlet posteriors of the rows (``draws`` Monte Carlo draws), and its point is the draws' median (always
    inside that interval); n = audits whose true label is c.

    Args:
        audits: the window's audits.
        night_counts: night -> predicted label -> contacts that night (``SampleDesign.stratum_sizes``).
        confidence: interval level.
        min_n: audits needed before a number is given.
        draws: Monte Carlo draws for recall.
        seed: seed for the draws.
    """
    audits = list(audits)
    nights = {a.night for a in audits}
    labels = _labels((a.true for a in audits), (a.predicted for a in audits),
                     *(night_counts[t] for t in nights if t in night_counts))
    k, at = len(labels), {c: i for i, c in enumerate(labels)}
    w = _weights(audits, night_counts)
    t_idx = np.array([at[a.true] for a in audits], dtype=int)
    p_idx = np.array([at[a.predicted] for a in audits], dtype=int)
    big_n = np.zeros(k)
    for t in nights:
        for h, c in night_counts[t].items():
            big_n[at[h]] += c
    rows = [_row(t_idx[p_idx == h], w[p_idx == h], k) for h in range(k)]
    unaudited = [labels[h] for h in range(k) if big_n[h] > 0 and rows[h][1] == 0]
    note = f"no audits of predicted {', '.join(unaudited)}: prior row used" if unaudited else ""
    rng = _rng(seed)
    theta = np.stack([rng.dirichlet(JEFFREYS + n_eff * p, size=draws) for p, n_eff in rows], axis=1)
    true_totals = np.einsum("h,shc->sc", big_n, theta)
    out = {}
    with np.errstate(divide="ignore", invalid="ignore"):
        for c, i in at.items():
            sel = p_idx == i
            precision = _weighted_share(t_idx[sel] == i, w[sel], confidence, min_n)
            rec = big_n[i] * theta[:, i, i] / true_totals[:, i]
            # The posterior median, not the plug-in ratio: with few audits of a rare stratum the plug-in (its
            # empirical row) can sit outside the interval the Jeffreys draws give; the median never does.
            point = float(np.nanmedian(rec)) if np.isfinite(rec).any() else math.nan
            recall = _estimate(point, *_quantiles(rec, confidence), int((t_idx == i).sum()), min_n, confidence,
                               note=note)
            out[c] = LabelQuality(c, precision, recall)
    return out


# ---------------------------------------------------------------- corrected rates

@dataclass(frozen=True)
class RateEstimate:
    label: str
    raw: float           # tonight's predicted share
    corrected: Estimate  # tonight's estimated true share


@dataclass(frozen=True)
class CorrectedRates:
    overall: dict[str, RateEstimate]
    by_segment: dict[str, dict[str, RateEstimate]]
    segment_rows: dict[str, tuple[str, ...]]  # segment -> strata for which its own P(true | predicted) row was used


def corrected_rates(audits: Iterable[Audit], tonight_counts: Mapping[str, int], *,
                    night_counts: Mapping[str, Mapping[str, int]] | None = None,
                    segments: Mapping[str, Mapping[str, int]] | None = None, confidence: float = 0.90,
                    min_n: int = MIN_N, min_segment_audits: int = MIN_SEGMENT_AUDITS, predictive: bool = True,
                    label_shift: bool = False, draws: int = 4000, seed: Seed = 0) -> CorrectedRates:
    """Tonight's share of each true label, corrected for the classifier's audited confusion.

    corrected(c) = Σ_h share_tonight(h) · P̂(true = c | predicted = h), the rows estimated from the window's
    audits of stratum h weighted by 1/π. Interval: each row drawn from a Dirichlet(0.5 + n_eff · p̂) posterior;
    with ``predictive`` (default) tonight's N_h contacts' true labels are then drawn Multinomial(N_h, row), so
    the interval is for tonight's realised share (what the coverage test checks), not only its expectation.
    A stratum with tonight's contacts but no audits in the window gets the prior row (noted in ``note``).

    With ``label_shift`` the assumption changes from "P(true | predicted) of the window holds tonight" to
    "P(predicted | true) of the window holds tonight, the true mix may move" (see ``_label_shift_draws``): more
    robust when the night's mix moves, wider when it doesn't. Pooled only (no ``segments``); the value is then
    the posterior mean.

    Args:
        audits: the window's audits.
        tonight_counts: predicted label -> tonight's contacts (all segments together); gives the raw rates.
        night_counts: if given, weights are N_{night,h} / audits done (else 1/inclusion_probability).
        segments: segment -> predicted label -> tonight's contacts, for per-segment figures. A segment uses its
            own row for stratum h only if it has >= ``min_segment_audits`` audits there, else the pooled row.
            Contacts of tonight_counts not in any segment use pooled rows.
        confidence: interval level.
        min_n: audits (behind the rows used) needed before a number is given.
        min_segment_audits: k above.
        predictive: include tonight's own sampling noise (see above).
        label_shift: use the label-shift model above instead of the window's rows as they are.
        draws: Monte Carlo draws.
        seed: seed for the draws.
    """
    audits = list(audits)
    segments = dict(segments or {})
    if label_shift and segments:
        raise ValueError("label_shift works on the pooled night only (segments=None)")
    labels = _labels(tonight_counts, (a.true for a in audits), (a.predicted for a in audits),
                     *segments.values())
    k, at = len(labels), {c: i for i, c in enumerate(labels)}
    w = _weights(audits, night_counts)
    t_idx = np.array([at[a.true] for a in audits], dtype=int)
    p_idx = np.array([at[a.predicted] for a in audits], dtype=int)
    seg = np.array([a.segment for a in audits], dtype=object)
    cells: list[tuple[str | None, int, int]] = []  # (segment or None, stratum, tonight's contacts)
    for h, c in tonight_counts.items():
        rest = c - sum(s.get(h, 0) for s in segments.values())
        if rest < 0:
            raise ValueError(f"segments hold more {h!r} contacts than tonight_counts")
        cells.append((None, at[h], rest))
    cells += [(s, at[h], c) for s, counts in segments.items() for h, c in counts.items()]
    cells = [cell for cell in cells if cell[2] > 0]
    if not cells:
        raise ValueError("tonight_counts has no contacts")

    rng = _rng(seed)
    rows: dict[tuple[str | None, int], tuple[np.ndarray, np.ndarray, np.ndarray]] = {}  # key -> (p, draws, idx)

    def row(s: str | None, h: int) -> tuple[str | None, int]:
        own = np.flatnonzero((p_idx == h) & (seg == s)) if s is not None else np.array([], int)
        key = (s, h) if len(own) >= max(min_segment_audits, 1) else (None, h)
        if key not in rows:
            idx = own if key[0] is not None else np.flatnonzero(p_idx == h)
            p, n_eff = _row(t_idx[idx], w[idx], k)
            rows[key] = (p, rng.dirichlet(JEFFREYS + n_eff * p, size=draws), idx)
        return key

    keys = [row(s, h) for s, h, _ in cells]
    sim = [] if label_shift else [rng.multinomial(c, rows[key][1]) if predictive else c * rows[key][1]
                                  for (_, _, c), key in zip(cells, keys)]
    plug = [c * rows[key][0] for (_, _, c), key in zip(cells, keys)]

    def summarise(members: list[int], counts: Mapping[str, int], shifted: bool = False) -> dict[str, RateEstimate]:
        total = sum(cells[i][2] for i in members)
        used = {int(j) for i in members for j in rows[keys[i]][2]}
        empty = sorted({labels[cells[i][1]] for i in members if len(rows[keys[i]][2]) == 0})
        note = f"no audits of predicted {', '.join(empty)} in window: prior row used" if empty else ""
        if shifted:
            theta = np.stack([rows[row(None, h)][1] for h in range(k)], axis=1)
            s_w = np.array([w[p_idx == h].sum() for h in range(k)])
            tonight = np.zeros(k, dtype=int)
            for i in members:
                tonight[cells[i][1]] += cells[i][2]
            x = _label_shift_draws(theta, s_w, tonight, rng, predictive)
            value, used = x.mean(0), set(range(len(audits)))
        else:
            x = sum(sim[i] for i in members) / total
            value = sum(plug[i] for i in members) / total
        raw_total = sum(counts.values())
        return {c: RateEstimate(c, counts.get(c, 0) / raw_total,
                                _estimate(value[i], *_quantiles(x[:, i], confidence), len(used), min_n,
                                          confidence, note=note)) for c, i in at.items()}

    overall = summarise(list(range(len(cells))), tonight_counts, label_shift)
    by_segment = {s: summarise([i for i, cell in enumerate(cells) if cell[0] == s], segments[s])
                  for s in segments if any(cell[0] == s for cell in cells)}
    seg_rows = {s: tuple(labels[h] for (r, h) in rows if r == s) for s in segments}
    return CorrectedRates(overall, by_segment, seg_rows)


def _label_shift_draws(theta: np.ndarray, s_w: np.ndarray, tonight: np.ndarray, rng: np.random.Generator,
                       predictive: bool, iters: int = 30) -> np.ndarray:
    """Draws of tonight's true shares when P(predicted | true) is what carries over from the window.

    For each row draw θ (S, h, c) the window's confusion is P(h | c) ∝ θ_hc s_w(h) / π_w(c), where
    π_w = Σ_h s_w(h) θ_h is the window's true mix and s_w its predicted shares.
    Tonight's true mix m is unknown (Jeffreys Dirichlet prior); given m, a contact predicted h is true c with
    probability ∝ θ_hc m_c / π_w(c). A data-augmentation Gibbs sampler (one chain per row draw, started at the
    rows-as-they-are estimate, ``iters`` sweeps) alternates X_h ~ Multinomial(N_h, that row) and
    m ~ Dirichlet(0.5 + Σ_h X_h). Returns Σ_h X_h / N (predictive) or m.
    """
    pi_w = np.einsum("h,shc->sc", s_w / s_w.sum(), theta)
    mix = np.einsum("h,shc->sc", tonight / tonight.sum(), theta)
    for _ in range(iters):
        post = theta * (mix / np.maximum(pi_w, 1e-300))[:, None, :]
        post /= post.sum(-1, keepdims=True)
        x = sum(rng.multinomial(n, post[:, h, :]) for h, n in enumerate(tonight) if n > 0)
        mix = rng.standard_gamma(JEFFREYS + x)
        mix /= mix.sum(-1, keepdims=True)
    return x / tonight.sum() if predictive else mix


# ---------------------------------------------------------------- summaries and judges

def error_rate(audits: Iterable[Audit], *, error_type: str | None = None,
               night_counts: Mapping[str, Mapping[str, int]] | None = None, confidence: float = 0.90,
               min_n: int = MIN_N) -> Estimate:
    """Share of summaries with any error (or with ``error_type``), weighted by 1/π, Wilson on the Kish n_eff."""
    if error_type is not None and error_type not in ERROR_TYPES:
        raise ValueError(f"unknown error type {error_type!r}")
    audits = list(audits)
    flags = np.array([bool(a.summary_errors) if error_type is None else error_type in a.summary_errors
                      for a in audits], dtype=bool)
    return _weighted_share(flags, _weights(audits, night_counts), confidence, min_n)


@dataclass(frozen=True)
class JudgeAgreement:
    judge: str
    tpr: Estimate    # P(judge flags | person found a target error)
    fpr: Estimate    # P(judge flags | person found none)
    kappa: Estimate  # Cohen's kappa between judge and person
    tp: int
    fn: int
    fp: int
    tn: int


def _kappa(w: np.ndarray, human: np.ndarray, judge: np.ndarray) -> np.ndarray:
    """Weighted Cohen's kappa along the last axis (w, human, judge broadcast together)."""
    total = w.sum(-1)
    p_o = (w * (human == judge)).sum(-1) / total
    ph, pj = (w * human).sum(-1) / total, (w * judge).sum(-1) / total
    p_e = ph * pj + (1 - ph) * (1 - pj)
    with np.errstate(divide="ignore", invalid="ignore"):
        return (p_o - p_e) / (1 - p_e)


def judge_agreement(audits: Iterable[Audit], judge: str, *, positive_errors: Iterable[str] | None = None,
                    weighted: bool = True, night_counts: Mapping[str, Mapping[str, int]] | None = None,
                    confidence: float = 0.95, min_n: int = MIN_N, boot: int = 2000,
                    seed: Seed = 0) -> JudgeAgreement:
    """Agreement of an automated judge with the people, over the audits where the judge ran.

    Args:
        audits: the window's audits.
        judge: judge name, a key of ``Audit.judges``.
        positive_errors: error types that make a human "positive"; default ``JUDGE_TARGETS[judge]``.
        weighted: weight audits by 1/π (population figures) rather than count them.
        night_counts: as in ``corrected_rates``.
        confidence: interval level.
        min_n: needed per denominator: human positives for TPR, negatives for FPR, all audits for kappa.
        boot: bootstrap resamples for kappa's percentile interval.
        seed: seed for the bootstrap.

    Returns:
        TPR and FPR (weighted shares, Wilson on the Kish n_eff), kappa (bootstrap), and the unweighted 2x2 counts.
    """
    if positive_errors is None and judge not in JUDGE_TARGETS:
        raise ValueError(f"say which errors judge {judge!r} should catch (positive_errors)")
    targets = frozenset(JUDGE_TARGETS[judge] if positive_errors is None else positive_errors)
    used = [a for a in audits if a.judges.get(judge) is not None]
    human = np.array([bool(a.summary_errors & targets) for a in used], dtype=bool)
    flag = np.array([bool(a.judges[judge]) for a in used], dtype=bool)
    w = _weights(used, night_counts) if weighted else np.ones(len(used))
    tpr = _weighted_share(flag[human], w[human], confidence, min_n)
    fpr = _weighted_share(flag[~human], w[~human], confidence, min_n)
    n = len(used)
    if n:
        idx = _rng(seed).integers(0, n, size=(boot, n))
        kappa = _estimate(_kappa(w, human, flag), *_quantiles(_kappa(w[idx], human[idx], flag[idx]), confidence),
                          n, min_n, confidence)
    else:
        kappa = _estimate(math.nan, math.nan, math.nan, 0, min_n, confidence)
    return JudgeAgreement(judge, tpr, fpr, kappa, int((human & flag).sum()), int((human & ~flag).sum()),
                          int((~human & flag).sum()), int((~human & ~flag).sum()))
