import math
import random

import numpy as np
import pytest

from cx_worker.governance.coverage import simulate_coverage
from cx_worker.governance.estimates import (
    LABELS,
    Audit,
    Estimate,
    allocate,
    corrected_rates,
    draw_audit_sample,
    error_rate,
    judge_agreement,
    label_precision_recall,
    wilson_interval,
)


def night(counts: dict[str, int], prefix: str = "c") -> dict[str, str]:
    return {f"{prefix}{label}{i}": label for label, n in counts.items() for i in range(n)}


# ---------------------------------------------------------------- sample design

def test_allocation_sqrt_with_one_each_and_caps():
    sizes = {"resolved": 120, "deflected": 80, "escalated": 45, "abandoned": 30, "unresolved": 3}
    alloc = allocate(sizes, 10)
    assert sum(alloc.values()) == 10
    assert all(alloc[h] >= 1 for h in sizes)
    assert alloc["resolved"] >= alloc["deflected"] >= alloc["escalated"] >= alloc["unresolved"]
    # rare strata over-sampled relative to proportional allocation
    assert alloc["unresolved"] / 3 > alloc["resolved"] / 120
    assert allocate({"a": 2, "b": 100}, 50) == {"a": 2, "b": 48}  # never more than the stratum has
    assert allocate(sizes, 0) == dict.fromkeys(sizes, 0)
    assert allocate(sizes, 10_000) == sizes
    assert allocate({"a": 50, "b": 5, "c": 1}, 2) == {"a": 1, "b": 1, "c": 0}  # too few: largest first
    assert allocate({"a": 5, "b": 0}, 3) == {"a": 3}


def test_draw_probabilities_sizes_and_edges():
    predicted = night({"resolved": 150, "deflected": 60, "escalated": 20, "abandoned": 8, "unresolved": 2})
    design = draw_audit_sample(predicted, 10, seed=1)
    assert design.stratum_sizes == {"abandoned": 8, "deflected": 60, "escalated": 20, "resolved": 150,
                                    "unresolved": 2}
    assert len(design) == 10 and len({d.interaction_id for d in design}) == 10
    for d in design:
        assert predicted[d.interaction_id] == d.stratum
        assert d.inclusion_probability == pytest.approx(design.allocation[d.stratum] / design.stratum_sizes[d.stratum])
    assert {d.stratum for d in design} == set(LABELS)
    assert draw_audit_sample(predicted, 0, seed=1).draws == []
    everyone = draw_audit_sample(predicted, 500, seed=1)
    assert len(everyone) == len(predicted) and all(d.inclusion_probability == 1 for d in everyone)


def test_draw_is_deterministic_and_order_free():
    predicted = night({"resolved": 100, "deflected": 40, "escalated": 10})
    shuffled = list(predicted.items())
    random.Random(3).shuffle(shuffled)
    a = draw_audit_sample(predicted, 10, seed=42)
    assert a == draw_audit_sample(dict(shuffled), 10, seed=42)
    assert a != draw_audit_sample(predicted, 10, seed=43)


def test_inclusion_frequencies_match_probabilities():
    predicted = night({"resolved": 40, "deflected": 10, "abandoned": 2})
    rng = np.random.default_rng(0)
    hits = dict.fromkeys(predicted, 0)
    reps = 3000
    for _ in range(reps):
        design = draw_audit_sample(predicted, 6, seed=rng)
        for d in design:
            hits[d.interaction_id] += 1
    probs = {d.stratum: d.inclusion_probability for d in design}
    for cid, label in predicted.items():
        assert hits[cid] / reps == pytest.approx(probs[label], abs=0.04)


# ---------------------------------------------------------------- small pieces

def test_wilson_known_values():
    assert wilson_interval(5, 10) == pytest.approx((0.2366, 0.7634), abs=1e-4)
    assert wilson_interval(0, 10) == pytest.approx((0.0, 0.2775), abs=1e-4)
    assert wilson_interval(10, 10) == pytest.approx((0.7225, 1.0), abs=1e-4)
    assert wilson_interval(1, 10) == pytest.approx((0.0179, 0.4042), abs=1e-4)  # R: prop.test(1, 10, correct=F)
    assert wilson_interval(1, 10, 0.90) == pytest.approx((0.0226, 0.3477), abs=1e-4)  # by hand, z = 1.6449
    assert wilson_interval(0, 0) == (0.0, 1.0)


def test_text_formats():
    assert Estimate(0.1834, 0.1212, 0.2619, 240, 30, 0.90).text() == "0.183 (90% 0.121–0.262, n=240)"
    assert Estimate(None, None, None, 12, 30, 0.95).text() == "not enough audits (12 of 30)"
    few = error_rate([Audit("n1", "resolved", "resolved", 0.1)] * 5, min_n=30)
    assert not few.enough and few.value is None and few.text() == "not enough audits (5 of 30)"


