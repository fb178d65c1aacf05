"""Gates on evidence: suite metrics judged on what the people's audits show, by a bound of the estimate's interval.

A suite names them like any metric, with `on` (which number is compared: `value`, the interval's `lower` or
`upper` bound) and `min_n` (audits needed before the gate decides anything):

    summary_error_rate: {max: 0.10, on: upper, min_n: 30}   # pass only when the rate is shown to be below 10%
    deflected_precision: {min: 0.80, on: lower}             # pass only when precision is shown to be above 80%

Names: `summary_error_rate` and `<type>_error_rate` (invented, misattributed, omission, disposition, language,
tone, pii); `<label>_precision`, `<label>_recall`; `resolution_rate`, `deflection_rate`, `escalation_rate`,
`abandonment_rate` (tonight's corrected rates); `<judge metric>_recall`, `_false_alarm_rate`, `_kappa` for the
automated judges (faithfulness, groundedness, pii_leak_rate, crm_note_tone). With fewer audits than `min_n` (or
than `CX_AUDIT_MIN_N`, below which no estimate is shown at all) the metric is neither a pass nor a breach: it is
*insufficient evidence*, and so is the run's verdict when a gating metric is (unless another breaches).
"""

from __future__ import annotations

import re
from typing import Any

from cx_worker.governance.estimates import ERROR_TYPES
from cx_worker.governance.metrics import MetricResult
from cx_worker.governance.trust import AUDIT_JUDGES, RATE_NAMES, TrustReport
from cx_worker.models import OUTCOME_LABELS

BOUNDS = ("value", "lower", "upper")
_NAME = re.compile(
    rf"^(summary_error_rate|({'|'.join(sorted(ERROR_TYPES))})_error_rate"
    rf"|({'|'.join(OUTCOME_LABELS)})_(precision|recall)|{'|'.join(RATE_NAMES)}"
    rf"|({'|'.join(AUDIT_JUDGES)})_(recall|false_alarm_rate|kappa))$")


def is_evidence_metric(name: str) -> bool:
    """Whether a suite metric is judged on the audits' evidence (see the module docstring)."""
    return bool(_NAME.match(name))


def evidence_result(name: str, *, threshold: float, direction: str, on: str, min_n: int,
                    trust: TrustReport | None) -> tuple[MetricResult, bool]:
    """The metric's result from the audits of the window, and whether it is *insufficient evidence*."""
    estimate = trust.evidence(name) if trust is not None else None
    op = ">=" if direction == "min" else "<="
    details: dict[str, Any] = {"on": on, "min_n": min_n, "evidence": None}
    if estimate is None or estimate.n < min_n or estimate.value is None:
        n = estimate.n if estimate is not None else 0
        needed = max(min_n, estimate.n_required if estimate is not None else 0)
        reason = (f"insufficient evidence: not enough audits ({n} of {needed})" if trust is not None
                  else "insufficient evidence: no audits (CX_AUDIT_SAMPLE=0, or no verdicts yet)")
        return MetricResult(name, None, threshold, direction, False, False, reason, details), True
    details["evidence"] = {"value": estimate.value, "low": estimate.low, "high": estimate.high, "n": estimate.n,
                           "confidence": estimate.confidence}
    compared = {"value": estimate.value, "lower": estimate.low, "upper": estimate.high}[on]
    ok = compared >= threshold if direction == "min" else compared <= threshold
    which = {"value": "estimate", "lower": "lower bound", "upper": "upper bound"}[on]
    reason = (f"{which} {compared:.3f} {'meets' if ok else 'breaks'} {op} {threshold} "
              f"({estimate.text()})")
    return MetricResult(name, round(compared, 4), threshold, direction, ok, True, reason, details), False
