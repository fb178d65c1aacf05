"""Governance: judge a run's stored outputs with a suite of metrics and thresholds, and give the verdict.

The suite file belongs to the AI-governance leads; its sha256 (and git version, when in a repository) is printed in
every report, so a verdict can be traced to the exact file that gave it. Evals read stored results only: any past
run can be re-judged with a new suite file.
"""

from __future__ import annotations

import hashlib
import heapq
import json
import subprocess
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from cx_worker.governance.attribution import Attribution
from cx_worker.governance.evidence import BOUNDS, evidence_result, is_evidence_metric
from cx_worker.governance.metrics import METRICS as _BUILT_IN
from cx_worker.governance.metrics import EvalItem, MetricResult, Tally
from cx_worker.governance.trust import AUDIT_JUDGES
from cx_worker.models import Interaction
from cx_worker.store import EvalRow, Store

_RESERVED = {"min", "max", "weight", "gate", "sample", "on", "min_n"}

# Every metric a suite can name: the ones of `metrics`, and the checks that live in their own module.
METRICS = {**_BUILT_IN, Attribution.name: Attribution}


@dataclass(frozen=True)
class MetricSpec:
    name: str
    threshold: float
    weight: float = 1.0
    gate: bool = True
    sample: int | None = None
    options: dict[str, Any] = field(default_factory=dict)
    direction: str = "min"
    on: str = "value"  # evidence metrics: which number is compared (value, lower or upper bound)
    min_n: int = 30  # evidence metrics: audits needed before the gate decides

    @property
    def evidence(self) -> bool:
        """Judged on the people's audits (`evidence`), not on the run's outputs."""
        return is_evidence_metric(self.name)


@dataclass(frozen=True)
class Suite:
    name: str
    path: Path
    sha256: str
    git_version: str | None
    metrics: tuple[MetricSpec, ...]
    hold_on_insufficient: bool = False  # hold write-back when a gate lacks evidence (default: only on a breach)

    def needs_judge(self) -> bool:
        return any(m.name == "faithfulness" for m in self.metrics)


@dataclass(frozen=True)
class References:
    """Reference data the accuracy metrics compare against (labels never shown to a model)."""

    outcomes: dict[str, str] = field(default_factory=dict)
    summaries: dict[str, tuple[str, ...]] = field(default_factory=dict)
    disposition_map: dict[str, str] = field(default_factory=dict)

    def disposition(self, interaction: Interaction) -> str | None:
        """ABCD contacts: the disposition their subflow maps to (longest matching prefix)."""
        subflow = interaction.metadata.get("subflow")
        if not subflow or not self.disposition_map:
            return None
        key = f"{interaction.queue}/{subflow}"
        matches = [p for p in self.disposition_map if key.startswith(p)]
        return self.disposition_map[max(matches, key=len)] if matches else None


@dataclass
class GovernanceReport:
    run_id: str
    verdict: str  # "pass" | "breach" | "insufficient" (a gate without enough evidence, none breached)
    suite: Suite
    results: list[MetricResult]
    outcomes: dict[str, int]
    contacts: int
    items: list[dict[str, Any]] = field(default_factory=list)
    run: dict[str, Any] = field(default_factory=dict)
    unmeasured_items: dict[str, list[dict]] = field(default_factory=dict)

    def scores(self) -> dict[str, float | None]:
        return {r.metric: r.score for r in self.results}

    def weighted_score(self) -> float | None:
        """Weight of the passing measured metrics over the weight of all measured ones."""
        weights = {m.name: m.weight for m in self.suite.metrics}
        measured = [r for r in self.results if r.measured]
        total = sum(weights[r.metric] for r in measured)
        return round(sum(weights[r.metric] for r in measured if r.success) / total, 4) if total else None

    def as_dict(self) -> dict[str, Any]:
        gates = {m.name: m.gate for m in self.suite.metrics}
        return {
            "run_id": self.run_id,
            "verdict": self.verdict,
            "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "suite": self.suite.name,
            "thresholds_file": str(self.suite.path),
            "thresholds_sha256": self.suite.sha256,
            "thresholds_git_version": self.suite.git_version,
            "contacts": self.contacts,
            "outcomes": self.outcomes,
            "weighted_score": self.weighted_score(),
            "metrics": [r.as_dict() | {"gate": gates.get(r.metric, True)} for r in self.results],
            "not_measured": [r.metric for r in self.results if not r.measured],
            "unmeasured_items": self.unmeasured_items,
        }


