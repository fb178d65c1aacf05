"""Governance metrics over a run's AI outputs: one class per metric.

Each metric returns a `MetricResult` with `threshold`, `score`, `reason`, `success`. An error while measuring is a
failure. A metric that had nothing to measure (no labelled contact in the run, say) is `measured=False`: shown and
counted apart, never averaged in as zero.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar

from cx_worker.governance.pii_scan import PiiFinding, scan
from cx_worker.ingest.language import detect_language


@dataclass(frozen=True)
class EvalItem:
    """One contact's outputs as the metrics see them."""

    interaction_id: str
    transcript: str  # the redacted transcript the LLM saw
    work: dict[str, Any] | None  # validated after-call work, None if it failed
    error: str | None = None  # why the after-call work failed
    outcome: str | None = None
    reference_outcome: str | None = None
    reference_disposition: str | None = None
    reference_summaries: tuple[str, ...] = ()


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
    """Base class: subclasses set `name`, `direction`, and implement `_score`.

    Options from the suite file (e.g. `min_words`) arrive as keyword arguments; edges a metric needs (the judge
    LLM, the CRM language) arrive through `context`.
    """

    name: ClassVar[str]
    direction: ClassVar[str] = "min"
    description: ClassVar[str] = ""

    def __init__(self, threshold: float, *, context: dict[str, Any] | None = None, **options: Any) -> None:
        self.threshold = threshold
        self.context = context or {}
        self.options = options

    def measure(self, items: list[EvalItem]) -> MetricResult:
        """Score the items; never raises: an error is a failed result with the error as reason."""
        try:
            scored = self._score(items)
        except Exception as exc:  # an error is a failure, reported, not swallowed
            return self._error(exc)
        return self._result(scored)

    def measure_pages(self, pages: Iterable[list[EvalItem]]) -> MetricResult:
        """Score a run page by page (see `Tally`)."""
        tally = Tally(self)
        for page in pages:
            tally.add(page)
        return tally.result()

    def _error(self, exc: Exception) -> MetricResult:
        return MetricResult(self.name, None, self.threshold, self.direction, False, True,
                            f"error while measuring: {type(exc).__name__}: {exc}")

    def _result(self, scored: tuple[float, list[dict], int] | None) -> MetricResult:
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


class Tally:
    """A metric's running score over a run read page by page, so memory holds one page, not the night.

    Every metric's score is a mean over the contacts it checked, so the run's score is the pages' scores weighted by
    how many contacts each page checked; failures add up. An error on any page makes the result an error.
    """

    def __init__(self, metric: Metric) -> None:
        self.metric = metric
        self.weighted, self.failures, self.total = 0.0, [], 0
        self.error: Exception | None = None

    def add(self, page: list[EvalItem]) -> list[dict]:
        """Score one page; returns its failures."""
        if self.error is not None:
            return []
        try:
            scored = self.metric._score(page)
        except Exception as exc:  # an error is a failure, reported, not swallowed
            self.error = exc
            return []
        if scored is None or not scored[2]:
            return []
        self.weighted += scored[0] * scored[2]
        self.failures += scored[1]
        self.total += scored[2]
        return scored[1]

    def result(self) -> MetricResult:
        if self.error is not None:
            return self.metric._error(self.error)
        return self.metric._result((self.weighted / self.total, self.failures, self.total) if self.total else None)


def _failing_outputs(items: list[EvalItem], why) -> tuple[list[dict], int] | None:
    """Check every contact that has after-call work: `why(item)` says why it fails, or None.

    Returns (failures, contacts checked), or None when no contact has output to check.
    """
    done = [i for i in items if i.work is not None]
    if not done:
        return None
    failures = [{"id": i.interaction_id, "why": reason} for i in done if (reason := why(i))]
    return failures, len(done)


def _pass_share(checked: tuple[list[dict], int] | None) -> tuple[float, list[dict], int] | None:
    """Score = share of checked contacts that passed."""
    if checked is None:
        return None
    failures, total = checked
    return 1 - len(failures) / total, failures, total


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


def _strings(value: Any) -> Iterator[str]:
    """Every string in an output, however deep: personal data can leak through any field."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, list | tuple):
        for v in value:
            yield from _strings(v)


def _pii_found(findings: list[PiiFinding], *, shown: int = 3) -> str:
    """What was found, value-free: each finding's kind, masked form and rule."""
    why = "; ".join(f.description for f in findings[:shown])
    return why + (f"; and {len(findings) - shown} more" if len(findings) > shown else "")


