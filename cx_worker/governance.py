"""Governance: judge a run's stored outputs against the thresholds file and write the report.

The thresholds file belongs to the AI-governance leads; its content hash is printed in every report so a verdict
can be traced to the exact file version that gave it. Evals read stored results only: any past run can be
re-judged with a new thresholds file.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import yaml
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from cx_worker.metrics import METRICS, EvalItem, MetricResult
from cx_worker.models import Interaction
from cx_worker.store import Store


@dataclass
class Thresholds:
    path: Path
    sha256: str
    metrics: dict[str, float]


@dataclass
class GovernanceReport:
    run_id: str
    verdict: str  # "pass" | "breach"
    thresholds: Thresholds
    results: list[MetricResult]
    outcomes: dict[str, int]
    contacts: int
    items: list[dict[str, Any]] = field(default_factory=list)
    run: dict[str, Any] = field(default_factory=dict)

    def scores(self) -> dict[str, float | None]:
        return {r.metric: r.score for r in self.results}

    def as_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "verdict": self.verdict,
            "generated_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "thresholds_file": str(self.thresholds.path),
            "thresholds_sha256": self.thresholds.sha256,
            "contacts": self.contacts,
            "outcomes": self.outcomes,
            "metrics": [r.as_dict() for r in self.results],
            "not_measured": [r.metric for r in self.results if not r.measured],
        }


def load_thresholds(path: Path) -> Thresholds:
    """Read the governance thresholds file; unknown metric names are an error, not ignored."""
    raw = path.read_bytes()
    data = yaml.safe_load(raw) or {}
    metrics = {}
    for name, spec in (data.get("metrics") or {}).items():
        if name not in METRICS:
            raise ValueError(f"{path}: unknown metric {name!r}; known: {', '.join(sorted(METRICS))}")
        key = METRICS[name].direction
        if key not in spec:
            raise ValueError(f"{path}: metric {name!r} needs a {key!r} threshold")
        metrics[name] = float(spec[key])
    return Thresholds(path=path, sha256=hashlib.sha256(raw).hexdigest(), metrics=metrics)


def load_reference_labels(path: Path | None) -> dict[str, str]:
    """id -> reference outcome label, from a labels JSONL file (missing file: no labels)."""
    if path is None or not path.exists():
        return {}
    labels = {}
    for line in path.read_text().splitlines():
        if line.strip():
            row = json.loads(line)
            labels[row["id"]] = row["label"]
    return labels


def eval_items(run_id: str, *, store: Store, references: dict[str, str]) -> list[EvalItem]:
    """The run's contacts, with their stored outputs, as metric inputs."""
    items = []
    for contact in store.run_contacts(run_id):
        iid = contact["interaction_id"]
        transcript = Interaction.model_validate(contact["redacted"]).transcript()
        acw = store.latest_acw(iid)
        outcome = store.outcome(iid)
        failure = next((q["reason"] for q in reversed(store.quarantined(run_id=run_id))
                        if q["interaction_id"] == iid), None)
        items.append(EvalItem(
            interaction_id=iid,
            transcript=transcript,
            work=acw["output"] if acw and contact["status"] != "acw_failed" else None,
            error=failure if contact["status"] == "acw_failed" else None,
            outcome=outcome["label"] if outcome else None,
            reference_outcome=references.get(iid),
        ))
    return items


def evaluate(run_id: str, *, store: Store, thresholds: Thresholds, references: dict[str, str]) -> GovernanceReport:
    """Run every metric of the thresholds file over a stored run and store the results."""
    items = eval_items(run_id, store=store, references=references)
    results = [METRICS[name](threshold).measure(items) for name, threshold in thresholds.metrics.items()]
    for r in results:
        store.put_eval(run_id, r.as_dict())
    verdict = "pass" if all(r.success for r in results if r.measured) else "breach"
    failed_by = {}
    for r in results:
        for f in r.details.get("failures", []):
            failed_by.setdefault(f["id"], []).append(f"{r.metric}: {f['why']}")
    rows = []
    for i in items:
        rows.append({
            "id": i.interaction_id, "transcript": i.transcript, "work": i.work, "outcome": i.outcome,
            "reference": i.reference_outcome, "failures": failed_by.get(i.interaction_id, []),
        })
    rows.sort(key=lambda r: -len(r["failures"]))
    return GovernanceReport(
        run_id=run_id, verdict=verdict, thresholds=thresholds, results=results,
        outcomes=dict(Counter(i.outcome for i in items if i.outcome)), contacts=len(items),
        items=rows, run=store.run(run_id) or {},
    )


_env = Environment(loader=PackageLoader("cx_worker", "templates"), undefined=StrictUndefined,
                   autoescape=select_autoescape(["html", "j2"]), trim_blocks=True, lstrip_blocks=True)


def write_report(report: GovernanceReport, folder: Path) -> tuple[Path, Path]:
    """Write `report.json` and a self-contained `report.html` into `folder`; returns both paths."""
    folder.mkdir(parents=True, exist_ok=True)
    data = report.as_dict()
    json_path = folder / "report.json"
    json_path.write_text(json.dumps(data, indent=2) + "\n")
    html_path = folder / "report.html"
    html_path.write_text(_env.get_template("report.html.j2").render(
        report=data, worst=[r for r in report.items if r["failures"]][:10], run=report.run,
    ))
    return json_path, html_path
