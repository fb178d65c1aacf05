"""Governance metrics over a run's AI outputs: one class per metric.

Each metric returns a `MetricResult` with `threshold`, `score`, `reason`, `success`. An error while measuring is a
failure. A metric that had nothing to measure (no labelled contact in the run, say) is `measured=False`: shown and
counted apart, never averaged in as zero.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar

from cx_worker.redact import find_pii


@dataclass(frozen=True)
class EvalItem:
    """One contact's outputs as the metrics see them."""

    interaction_id: str
    transcript: str  # the redacted transcript the LLM saw
    work: dict[str, Any] | None  # validated after-call work, None if it failed
    error: str | None = None  # why the after-call work failed
    outcome: str | None = None
    reference_outcome: str | None = None


@dataclass
class MetricResult:
    metric: str
    score: float | None
    threshold: float
    direction: str  # "min": score must be >= threshold; "max": <=
    success: bool
    measured: bool
    reason: str
    details: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class Metric:
    """Base class: subclasses set `name`, `direction`, and implement `_score`."""

    name: ClassVar[str]
    direction: ClassVar[str] = "min"
    description: ClassVar[str] = ""

    def __init__(self, threshold: float) -> None:
        self.threshold = threshold

    def measure(self, items: list[EvalItem]) -> MetricResult:
        """Score the items; never raises: an error is a failed result with the error as reason."""
        try:
            scored = self._score(items)
        except Exception as exc:  # an error is a failure, reported, not swallowed
            return MetricResult(self.name, None, self.threshold, self.direction, False, True,
                                f"error while measuring: {type(exc).__name__}: {exc}")
        if scored is None:
            return MetricResult(self.name, None, self.threshold, self.direction, True, False,
                                "could not measure: nothing to measure in this run")
        score, failures, total = scored
        ok = score >= self.threshold if self.direction == "min" else score <= self.threshold
        op = ">=" if self.direction == "min" else "<="
        reason = f"{score:.3f} {'meets' if ok else 'breaks'} {op} {self.threshold} over {total} contacts"
        return MetricResult(self.name, round(score, 4), self.threshold, self.direction, ok, True, reason,
                            {"failures": failures, "total": total})

    def _score(self, items: list[EvalItem]) -> tuple[float, list[dict], int] | None:
        raise NotImplementedError


def _output_text(work: dict[str, Any]) -> str:
    parts = [work.get("summary", ""), work.get("crm_note", ""), work.get("handoff_context", ""),
             work.get("customer_intent", ""), (work.get("emotional_risk") or {}).get("reason", "")]
    parts += [a.get("description", "") for a in work.get("action_items", [])]
    return "\n".join(p for p in parts if p)


class SchemaValidRate(Metric):
    name = "schema_valid_rate"
    description = "Share of contacts whose after-call work came back as valid structured output."

    def _score(self, items):
        if not items:
            return None
        failures = [{"id": i.interaction_id, "why": i.error or "no output"} for i in items if i.work is None]
        return 1 - len(failures) / len(items), failures, len(items)


class PiiLeakRate(Metric):
    name = "pii_leak_rate"
    direction = "max"
    description = "Share of outputs that contain an email, phone number or payment card."

    def _score(self, items):
        done = [i for i in items if i.work is not None]
        if not done:
            return None
        failures = []
        for i in done:
            found = find_pii(_output_text(i.work))
            if found:
                failures.append({"id": i.interaction_id, "why": "leaked " + ", ".join(sorted({k for k, _ in found}))})
        return len(failures) / len(done), failures, len(done)


class OutcomeAccuracy(Metric):
    name = "outcome_accuracy"
    description = "Share of labelled contacts whose outcome label matches the reference label."

    def _score(self, items):
        labelled = [i for i in items if i.reference_outcome is not None and i.outcome is not None]
        if not labelled:
            return None
        failures = [{"id": i.interaction_id, "why": f"predicted {i.outcome}, reference {i.reference_outcome}"}
                    for i in labelled if i.outcome != i.reference_outcome]
        return 1 - len(failures) / len(labelled), failures, len(labelled)


# Facts a summary must not invent: money, dates, times, and ids/numbers of 3+ digits.
_MONEY = re.compile(r"[$€£]\s?\d[\d,]*(?:\.\d+)?|\b\d[\d,]*(?:\.\d+)?\s?(?:dollars|euros|pounds|usd|eur|gbp)\b", re.I)
_DATE = re.compile(
    r"\b\d{1,4}[/-]\d{1,2}[/-]\d{1,4}\b|\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.? \d{1,2}\b",
    re.I,
)
_ID = re.compile(r"\b(?=[A-Za-z]*\d)[A-Za-z0-9][A-Za-z0-9-]{2,}\b")


def ungrounded_facts(summary: str, transcript: str) -> list[str]:
    """Amounts, dates and ids in `summary` that do not occur in `transcript` (digits compared, not formatting)."""
    digits_in_transcript = re.sub(r"[^\d]", " ", transcript)
    transcript_l = transcript.lower()
    missing, covered = [], []
    for pattern in (_MONEY, _DATE, _ID):
        for m in pattern.finditer(summary):
            fact = m.group(0)
            if any(a <= m.start() < b for a, b in covered):
                continue  # already judged as part of an amount or date
            covered.append(m.span())
            if pattern is _ID and not re.search(r"\d{3,}", fact):
                continue  # short numbers ("2 days") are not ids
            if fact.lower() in transcript_l:
                continue
            numbers = re.findall(r"\d+", fact.replace(",", ""))
            if numbers and all(re.search(rf"(?<!\d){n}(?!\d)", digits_in_transcript) for n in numbers):
                continue
            missing.append(fact)
    return sorted(set(missing))


class Groundedness(Metric):
    name = "groundedness"
    description = "Share of summaries and notes whose every amount, date and id occurs in the transcript."

    def _score(self, items):
        done = [i for i in items if i.work is not None]
        if not done:
            return None
        failures = []
        for i in done:
            missing = ungrounded_facts(_output_text(i.work), i.transcript)
            if missing:
                failures.append({"id": i.interaction_id, "why": "not in transcript: " + ", ".join(missing)})
        return 1 - len(failures) / len(done), failures, len(done)


METRICS: dict[str, type[Metric]] = {m.name: m for m in (SchemaValidRate, PiiLeakRate, OutcomeAccuracy, Groundedness)}