def load_suite(path: Path) -> Suite:
    """Read a governance suite file; an unknown metric or a missing threshold is an error, never ignored."""
    raw = path.read_bytes()
    data = yaml.safe_load(raw) or {}
    specs = []
    for name, spec in (data.get("metrics") or {}).items():
        spec = dict(spec or {})
        if True in spec:  # YAML 1.1 reads a bare `on:` key as the boolean true
            spec["on"] = spec.pop(True)
        if name in METRICS:
            key = METRICS[name].direction
            if key not in spec:
                raise ValueError(f"{path}: metric {name!r} needs a {key!r} threshold")
        elif is_evidence_metric(name):
            keys = [k for k in ("min", "max") if k in spec]
            if len(keys) != 1:
                raise ValueError(f"{path}: evidence metric {name!r} needs one of min or max")
            key = keys[0]
            if spec.get("on", "value") not in BOUNDS:
                raise ValueError(f"{path}: metric {name!r}: on must be one of {', '.join(BOUNDS)}")
        else:
            raise ValueError(f"{path}: unknown metric {name!r}; known: {', '.join(sorted(METRICS))}, and the "
                             "evidence metrics of cx_worker.governance.evidence")
        specs.append(MetricSpec(
            name=name, threshold=float(spec[key]), weight=float(spec.get("weight", 1.0)),
            gate=bool(spec.get("gate", True)), sample=spec.get("sample"),
            options={k: v for k, v in spec.items() if k not in _RESERVED}, direction=key,
            on=str(spec.get("on", "value")), min_n=int(spec.get("min_n", 30)),
        ))
    if not specs:
        raise ValueError(f"{path}: the suite names no metrics")
    return Suite(name=str(data.get("name", path.stem)), path=path, sha256=hashlib.sha256(raw).hexdigest(),
                 git_version=_git_version(path), metrics=tuple(specs),
                 hold_on_insufficient=bool(data.get("hold_on_insufficient", False)))


def _git_version(path: Path) -> str | None:
    """The last commit that changed the file, and whether the working copy differs from it."""
    try:
        cwd = path.resolve().parent
        commit = subprocess.run(["git", "log", "-1", "--format=%h %cs", "--", path.name], cwd=cwd,
                                capture_output=True, text=True, timeout=5).stdout.strip()
        dirty = subprocess.run(["git", "diff", "--quiet", "HEAD", "--", path.name], cwd=cwd,
                               capture_output=True, timeout=5).returncode == 1
    except (OSError, subprocess.SubprocessError):
        return None
    return (commit + (" (modified)" if dirty else "")) if commit else None


def load_references(*, labels: Path | None, summaries: Path | None, dispositions: Path | None) -> References:
    """Read the labelled slices (missing files simply give no references)."""
    outcomes, refs = {}, {}
    for row in _jsonl(labels):
        outcomes[row["id"]] = row["label"]
    for row in _jsonl(summaries):
        refs[row["id"]] = tuple(row["summaries"])
    mapping = yaml.safe_load(dispositions.read_text()) if dispositions and dispositions.exists() else {}
    return References(outcomes=outcomes, summaries=refs, disposition_map=mapping or {})


def _jsonl(path: Path | None) -> list[dict]:
    if path is None or not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def eval_pages(run_id: str, *, store: Store, references: References, page: int = 500) -> Iterator[list[EvalItem]]:
    """The run's contacts as metric inputs, `page` at a time, in id order: one query per page."""
    failures = {q.interaction_id: q.reason for q in store.quarantined(run_id=run_id)
                if q.stage == "after_call_work" and q.interaction_id}
    for rows in store.run_eval_rows(run_id, page=page):
        yield [_item(row, failures=failures, references=references) for row in rows]


def _item(row: EvalRow, *, failures: dict[str, str], references: References) -> EvalItem:
    iid = row.interaction_id
    interaction = row.redacted
    work = None if row.status == "acw_failed" else row.work
    return EvalItem(
        interaction_id=iid,
        transcript=interaction.transcript(),
        work=work,
        error=failures.get(iid, "no after-call work stored") if work is None else None,
        outcome=row.outcome,
        reference_outcome=references.outcomes.get(iid),
        reference_disposition=references.disposition(interaction),
        reference_summaries=references.summaries.get(iid, ()),
    )


def _sample_ids(ids: list[str], n: int | None, *, also: set[str] = frozenset()) -> set[str] | None:
    """A deterministic sample of a run's contacts, for costly metrics: the same contacts are picked whenever they are
    in a batch (re-judging a night judges the same ones), and nights differ because their contacts do; plus the
    audited contacts (`also`), so every judge's call on them can be checked against the people's. None: all."""
    if n is None or len(ids) <= n:
        return None
    return set(sorted(ids, key=lambda i: hashlib.sha256(i.encode()).hexdigest())[:n]) | (also & set(ids))


def _has_work(store: Store, iid: str) -> bool:
    return (contact := store.contact(iid)) is not None and contact.status != "acw_failed" and \
        store.latest_acw(iid) is not None