_PII_COVERED = ("e-mail, phone (any format, spoken digits), payment card, IBAN, bank account, national id, passport, "
                "date of birth, postal address or introduced full name")


class PiiLeakRate(Metric):
    name = "pii_leak_rate"
    direction = "max"
    description = (f"Share of outputs (every field) holding personal data: {_PII_COVERED}; found by a detector "
                   "independent of the redactor.")

    def _score(self, items):
        def leaked(i: EvalItem) -> str | None:
            found = scan("\n".join(_strings(i.work)))
            return "leaked " + _pii_found(found) if found else None

        checked = _failing_outputs(items, leaked)
        if checked is None:
            return None
        failures, total = checked
        return len(failures) / total, failures, total


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
        def ungrounded(i: EvalItem) -> str | None:
            missing = ungrounded_facts(_output_text(i.work), i.transcript)
            return "not in transcript: " + ", ".join(missing) if missing else None

        return _pass_share(_failing_outputs(items, ungrounded))


class PiiInLlmInput(Metric):
    name = "pii_in_llm_input"
    direction = "max"
    description = (f"Share of contacts whose body sent to the LLM still held personal data: {_PII_COVERED}; found by "
                   "a detector independent of the redactor, so a redaction miss shows.")

    def _score(self, items):
        if not items:
            return None
        failures = []
        for i in items:
            found = scan(i.transcript)
            if found:
                failures.append({"id": i.interaction_id, "why": "sent to the LLM: " + _pii_found(found)})
        return len(failures) / len(items), failures, len(items)


class DispositionAccuracy(Metric):
    name = "disposition_accuracy"
    description = "Share of labelled contacts whose disposition code matches the reference disposition."

    def _score(self, items):
        labelled = [i for i in items if i.reference_disposition and i.work is not None]
        if not labelled:
            return None
        failures = [{"id": i.interaction_id,
                     "why": f"disposition {i.work.get('disposition')}, reference {i.reference_disposition}"}
                    for i in labelled if i.work.get("disposition") != i.reference_disposition]
        return 1 - len(failures) / len(labelled), failures, len(labelled)


def _tokens(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower())


def rouge_l(candidate: str, reference: str) -> float:
    """ROUGE-L F1 (longest common subsequence of lower-cased word tokens)."""
    a, b = _tokens(candidate), _tokens(reference)
    if not a or not b:
        return 0.0
    prev = [0] * (len(b) + 1)
    for x in a:
        cur = [0]
        for j, y in enumerate(b):
            cur.append(prev[j] + 1 if x == y else max(prev[j + 1], cur[j]))
        prev = cur
    lcs = prev[-1]
    if lcs == 0:
        return 0.0
    precision, recall = lcs / len(a), lcs / len(b)
    return 2 * precision * recall / (precision + recall)


class RougeL(Metric):
    name = "rouge_l"
    description = "Mean ROUGE-L F1 of summaries against human reference summaries (best reference per contact)."

    def _score(self, items):
        scored = [(i, max(rouge_l(i.work.get("summary", ""), r) for r in i.reference_summaries))
                  for i in items if i.reference_summaries and i.work is not None]
        if not scored:
            return None
        failures = [{"id": i.interaction_id, "why": f"ROUGE-L {s:.2f} against the human summaries"}
                    for i, s in scored if s < self.threshold]
        return sum(s for _, s in scored) / len(scored), failures, len(scored)


class SummaryLength(Metric):
    name = "summary_length"
    description = "Share of summaries within the suite's word limits (min_words..max_words)."

    def _score(self, items):
        lo, hi = int(self.options.get("min_words", 15)), int(self.options.get("max_words", 90))

        def out_of_limits(i: EvalItem) -> str | None:
            n = len(i.work.get("summary", "").split())
            return None if lo <= n <= hi else f"summary of {n} words (limits {lo}-{hi})"

        return _pass_share(_failing_outputs(items, out_of_limits))


# Words that have no place in a note another agent reads about a customer: insults and profanity, and labels that
# judge the person instead of saying what happened ("obnoxious", "went on a rant", "sob story"). Feelings the
# customer showed ("frustrated", "upset", "angry") are what a note should say, and are not here.
_UNPROFESSIONAL = re.compile(
    r"\b(stupid|idiot\w*|dumb|moron\w*|liar|lying|pathetic|ridiculous|useless|lazy|crazy|hate|damn|hell|crap|shit"
    r"\w*|fuck\w*|bitch\w*|rude customer|annoying|whin\w+|karen)\b", re.I)
