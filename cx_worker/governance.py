"""Governance: judge a run's stored outputs with a suite of metrics and thresholds, and give the verdict.

The suite file belongs to the AI-governance leads; its sha256 (and git version, when in a repository) is printed in
every report, so a verdict can be traced to the exact file that gave it. Evals read stored results only: any past
run can be re-judged with a new suite file.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import yaml

from cx_worker.metrics import METRICS, EvalItem, MetricResult
from cx_worker.models import Interaction
from cx_worker.store import Store

_RESERVED = {"min", "max", "weight", "gate", "sample"}


@dataclass(frozen=True)
class MetricSpec:
    name: str
    threshold: float
    weight: float = 1.0
    gate: bool = True
    sample: int | None = None
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Suite:
    name: str
    path: Path
    sha256: str
    git_version: str | None
    metrics: tuple[MetricSpec, ...]

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
    verdict: str  # "pass" | "breach"
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
            "generated_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
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
        if name not in METRICS:
            raise ValueError(f"{path}: unknown metric {name!r}; known: {', '.join(sorted(METRICS))}")
        key = METRICS[name].direction
        if key not in (spec or {}):
            raise ValueError(f"{path}: metric {name!r} needs a {key!r} threshold")
        specs.append(MetricSpec(
            name=name, threshold=float(spec[key]), weight=float(spec.get("weight", 1.0)),
            gate=bool(spec.get("gate", True)), sample=spec.get("sample"),
            options={k: v for k, v in spec.items() if k not in _RESERVED},
        ))
    if not specs:
        raise ValueError(f"{path}: the suite names no metrics")
    return Suite(name=str(data.get("name", path.stem)), path=path, sha256=hashlib.sha256(raw).hexdigest(),
                 git_version=_git_version(path), metrics=tuple(specs))


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


def eval_items(run_id: str, *, store: Store, references: References) -> list[EvalItem]:
    """The run's contacts, with their stored outputs, as metric inputs."""
    failures = {}
    for q in store.quarantined(run_id=run_id):
        if q["stage"] == "after_call_work" and q["interaction_id"]:
            failures[q["interaction_id"]] = q["reason"]
    items = []
    for contact in store.run_contacts(run_id):
        iid = contact["interaction_id"]
        interaction = Interaction.model_validate(contact["redacted"])
        failed = contact["status"] == "acw_failed"
        acw = None if failed else store.latest_acw(iid)
        outcome = store.outcome(iid)
        items.append(EvalItem(
            interaction_id=iid,
            transcript=interaction.transcript(),
            work=acw["output"] if acw else None,
            error=failures.get(iid, "no after-call work stored") if failed or acw is None else None,
            outcome=outcome["label"] if outcome else None,
            reference_outcome=references.outcomes.get(iid),
            reference_disposition=references.disposition(interaction),
            reference_summaries=references.summaries.get(iid, ()),
        ))
    return items


def _sample(items: list[EvalItem], n: int | None) -> list[EvalItem]:
    """A deterministic sample of a run's items, for costly metrics: the same contacts are picked whenever they are
    in a batch (re-judging a night judges the same ones), and nights differ because their contacts do."""
    if n is None or len(items) <= n:
        return items
    return sorted(items, key=lambda i: hashlib.sha256(i.interaction_id.encode()).hexdigest())[:n]


def evaluate(
    run_id: str, *, store: Store, suite: Suite, references: References, context: dict[str, Any] | None = None
) -> GovernanceReport:
    """Run every metric of the suite over a stored run, store the results and give the verdict.

    The verdict is `breach` if any measured gating metric misses its threshold. Metrics that could not measure
    are listed apart and never count towards the verdict.
    """
    context = dict(context or {})
    items = eval_items(run_id, store=store, references=references)
    results = []
    for spec in suite.metrics:
        metric = METRICS[spec.name](spec.threshold, context=context, **spec.options)
        results.append(metric.measure(_sample(items, spec.sample)))
    for r in results:
        store.put_eval(run_id, r.as_dict())
    gates = {m.name: m.gate for m in suite.metrics}
    verdict = "pass" if all(r.success for r in results if r.measured and gates[r.metric]) else "breach"
    failed_by: dict[str, list[str]] = {}
    for r in results:
        for f in r.details.get("failures", []):
            failed_by.setdefault(f["id"], []).append(f"{r.metric}: {f['why']}")
    rows = [{"id": i.interaction_id, "transcript": i.transcript, "work": i.work, "outcome": i.outcome,
             "reference": i.reference_outcome, "failures": failed_by.get(i.interaction_id, [])} for i in items]
    rows.sort(key=lambda r: -len(r["failures"]))
    return GovernanceReport(
        run_id=run_id, verdict=verdict, suite=suite, results=results,
        outcomes=dict(Counter(i.outcome for i in items if i.outcome)), contacts=len(items), items=rows,
        run=store.run(run_id) or {}, unmeasured_items=context.get("unmeasured", {}),
    )