def _judge_calls(results: list[MetricResult], audited: set[str], *, sampled: dict[str, list[EvalItem]],
                 tallied: set[str], with_work: set[str], unmeasured: dict[str, list[dict]]
                 ) -> dict[str, dict[str, tuple[bool, str]]]:
    """Each automated judge's call on each audited contact it judged: {contact: {metric: (flagged, why)}}."""
    calls: dict[str, dict[str, tuple[bool, str]]] = {}
    for r in results:
        if r.metric not in AUDIT_JUDGES or not r.measured:
            continue
        failed = {f["id"]: f["why"] for f in r.details.get("failures", [])}
        skipped = {u["id"] for u in unmeasured.get(r.metric, [])}
        judged = with_work if r.metric in tallied else {i.interaction_id for i in sampled.get(r.metric, [])
                                                         if i.work is not None}
        for iid in (judged & audited) - skipped:
            calls.setdefault(iid, {})[r.metric] = (iid in failed, failed.get(iid, ""))
    return calls


_WORST = 100  # contacts kept for the report's worst examples


def _report_row(item: EvalItem, failures: list[str]) -> dict[str, Any]:
    return {"id": item.interaction_id, "transcript": item.transcript, "work": item.work, "outcome": item.outcome,
            "reference": item.reference_outcome, "failures": failures}


def evaluate(
    run_id: str, *, store: Store, suite: Suite, references: References, context: dict[str, Any] | None = None
) -> GovernanceReport:
    """Run every metric of the suite over a stored run, store the results and give the verdict.

    The verdict is `breach` if any measured gating metric misses its threshold. Metrics that could not measure
    are listed apart and never count towards the verdict.
    """
    context = dict(context or {})
    ids = store.run_contact_ids(run_id)
    audited = set(context.get("audited") or ())  # the night's audit sample: every judge judges it
    evidence = [spec for spec in suite.metrics if spec.evidence]
    metrics = [(spec, METRICS[spec.name](spec.threshold, context=context, **spec.options))
               for spec in suite.metrics if not spec.evidence]
    samples = {spec.name: _sample_ids(ids, spec.sample, also=audited) for spec, _ in metrics}
    tallies = {spec.name: Tally(metric) for spec, metric in metrics if samples[spec.name] is None}
    sampled: dict[str, list[EvalItem]] = {name: [] for name, chosen in samples.items() if chosen is not None}
    outcomes: Counter = Counter()
    worst: list[tuple[int, int, dict]] = []  # a heap of the most-failing contacts, for the report
    for n, page in enumerate(eval_pages(run_id, store=store, references=references)):
        failed_by: dict[str, list[str]] = {}
        for name, tally in tallies.items():
            for f in tally.add(page):
                failed_by.setdefault(f["id"], []).append(f"{name}: {f['why']}")
        for name in sampled:
            sampled[name] += [i for i in page if i.interaction_id in samples[name]]
        outcomes.update(i.outcome for i in page if i.outcome)
        for k, i in enumerate(page):
            row = _report_row(i, failed_by.get(i.interaction_id, []))
            heapq.heappush(worst, (len(row["failures"]), -(n * 1_000_000 + k), row))
            if len(worst) > _WORST:
                heapq.heappop(worst)
    results = [tallies[spec.name].result() if spec.name in tallies else metric.measure(sampled[spec.name])
               for spec, metric in metrics]
    lacking = set()
    for spec in evidence:
        result, short = evidence_result(spec.name, threshold=spec.threshold, direction=spec.direction, on=spec.on,
                                        min_n=spec.min_n, trust=context.get("trust"))
        results.append(result)
        if short:
            lacking.add(spec.name)
    for r in results:
        store.put_eval(run_id, r.as_dict())
    if audited:
        store.put_judgements(run_id, _judge_calls(results, audited, sampled=sampled, tallied=set(tallies),
                                                  with_work={i for i in audited if _has_work(store, i)},
                                                  unmeasured=context.get("unmeasured", {})))
    gates = {m.name: m.gate for m in suite.metrics}
    if not all(r.success for r in results if r.measured and gates[r.metric]):
        verdict = "breach"
    elif any(gates[name] for name in lacking):
        verdict = "insufficient"
    else:
        verdict = "pass"
    rows = [row for _, _, row in sorted(worst, key=lambda w: (-w[0], -w[1]))]
    by_id = {row["id"]: row for row in rows}
    for r in results:
        if r.metric in sampled:  # the sampled metrics' failures, on the rows of the contacts they judged
            judged = {i.interaction_id: i for i in sampled[r.metric]}
            for f in r.details.get("failures", []):
                if f["id"] not in by_id:
                    by_id[f["id"]] = _report_row(judged[f["id"]], [])
                    rows.append(by_id[f["id"]])
                by_id[f["id"]]["failures"].append(f"{r.metric}: {f['why']}")
    rows.sort(key=lambda row: -len(row["failures"]))
    return GovernanceReport(
        run_id=run_id, verdict=verdict, suite=suite, results=results,
        outcomes=dict(outcomes), contacts=len(ids), items=rows,
        run=run.model_dump() if (run := store.run(run_id)) else {}, unmeasured_items=context.get("unmeasured", {}),
    )