_JUDGEMENTAL = re.compile(
    r"\b(obnoxious|arrogant|entitled|demanding|difficult (customer|person|caller)|belligerent|hysteric\w*|"
    r"irrational|unreasonabl[ey]|pushy|nasty|snarky|condescending|clueless|ignorant|incompetent|childish|immature|"
    r"petty|manipulative|dishonest|cheapskate|freeloader|troll|nutcase|lunatic|psycho|"
    r"(melo|over|rather |very |so |quite )?dramatic|drama queen|over-?react\w*|tantrum|meltdown|rant(s|ed|ing)?|"
    r"raving|moan(s|ed|ing)?|nag(s|ged|ging)?|"
    r"pester\w*|kicked off|threw a fit|sob story|playing the victim|uncooperative|gullible|irate|"
    r"(kept|keeps) contradicting|could ?n[o']t make up (their|his|her) mind|did ?n[o']t bother|"
    r"refused to listen|would ?n[o']t listen|(yelled|screamed|shouted) at)\b", re.I)


def tone_problems(note: str) -> list[str]:
    """Why a CRM note is not neutral and professional (empty if it is)."""
    problems = [f"unprofessional word {m.group(0)!r}" for m in _UNPROFESSIONAL.finditer(note)]
    problems += [f"judges the customer: {m.group(0)!r}" for m in _JUDGEMENTAL.finditer(note)]
    if note.count("!") >= 2:
        problems.append("exclamation marks")
    shouting = [w for w in re.findall(r"\b[A-Z]{4,}\b", note) if w not in ("CRM", "ACW", "IBAN", "EMAIL", "PHONE")]
    if len(shouting) >= 2:
        problems.append("shouting (all caps)")
    return problems


class CrmNoteTone(Metric):
    name = "crm_note_tone"
    description = "Share of CRM notes that are neutral and professional (no insults, profanity, shouting)."

    def _score(self, items):
        return _pass_share(_failing_outputs(items, lambda i: "; ".join(tone_problems(i.work.get("crm_note", "")))))


class SummaryLanguage(Metric):
    name = "summary_language"
    description = "Share of summaries and CRM notes written in the configured CRM language."

    def _score(self, items):
        want = self.context.get("crm_language", "en")

        def other_language(i: EvalItem) -> str | None:
            for name in ("summary", "crm_note"):
                got, _confidence = detect_language(i.work.get(name, ""))  # None when not confident
                if got is not None and got != want:
                    return f"{name} in {got!r}, CRM language {want!r}"
            return None

        return _pass_share(_failing_outputs(items, other_language))


_stage = logging.getLogger("cx_worker.progress").info  # the run's stage lines (ops.progress), one a judge call


class Faithfulness(Metric):
    name = "faithfulness"
    description = "Mean share of the summary's claims an LLM judge finds supported by the transcript, claim by claim."

    def _score(self, items):
        judge = self.context.get("judge")
        done = [i for i in items if i.work is not None]
        if judge is None or not done:
            return None
        scores, failures, unmeasured = [], [], []
        for n, i in enumerate(done, 1):
            _stage("faithfulness judge: contact %d of %d", n, len(done))
            try:
                verdict = judge(transcript=i.transcript, summary=i.work.get("summary", ""))
            except Exception as exc:  # the judge failing on one item: counted apart, shown, never a zero
                unmeasured.append({"id": i.interaction_id, "why": f"judge failed: {type(exc).__name__}: {exc}"[:300]})
                continue
            scores.append(verdict.score)
            unsupported = [f"{c.claim} ({c.problem})" if c.problem else c.claim
                           for c in verdict.claims if not c.supported]
            if unsupported:
                failures.append({"id": i.interaction_id, "why": "unsupported: " + " | ".join(unsupported)[:400]})
        if not scores:
            return None
        self.context.setdefault("unmeasured", {})[self.name] = unmeasured
        return sum(scores) / len(scores), failures, len(scores)


METRICS: dict[str, type[Metric]] = {m.name: m for m in (
    SchemaValidRate, PiiLeakRate, PiiInLlmInput, Groundedness, Faithfulness, OutcomeAccuracy, DispositionAccuracy,
    RougeL, SummaryLength, SummaryLanguage, CrmNoteTone)}