def audits_2x2(tp, fn, fp, tn, judge="faithfulness", p=0.1):
    out = []
    for human, flag, k in ((True, True, tp), (True, False, fn), (False, True, fp), (False, False, tn)):
        out += [Audit("n1", "resolved", "resolved", p, summary_errors=frozenset({"invented"} if human else ()),
                      judges={judge: flag}) for _ in range(k)]
    return out


def test_judge_agreement_hand_computed():
    # p_o = 0.85; p_e = 0.25*0.30 + 0.75*0.70 = 0.60; kappa = 0.25 / 0.40 = 0.625
    audits = audits_2x2(20, 5, 10, 65)
    audits.append(Audit("n1", "resolved", "resolved", 0.1, judges={"faithfulness": None}))  # didn't run
    audits.append(Audit("n1", "resolved", "resolved", 0.1, summary_errors=frozenset({"omission"}),
                        judges={"faithfulness": False}))  # omission is not this judge's target: a negative
    r = judge_agreement(audits, "faithfulness", min_n=20, seed=0)
    assert (r.tp, r.fn, r.fp, r.tn) == (20, 5, 10, 66)
    assert r.tpr.value == pytest.approx(0.8) and r.tpr.n == 25
    assert r.fpr.value == pytest.approx(10 / 76)
    assert (r.tpr.low, r.tpr.high) == pytest.approx(wilson_interval(20, 25))
    exact = judge_agreement(audits_2x2(20, 5, 10, 65), "faithfulness", seed=0)
    assert exact.kappa.value == pytest.approx(0.625)
    se = math.sqrt(0.85 * 0.15 / (100 * 0.4 ** 2))  # Cohen's simple SE, as a sanity bound for the bootstrap
    assert exact.kappa.low == pytest.approx(0.625 - 1.96 * se, abs=0.05)
    assert exact.kappa.high == pytest.approx(0.625 + 1.96 * se, abs=0.05)
    assert judge_agreement(audits_2x2(20, 5, 10, 65), "faithfulness", seed=0) == exact
    assert judge_agreement(audits, "faithfulness", min_n=30).tpr.text() == "not enough audits (25 of 30)"
    with pytest.raises(ValueError):
        judge_agreement(audits, "mystery")


def test_error_rate_weighted():
    # stratum A: 10 audits, pi 0.5 (weight 2), 5 with errors; stratum B: 10 audits, pi 0.1 (weight 10), 1 error
    audits = [Audit("n1", "resolved", "resolved", 0.5, summary_errors=frozenset({"pii"} if i < 5 else ()))
              for i in range(10)]
    audits += [Audit("n1", "deflected", "deflected", 0.1, summary_errors=frozenset({"tone"} if i < 1 else ()))
               for i in range(10)]
    r = error_rate(audits, min_n=10)
    assert r.value == pytest.approx((5 * 2 + 1 * 10) / (10 * 2 + 10 * 10))
    assert r.n == 20 and r.n_eff == pytest.approx(120 ** 2 / (10 * 4 + 10 * 100))
    assert error_rate(audits, error_type="pii", min_n=10).value == pytest.approx(10 / 120)
    with pytest.raises(ValueError):
        error_rate(audits, error_type="typo")


def small_window():
    a = [Audit("n1", "deflected", t, 0.5) for t in ("deflected", "deflected", "deflected", "resolved")]
    a += [Audit("n1", "resolved", "resolved", 0.5) for _ in range(4)]
    return a


def test_precision_recall_hand_computed():
    r = label_precision_recall(small_window(), {"n1": {"resolved": 8, "deflected": 8}, "n0": {"resolved": 99}},
                               min_n=0, seed=0)
    assert r["deflected"].precision.value == pytest.approx(0.75)
    assert r["resolved"].precision.value == pytest.approx(1.0)
    # Recall is the median of the Jeffreys draws: near the plug-in ratio, and always inside its own interval (the
    # plug-in 8*0.75 / (8*0.75 + 8*0) = 1.0 for deflected is not: no draw of the resolved row is exactly 0).
    for label, plug_in in (("deflected", 1.0), ("resolved", 8 / 10)):  # resolved: 8*1 / (8*1 + 8*0.25)
        recall = r[label].recall
        assert recall.low <= recall.value <= recall.high and abs(recall.value - plug_in) < 0.1, label
    assert r["deflected"].recall.high < 1.0  # where the plug-in used to sit: outside the interval
    assert r["deflected"].recall.n == 3 and r["resolved"].recall.n == 5
    assert r["resolved"].recall.low < 0.8 < r["resolved"].recall.high
    default_min_n = label_precision_recall(small_window(), {"n1": {"resolved": 8, "deflected": 8}})
    assert default_min_n["deflected"].precision.text() == "not enough audits (4 of 30)"


def test_corrected_rates_hand_computed_and_deterministic():
    r = corrected_rates(small_window(), {"resolved": 60, "deflected": 40}, min_n=0, seed=5)
    d = r.overall["deflected"]
    assert d.raw == pytest.approx(0.4)
    assert d.corrected.value == pytest.approx(0.4 * 0.75)
    assert r.overall["resolved"].corrected.value == pytest.approx(0.6 + 0.4 * 0.25)
    assert d.corrected.low < 0.3 < d.corrected.high
    assert r == corrected_rates(small_window(), {"resolved": 60, "deflected": 40}, min_n=0, seed=5)
    assert corrected_rates(small_window(), {"resolved": 60, "deflected": 40}).overall["deflected"].corrected.text() \
        == "not enough audits (8 of 30)"


