"""Audit-based corrected rates on REAL held-out contacts: do the 90% intervals cover tonight's true rate?

Run from the repository root: ``.venv/bin/python -m bench.audit_nights [--windows 600] [--seed 0]``.

What is held out. The pool is the 981 labelled contacts (ABCD chats, TweetSumm tweets) that
`cx-worker outcomes evaluate` cross-validates. Every contact gets the fused classifier's *out-of-fold* prediction
(`cross_validate`, 5 folds, seed 0, built exactly as `evaluate_outcomes` builds it): the kNN vote, the
outcome-words model and the fusion that predict a contact were fitted on the other folds only. So a night made of
pool contacts is a night of contacts the classifier never saw, with the reference label as the truth.

Nights. A window is 30 nights of N ~ U(150, 400) contacts drawn with replacement from the pool. The source mix
moves: the ABCD share of a night is Beta(12·m, 12·(1 − m)) (sd ≈ 0.14 at m = 0.5). ABCD contacts deflect 14% of
the time and TweetSumm ones 39%, and the classifier errs differently on each (it over-predicts deflection on
TweetSumm). Three regimes, one window in three each:
- ``stable``: m = 0.5 every night (the mix still varies night to night);
- ``drift``: m moves linearly over the 30 nights from 0.5 − d to 0.5 + d, |d| ~ U(0.15, 0.3), random sign, so
  tonight's mix sits at one end of the window's;
- ``drift+tilt``: as drift, and within each source the true-deflected contacts are drawn with weight e^z,
  z ~ N(0, 0.3) per night, so the label mix also moves inside a source (what per-segment rows do not model).
Each night 10 audits (``draw_audit_sample``, stratified by predicted label) by a truthful reviewer (verdict =
reference label), each audit tagged with its channel (ABCD = chat, TweetSumm = messaging: channel and source
coincide in this pool). Tonight is the 30th night; its true deflection and resolution shares are counted.

Variants of ``corrected_rates`` from the window's audits, on the same windows (a paired comparison):
(a) ``pooled``: one P(true | predicted) row per predicted label; (b) ``segments``: rows per channel, tonight's
counts given per channel (a segment's own row only where it has >= 20 audits, else the pooled row);
(c) ``label_shift``: P(predicted | true) carried over, tonight's true mix inferred. A fourth, ``segments_k20``, is
(b) with ``min_segment_audits=20`` (the default is 5, chosen by this bench: with 20, a segment short of audits falls
back to the pooled row, which other segments' audits dominate, while the segments with enough use their own; the
two do not add up).

``show_nights`` prints single held-out nights (truth, raw, corrected with its interval) as a reader of the report
would see them.
"""

from __future__ import annotations

import argparse
import os
import time
from collections import Counter
from pathlib import Path

import numpy as np

from cx_worker.bundled import bundled_path
from cx_worker.governance.estimates import (
    MIN_SEGMENT_AUDITS,
    Audit,
    corrected_rates,
    draw_audit_sample,
    label_precision_recall,
)
from cx_worker.outcomes.evaluate import HANDCHECK, cross_validate, embed_documents, load_labelled
from cx_worker.outcomes.exemplars import document
from cx_worker.outcomes.signals import detect
from cx_worker.redaction.redactor import redact_interaction
from cx_worker.settings import Settings

VARIANTS = ("pooled", "segments", "segments_k20", "label_shift")
REGIMES = ("stable", "drift", "drift+tilt")
RATES = ("deflected", "resolved")
NIGHTS, SIZE, SPREAD, DRAWS = 30, (150, 400), 12.0, 2000


def _load() -> str:
    return "load {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())


def held_out_pool(data_dir: Path) -> dict[str, np.ndarray]:
    """Every labelled contact with its reference label, out-of-fold fusion prediction, source and channel."""
    settings = Settings()
    rows = load_labelled(exemplars=settings.exemplars, labels=settings.labelled, contacts=bundled_path("contacts"),
                         handcheck=HANDCHECK)
    redacted = [redact_interaction(r.interaction)[0] for r in rows]
    documents = [document(r) for r in redacted]
    vectors = embed_documents(documents, cache=data_dir / "cache" / "eval_vectors.npz")
    fired = [list(detect(r)) for r in redacted]
    labels = [r.label for r in rows]
    run = cross_validate(vectors, labels, fired, n_folds=5, seed=0, k=settings.knn_k, documents=documents)
    return {"true": np.array(labels), "pred": np.array(run["fusion"]),
            "source": np.array([r.interaction.id.split("-")[0] for r in rows]),
            "channel": np.array([r.interaction.channel for r in rows])}


