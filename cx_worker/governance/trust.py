"""How far to trust tonight: the nightly audit sample, the people's verdicts on it, and what they say about the
classifier, the summaries and the automated judges, with intervals.

Every night a random sample of its contacts (`Settings.audit_sample`, stratified by predicted outcome, rare labels
over-sampled, each with its inclusion probability) is set aside for people to judge. It is drawn at random, never
by confidence: the low-confidence review list is a separate queue and never enters these estimates. The verdicts
of a rolling window (`Settings.audit_window_days`) become estimates (`estimates`): per-label precision and recall,
tonight's outcome rates corrected for the audited confusion beside the raw ones, the summary error rate, and each
automated judge's agreement with the people. Why these estimators and how they were checked: evals/estimates.md.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from cx_worker.governance.estimates import (
    ERROR_TYPES,
    Audit,
    Estimate,
    corrected_rates,
    draw_audit_sample,
    error_rate,
    judge_agreement,
    label_precision_recall,
)
from cx_worker.models import OUTCOME_LABELS
from cx_worker.store import AuditItem, Store

# governance metric -> the judge name the estimates know it by (what people's verdicts check it against)
AUDIT_JUDGES = {"faithfulness": "faithfulness", "groundedness": "groundedness", "attribution": "attribution",
                "pii_leak_rate": "pii", "crm_note_tone": "tone"}
# `cx-worker nightly --json` estimates key -> outcome label
RATE_NAMES = {"resolution_rate": "resolved", "deflection_rate": "deflected", "escalation_rate": "escalated",
              "abandonment_rate": "abandoned"}


def draw_audit(store: Store, run_id: str, *, size: int) -> int:
    """Draw tonight's audit sample from the run's classified contacts and record it with its design; returns how
    many were drawn. The seed is the run id: the same run always draws the same sample."""
    predicted = {o.interaction_id: o.label for o in store.run_outcomes(run_id)}
    if size <= 0 or not predicted:
        return 0
    channel = {c.interaction_id: c.redacted.channel for c in store.run_contacts(run_id)}
    design = draw_audit_sample(predicted, size, seed=int(hashlib.sha256(run_id.encode()).hexdigest()[:12], 16))
    segments: dict[str, Counter] = {}
    for iid, label in predicted.items():
        segments.setdefault(channel.get(iid, "unknown"), Counter())[label] += 1
    return store.record_audit_sample(
        run_id, draws=[(d.interaction_id, d.stratum, d.inclusion_probability, channel.get(d.interaction_id))
                       for d in design],
        stratum_sizes=design.stratum_sizes, segment_sizes={k: dict(v) for k, v in segments.items()})


@dataclass
class TrustReport:
    """What the audits of the window say about tonight (see the module docstring)."""

    window_days: int
    audits: int  # verdicts in the window
    outstanding: int  # audited contacts in the window still waiting for a verdict
    rates: dict[str, dict[str, Any]] = field(default_factory=dict)  # label -> raw, corrected estimate
    labels: dict[str, dict[str, Estimate]] = field(default_factory=dict)  # label -> precision, recall
    summary_errors: dict[str, Estimate] = field(default_factory=dict)  # "any" and each error type
    judges: dict[str, dict[str, Any]] = field(default_factory=dict)  # metric -> tpr, fpr, kappa, counts
    notes: list[str] = field(default_factory=list)

    def estimates_json(self) -> dict[str, dict[str, Any]]:
        """The `estimates` of `cx-worker nightly --json`: per rate raw, corrected, low, high, n_audits."""
        out = {}
        for name, label in RATE_NAMES.items():
            rate = self.rates.get(label)
            est: Estimate | None = rate["corrected"] if rate else None
            out[name] = {"raw": round(rate["raw"], 4) if rate else 0.0,
                         "corrected": _r(est.value) if est else None, "low": _r(est.low) if est else None,
                         "high": _r(est.high) if est else None, "n_audits": est.n if est else self.audits,
                         "n_required": est.n_required if est else None}
        return out

    def evidence(self, name: str) -> Estimate | None:
        """The estimate behind an evidence metric of the suite: `summary_error_rate`, `<type>_error_rate`,
        `<label>_precision`, `<label>_recall`, `<rate name>` (corrected), `<judge metric>_recall` /
        `_false_alarm_rate` / `_kappa`; None for a name that is none of these."""
        if name == "summary_error_rate":
            return self.summary_errors.get("any")
        if name.endswith("_error_rate") and name.removesuffix("_error_rate") in ERROR_TYPES:
            return self.summary_errors.get(name.removesuffix("_error_rate"))
        if name in RATE_NAMES and RATE_NAMES[name] in self.rates:
            return self.rates[RATE_NAMES[name]]["corrected"]
        for suffix, key in (("_precision", "precision"), ("_recall", "recall")):
            label = name.removesuffix(suffix)
            if name.endswith(suffix) and label in self.labels:
                return self.labels[label][key]
        for suffix, key in (("_recall", "tpr"), ("_false_alarm_rate", "fpr"), ("_kappa", "kappa")):
            metric = name.removesuffix(suffix)
            if name.endswith(suffix) and metric in self.judges:
                return self.judges[metric][key]
        return None

    def as_dict(self) -> dict[str, Any]:
        """For report.json and the report page: every estimate with its value, interval and text."""
        return {"window_days": self.window_days, "audits": self.audits, "outstanding": self.outstanding,
                "rates": {label: {"raw": r["raw"], "corrected": _est(r["corrected"])}
                          for label, r in self.rates.items()},
                "labels": {label: {k: _est(v) for k, v in q.items()} for label, q in self.labels.items()},
                "summary_errors": {k: _est(v) for k, v in self.summary_errors.items()},
                "judges": {m: {k: (_est(v) if isinstance(v, Estimate) else v) for k, v in j.items()}
                           for m, j in self.judges.items()},
                "notes": self.notes}


def _r(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def _est(e: Estimate) -> dict[str, Any]:
    return {"value": _r(e.value), "low": _r(e.low), "high": _r(e.high), "n": e.n, "n_required": e.n_required,
            "confidence": e.confidence, "enough": e.enough, "text": e.text()}


def window_audits(store: Store, *, since: str, before: str | None = None) -> tuple[list[Audit], list[AuditItem]]:
    """The window's audits with a verdict (recorded before `before`, if given) as estimator input, and the
    audited contacts still waiting for one."""
    items = store.audit_items(since=since)
    judged = [i for i in items if i.verdict is not None and (before is None or i.verdict.at <= before)]
    audits = [Audit(night=i.run_id, predicted=i.stratum, true=i.verdict.true_outcome,
                    inclusion_probability=i.inclusion_probability, segment=i.segment,
                    summary_errors=frozenset(i.verdict.errors) & ERROR_TYPES,
                    judges={AUDIT_JUDGES[m]: flagged for m, flagged in i.judges.items() if m in AUDIT_JUDGES})
              for i in judged]
    return audits, [i for i in items if i.verdict is None]


def trust_report(store: Store, run_id: str, *, window_days: int = 30, min_n: int = 30,
                 before: str | None = None) -> TrustReport:
    """What the verdicts of the last `window_days` (recorded before `before`: tonight's are not in yet) say about
    run `run_id`'s contacts."""
    since = (datetime.now(UTC) - timedelta(days=window_days)).isoformat(timespec="seconds")
    audits, waiting = window_audits(store, since=since, before=before)
    nights = {n.run_id: n.stratum_sizes for n in store.audit_nights(since=since)}
    tonight = Counter(o.label for o in store.run_outcomes(run_id))
    channel = {c.interaction_id: c.redacted.channel for c in store.run_contacts(run_id)}
    segments: dict[str, Counter] = {}
    for o in store.run_outcomes(run_id):
        segments.setdefault(channel.get(o.interaction_id, "unknown"), Counter())[o.label] += 1
    report = TrustReport(window_days=window_days, audits=len(audits), outstanding=len(waiting))
    night_counts = {k: v for k, v in nights.items() if any(a.night == k for a in audits)}
    if tonight:
        rates = corrected_rates(audits, dict(tonight), night_counts=night_counts or None,
                                segments={k: dict(v) for k, v in segments.items()}, min_n=min_n)
        report.rates = {label: {"raw": r.raw, "corrected": r.corrected} for label, r in rates.overall.items()}
        report.notes += sorted({r.corrected.note for r in rates.overall.values() if r.corrected.note})
    quality = label_precision_recall(audits, night_counts, min_n=min_n)
    report.labels = {label: {"precision": q.precision, "recall": q.recall} for label, q in quality.items()
                     if label in OUTCOME_LABELS}
    report.summary_errors = {"any": error_rate(audits, night_counts=night_counts or None, min_n=min_n)} | {
        kind: error_rate(audits, error_type=kind, night_counts=night_counts or None, min_n=min_n)
        for kind in sorted(ERROR_TYPES)}
    for metric, judge in AUDIT_JUDGES.items():
        agreement = judge_agreement(audits, judge, night_counts=night_counts or None, min_n=min_n)
        report.judges[metric] = {"tpr": agreement.tpr, "fpr": agreement.fpr, "kappa": agreement.kappa,
                                 "counts": {"tp": agreement.tp, "fn": agreement.fn, "fp": agreement.fp,
                                            "tn": agreement.tn}}
    return report


def trust_history(store: Store, *, tonight: TrustReport, run_id: str, nights: int = 30) -> list[dict[str, Any]]:
    """Tonight's and the earlier nights' deflection rate, raw and corrected with its band, oldest first (from the
    runs' summaries), for the report's chart."""
    points = []
    for run in reversed(store.runs(limit=nights)):
        if run.run_id == run_id:
            continue
        rate = ((run.summary or {}).get("estimates") or {}).get("deflection_rate")
        if rate:
            points.append({"run_id": run.run_id, **rate})
    return (points + [{"run_id": run_id, **tonight.estimates_json()["deflection_rate"]}])[-nights:]


def trust_chart(points: list[dict[str, Any]], *, width: int = 640, height: int = 160) -> dict[str, Any]:
    """An inline-SVG chart of the deflection rate night by night: the raw line, the corrected line and its 90% band
    (nights without enough audits leave a gap in the band), no external assets."""
    values = [p[k] for p in points for k in ("raw", "low", "high", "corrected") if p.get(k) is not None]
    if not values:
        return {"width": width, "height": height, "raw": "", "corrected": "", "band": "", "dots": []}
    lo, hi = max(0.0, min(values) - 0.05), min(1.0, max(values) + 0.05)
    span = (hi - lo) or 1.0
    n = max(len(points) - 1, 1)

    def x(i: int) -> float:
        return round(30 + i * (width - 40) / n, 1)

    def y(v: float) -> float:
        return round(height - 20 - (v - lo) / span * (height - 30), 1)

    def line(key: str) -> str:
        pts = [(x(i), y(p[key])) for i, p in enumerate(points) if p.get(key) is not None]
        return " ".join(f"{'M' if k == 0 else 'L'}{a},{b}" for k, (a, b) in enumerate(pts))

    banded = [(i, p) for i, p in enumerate(points) if p.get("low") is not None]
    band = ""
    if banded:
        top = [f"{x(i)},{y(p['high'])}" for i, p in banded]
        bottom = [f"{x(i)},{y(p['low'])}" for i, p in reversed(banded)]
        band = " ".join(top + bottom)
    return {"width": width, "height": height, "raw": line("raw"), "corrected": line("corrected"), "band": band,
            "ticks": [{"y": y(v), "label": f"{v:.0%}"} for v in (lo, (lo + hi) / 2, hi)],
            "dots": [{"x": x(i), "y": y(p["corrected"]), "title": f"{p['run_id']}: {p['corrected']:.3f} "
                      f"({p['low']:.3f}-{p['high']:.3f})"} for i, p in enumerate(points)
                     if p.get("corrected") is not None]}