def test_corrected_rates_unaudited_stratum_is_flagged_and_wide():
    r = corrected_rates(small_window(), {"resolved": 50, "deflected": 40, "escalated": 10}, min_n=0, seed=0)
    esc = r.overall["escalated"].corrected
    assert "escalated" in esc.note
    assert esc.high > 0.05  # the prior row lets up to a tenth of the night be escalated, honestly


def test_corrected_rates_segments_use_own_rows_only_with_k_audits():
    chat = [Audit("n1", "deflected", "deflected", 0.5, segment="chat") for _ in range(20)]
    voice = [Audit("n1", "deflected", "resolved", 0.5, segment="voice") for _ in range(19)]
    segs = {"chat": {"deflected": 10}, "voice": {"deflected": 10}}
    r = corrected_rates(chat + voice, {"deflected": 25}, segments=segs, min_n=0, seed=0, min_segment_audits=20)
    assert r.segment_rows == {"chat": ("deflected",), "voice": ()}
    assert r.by_segment["chat"]["deflected"].corrected.value == pytest.approx(1.0)
    assert r.by_segment["voice"]["deflected"].corrected.value == pytest.approx(20 / 39)  # pooled row
    # 10 chat at 1.0, 10 voice + 5 unsegmented at the pooled 20/39
    assert r.overall["deflected"].corrected.value == pytest.approx((10 + 15 * 20 / 39) / 25)
    assert r.by_segment["chat"]["deflected"].corrected.n == 20
    with pytest.raises(ValueError):
        corrected_rates(chat, {"deflected": 5}, segments=segs)
    default = corrected_rates(chat + voice[:5], {"deflected": 25}, segments=segs, min_n=0, seed=0)  # k = 5
    assert default.segment_rows == {"chat": ("deflected",), "voice": ("deflected",)}
    assert default.by_segment["voice"]["deflected"].corrected.value == pytest.approx(0.0)  # its own 5 audits


def test_night_counts_reweight_unfinished_audits():
    # 2 of 4 drawn audits done in a stratum of 40: weight 20 each, whatever the design probability said
    audits = [Audit("n1", "resolved", "resolved", 0.1, summary_errors=frozenset({"omission"})),
              Audit("n1", "resolved", "resolved", 0.1),
              Audit("n1", "deflected", "deflected", 0.5)]
    r = error_rate(audits, night_counts={"n1": {"resolved": 40, "deflected": 2}}, min_n=0)
    assert r.value == pytest.approx(20 / 42)
    with pytest.raises(ValueError):
        error_rate(audits, night_counts={"n1": {"resolved": 1, "deflected": 2}})


# ---------------------------------------------------------------- coverage

def test_coverage_of_corrected_deflection_rate():
    # moderate night-to-night shift (concentration 200: the deflected share moves ~±3 points, sd). 1000 windows so
    # the measured coverage's own noise (sd ~0.01) is small next to the 0.85-0.95 band; 0.871 measured.
    r = simulate_coverage(windows=1000, draws=1000, seed=0)
    assert r.not_enough == 0
    assert 0.85 <= r.coverage <= 0.95
    assert r.mean_abs_error_corrected < r.mean_abs_error_raw / 2
    assert 0.84 <= r.coverage_precision <= 0.96
    assert 0.84 <= r.coverage_recall <= 0.96
    assert 0.84 <= r.coverage_error_rate <= 0.97


def test_simulation_is_deterministic():
    assert simulate_coverage(windows=3, draws=200, seed=7) == simulate_coverage(windows=3, draws=200, seed=7)


def test_larger_shift_breaks_rows_model_and_label_shift_holds():
    # concentration 20: the night's deflected share moves by ~±9 points (sd) instead of ~±3
    plain = simulate_coverage(windows=200, draws=500, concentration=20, seed=1)
    assert plain.coverage < 0.8  # documented in NOTES.md: the rows model's assumption is broken here
    shifted = simulate_coverage(windows=200, draws=400, concentration=20, label_shift=True, seed=1)
    assert 0.83 <= shifted.coverage <= 0.96
    assert shifted.mean_abs_error_corrected < plain.mean_abs_error_corrected


def test_label_shift_on_hand_example():
    r = corrected_rates(small_window(), {"resolved": 60, "deflected": 40}, min_n=0, label_shift=True, draws=500,
                        seed=0)
    d = r.overall["deflected"].corrected
    assert 0.1 < d.value < 0.5 and d.low < d.value < d.high
    assert sum(x.corrected.value for x in r.overall.values()) == pytest.approx(1.0)
    with pytest.raises(ValueError):
        corrected_rates(small_window(), {"deflected": 5}, segments={"chat": {"deflected": 5}}, label_shift=True)