def simulate_window(pool: dict[str, np.ndarray], regime: str, audits_per_night: int,
                    rng: np.random.Generator) -> tuple[list[Audit], dict[str, dict[str, int]], list[np.ndarray]]:
    """One 30-night window: its audits, the nights' stratum sizes, and each night's pool indices (tonight last)."""
    abcd, other = np.flatnonzero(pool["source"] == "abcd"), np.flatnonzero(pool["source"] != "abcd")
    d = 0.0 if regime == "stable" else rng.uniform(0.15, 0.3) * rng.choice([-1, 1])
    audits, night_counts, nights = [], {}, []
    for t in range(NIGHTS):
        m = 0.5 + d * (2 * t / (NIGHTS - 1) - 1)
        n = int(rng.integers(SIZE[0], SIZE[1] + 1))
        n_abcd = rng.binomial(n, rng.beta(SPREAD * m, SPREAD * (1 - m)))
        tilt = np.exp(rng.normal(0, 0.3)) if regime == "drift+tilt" else 1.0
        idx = np.concatenate([_draw(abcd, n_abcd, pool, tilt, rng), _draw(other, n - n_abcd, pool, tilt, rng)])
        design = draw_audit_sample({f"{t}:{j}": pool["pred"][i] for j, i in enumerate(idx)}, audits_per_night,
                                   seed=rng)
        night_counts[str(t)] = design.stratum_sizes
        nights.append(idx)
        for a in design:
            i = idx[int(a.interaction_id.split(":")[1])]
            audits.append(Audit(str(t), a.stratum, str(pool["true"][i]), a.inclusion_probability,
                                segment=str(pool["channel"][i])))
    return audits, night_counts, nights


def _draw(group: np.ndarray, size: int, pool: dict[str, np.ndarray], tilt: float,
          rng: np.random.Generator) -> np.ndarray:
    weight = np.where(pool["true"][group] == "deflected", tilt, 1.0)
    return rng.choice(group, size=size, replace=True, p=weight / weight.sum())


def estimate(variant: str, audits: list[Audit], tonight: np.ndarray, pool: dict[str, np.ndarray],
             rng: np.random.Generator, *, predictive: bool = True):
    """Tonight's corrected rates (``CorrectedRates.overall``) with one variant."""
    counts = dict(Counter(pool["pred"][tonight].tolist()))
    segments = None
    if variant.startswith("segments"):
        segments = {str(ch): dict(Counter(pool["pred"][tonight][pool["channel"][tonight] == ch].tolist()))
                    for ch in np.unique(pool["channel"][tonight])}
    return corrected_rates(audits, counts, segments=segments, label_shift=variant == "label_shift",
                           min_segment_audits=20 if variant == "segments_k20" else MIN_SEGMENT_AUDITS,
                           predictive=predictive, draws=DRAWS, seed=rng)


def _summary(records: list[dict]) -> str:
    parts = []
    for label in RATES:
        r = [x[label] for x in records]
        cov = np.mean([lo <= truth <= hi for _, lo, hi, _, truth in r])
        parts.append(f"{cov:5.2f}{np.mean([abs(v - t) for v, _, _, _, t in r]):7.3f}"
                     f"{np.mean([(hi - lo) / 2 for _, lo, hi, _, _ in r]):7.3f}"
                     f"{np.mean([abs(raw - t) for _, _, _, raw, t in r]):7.3f}")
    return "   ".join(parts)


def _record(result, pool: dict[str, np.ndarray], tonight: np.ndarray) -> dict:
    """label -> (corrected, low, high, raw share, tonight's true share)."""
    return {c: (e.corrected.value, e.corrected.low, e.corrected.high, e.raw, float(np.mean(pool["true"][tonight] == c)))
            for c, e in ((c, result.overall[c]) for c in RATES)}


def compare_variants(pool: dict[str, np.ndarray], windows: int, rng: np.random.Generator) -> dict[str, dict]:
    """The variants on the same windows; prints the table and returns the records."""
    records = {v: {r: [] for r in REGIMES} for v in VARIANTS}
    seconds, own_rows = Counter(), Counter()
    for w in range(windows):
        regime = REGIMES[w % len(REGIMES)]
        audits, _, nights = simulate_window(pool, regime, 10, rng)
        tonight = nights[-1]
        for v in VARIANTS:
            start = time.perf_counter()
            result = estimate(v, audits, tonight, pool, rng)
            seconds[v] += time.perf_counter() - start
            records[v][regime].append(_record(result, pool, tonight))
            if v == "segments":
                own_rows.update(f"{s}:{h}" for s, strata in result.segment_rows.items() for h in strata)
    print(f"\n{windows} windows ({windows // len(REGIMES)} per regime), 10 audits/night, 30 nights, 90% intervals")
    print(f"{'':24}{'deflected':^26}   {'resolved':^26}")
    print(f"{'variant':12}{'regime':12}" + "   ".join([f"{'cov':>5}{'MAE':>7}{'half':>7}{'rawMAE':>7}"] * 2))
    for v in VARIANTS:
        for regime in (*REGIMES, "all"):
            recs = sum(records[v].values(), []) if regime == "all" else records[v][regime]
            print(f"{v:12}{regime:12}{_summary(recs)}")
        print(f"{'':24}({seconds[v] / windows:.2f} s a window)")
    print("segment rows used (share of windows): "
          + ", ".join(f"{k} {c / windows:.2f}" for k, c in sorted(own_rows.items())))
    return records


def show_nights(pool: dict[str, np.ndarray], variant: str, per_regime: int, rng: np.random.Generator) -> None:
    """Single nights, as the report shows them: tonight's true deflection rate, the raw (predicted) one, and the
    corrected one with its 90% interval from the window's audits (10 a night)."""
    print(f"\nheld-out nights, {variant}, 10 audits/night over 30 nights: deflection rate (true / raw / corrected)")
    print(f"{'night':>6} {'regime':12}{'n':>5}{'true':>7}{'raw':>7}{'corrected [90%]':>24}{'covers':>8}"
          f"{'|corr-true|':>12}{'|raw-true|':>11}")
    hits, errors, raw_errors = [], [], []
    for j in range(per_regime * len(REGIMES)):
        regime = REGIMES[j % len(REGIMES)]
        audits, _, nights = simulate_window(pool, regime, 10, rng)
        tonight = nights[-1]
        result = estimate(variant, audits, tonight, pool, rng)
        value, low, high, raw, truth = _record(result, pool, tonight)["deflected"]
        hits.append(low <= truth <= high)
        errors.append(abs(value - truth))
        raw_errors.append(abs(raw - truth))
        print(f"{j + 1:6d} {regime:12}{len(tonight):5d}{truth:7.3f}{raw:7.3f}{value:9.3f} [{low:.3f}, {high:.3f}]"
              f"{'yes' if hits[-1] else 'NO':>8}{errors[-1]:12.3f}{raw_errors[-1]:11.3f}")
    print(f"covered {sum(hits)} of {len(hits)}; mean |corrected - true| {np.mean(errors):.3f}, "
          f"mean |raw - true| {np.mean(raw_errors):.3f}")


def _best(records: dict[str, dict]) -> str:
    """The variant with the best worst-regime deflection coverage (to 0.01), then the lowest MAE."""
    def key(v: str) -> tuple[float, float]:
        worst = min(np.mean([lo <= t <= hi for _, lo, hi, _, t in (r["deflected"] for r in records[v][g])])
                    for g in REGIMES)
        mae = np.mean([abs(r["deflected"][0] - r["deflected"][4]) for r in sum(records[v].values(), [])])
        return round(float(worst), 2), -float(mae)

    return max(VARIANTS, key=key)


def audits_for_three_points(pool: dict[str, np.ndarray], variant: str, windows: int, rng: np.random.Generator) -> None:
    """Half-width and coverage of tonight's deflection rate at 10/20/40/80 audits a night (regimes in turn).

    "realised" is the interval for tonight's realised share (what is covered); "expected" the parameter interval
    (``predictive=False``), without tonight's own finite-night noise: what much larger nights would approach.
    """
    print(f"\naudits/night for ±3 points, {variant}, {windows} windows each (regimes in turn), deflection rate")
    print(f"{'audits':>7}{'cov':>7}{'half (realised)':>17}{'half (expected)':>17}{'MAE':>7}")
    reached: dict[str, int] = {}
    for per_night in (10, 20, 40, 80):
        hits, half, half_exp, err = [], [], [], []
        for w in range(windows):
            audits, _, nights = simulate_window(pool, REGIMES[w % len(REGIMES)], per_night, rng)
            tonight = nights[-1]
            truth = float((pool["true"][tonight] == "deflected").mean())
            e = estimate(variant, audits, tonight, pool, rng).overall["deflected"].corrected
            x = estimate(variant, audits, tonight, pool, rng, predictive=False).overall["deflected"].corrected
            hits.append(e.low <= truth <= e.high)
            half.append((e.high - e.low) / 2)
            half_exp.append((x.high - x.low) / 2)
            err.append(abs(e.value - truth))
        print(f"{per_night:7d}{np.mean(hits):7.2f}{np.mean(half):17.3f}{np.mean(half_exp):17.3f}{np.mean(err):7.3f}"
              f"   {_load()}")
        for name, width in (("realised", np.mean(half)), ("expected", np.mean(half_exp))):
            if width <= 0.03:
                reached.setdefault(name, per_night)
    print("±3 points first reached at (audits/night): "
          + ", ".join(f"{k} {reached.get(k, 'not by 80')}" for k in ("realised", "expected")))


def precision_recall_one_window(pool: dict[str, np.ndarray], rng: np.random.Generator) -> None:
    """One stable window's audited precision/recall (90%) beside the window's realised and the pool's true ones."""
    audits, night_counts, nights = simulate_window(pool, "stable", 10, rng)
    quality = label_precision_recall(audits, night_counts, confidence=0.90, min_n=0, seed=rng)
    window = np.concatenate(nights)
    print(f"\nprecision/recall per label: one stable window ({len(audits)} audits, 90%, shown below the usual "
          "min_n=30 too); truth = the window's contacts, and the pool")
    print(f"{'label':11}{'precision (audits)':>29}{'window':>7}{'pool':>6}{'recall (audits)':>29}{'window':>7}"
          f"{'pool':>6}")
    for label, q in quality.items():
        truth = [_pr(pool["true"][idx], pool["pred"][idx], label) for idx in (window, slice(None))]
        if not np.isnan(truth[1]).all():
            print(f"{label:11}{_interval(q.precision):>29}{truth[0][0]:7.3f}{truth[1][0]:6.3f}"
                  f"{_interval(q.recall):>29}{truth[0][1]:7.3f}{truth[1][1]:6.3f}")


def _pr(true: np.ndarray, pred: np.ndarray, label: str) -> np.ndarray:
    tp = ((true == label) & (pred == label)).sum()
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.array([tp / (pred == label).sum(), tp / (true == label).sum()], dtype=float)


def _interval(e) -> str:
    if e.value is None or np.isnan(e.value):
        return f"— (n={e.n})"
    return f"{e.value:.3f} [{e.low:.3f}, {e.high:.3f}] n={e.n}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--windows", type=int, default=600, help="windows per variant (same windows for all)")
    parser.add_argument("--sweep-windows", type=int, default=300, help="windows per audits/night level")
    parser.add_argument("--best", choices=VARIANTS, help="variant for the sweep (default: see _best)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--nights", type=int, default=4, help="single nights shown per regime")
    parser.add_argument("--data-dir", type=Path, default=Path("/tmp/auditbench"), help="embedding cache lives here")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    pool = held_out_pool(args.data_dir)
    print(f"pool: {len(pool['true'])} contacts, {dict(Counter(pool['source'].tolist()))}; out-of-fold accuracy "
          f"{np.mean(pool['true'] == pool['pred']):.3f}; built in {time.perf_counter() - start:.0f} s, {_load()}")
    for src in np.unique(pool["source"]):
        true, pred = pool["true"][pool["source"] == src], pool["pred"][pool["source"] == src]
        print(f"  {src:10}" + "; ".join(f"{c} true {np.mean(true == c):.3f}, predicted {np.mean(pred == c):.3f}"
                                       for c in RATES))
    rng = np.random.default_rng(args.seed)
    show_nights(pool, "segments", args.nights, rng)
    records = compare_variants(pool, args.windows, rng)
    print(f"  {_load()}, {time.perf_counter() - start:.0f} s so far")
    best = args.best or _best(records)
    audits_for_three_points(pool, best, args.sweep_windows, rng)
    precision_recall_one_window(pool, rng)
    print(f"\ntotal {time.perf_counter() - start:.0f} s, {_load()}")


if __name__ == "__main__":
    main()
