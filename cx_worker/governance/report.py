"""The governance report of a run: `report.json`, JUnit XML for CI systems, and a self-contained HTML page
(verdict, metrics against thresholds, worst examples, 30-run trends, regressions since the previous run).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from cx_worker.governance.evaluate import GovernanceReport
from cx_worker.guard.display import clean_text, clean_value
from cx_worker.store import EvalRecord, Store

TREND_RUNS = 30
_env = Environment(loader=PackageLoader("cx_worker.governance", "templates"), undefined=StrictUndefined,
                   autoescape=select_autoescape(["html", "j2"]), trim_blocks=True, lstrip_blocks=True)


def trends(store: Store, *, until_run: str, limit: int = TREND_RUNS) -> dict[str, list[EvalRecord]]:
    """Each metric's score over the last `limit` judged runs up to and including `until_run`, oldest first."""
    out: dict[str, list[EvalRecord]] = {}
    for run_id in store.judged_runs(until_run=until_run, limit=limit):
        for e in store.evals(run_id):
            out.setdefault(e.metric, []).append(e)
    return out


def regressions(store: Store, report: GovernanceReport) -> dict[str, Any]:
    """Metrics that went from pass to fail since the previous run, and items failing now that did not then."""
    prev = store.previous_judged_run(report.run_id)
    if prev is None:
        return {"previous_run": None, "metrics": [], "items": []}
    before = {e.metric: e for e in store.evals(prev)}
    metrics = [
        {"metric": r.metric, "before": before[r.metric].score, "now": r.score}
        for r in report.results
        if r.measured and not r.success and r.metric in before
        and before[r.metric].measured and before[r.metric].success
    ]
    failed_before = {(m, f["id"]) for m, e in before.items() for f in e.details.get("failures", [])}
    items = [
        {"id": f["id"], "metric": r.metric, "why": f["why"]}
        for r in report.results for f in r.details.get("failures", [])
        if (r.metric, f["id"]) not in failed_before
    ]
    return {"previous_run": prev, "metrics": metrics, "items": items}


def _spark(points: list[EvalRecord], *, width: int = 220, height: int = 44) -> dict[str, Any]:
    """An inline-SVG trend line of a metric's scores (with its threshold), no external assets."""
    scores = [p.score for p in points if p.score is not None]
    if not scores:
        return {"path": "", "threshold_y": None, "dots": [], "width": width, "height": height}
    threshold = points[-1].threshold
    lo, hi = min(scores + [threshold]), max(scores + [threshold])
    span = (hi - lo) or 1.0

    def y(v: float) -> float:
        return round(height - 4 - (v - lo) / span * (height - 8), 1)

    n = max(len(points) - 1, 1)
    dots = [{"x": round(4 + i * (width - 8) / n, 1), "y": y(p.score), "ok": p.success,
             "title": f"{p.run_id}: {p.score:.3f}"} for i, p in enumerate(points) if p.score is not None]
    path = " ".join(f"{'M' if i == 0 else 'L'}{d['x']},{d['y']}" for i, d in enumerate(dots))
    return {"path": path, "threshold_y": y(threshold), "dots": dots, "width": width, "height": height}


def junit_xml(report: GovernanceReport) -> str:
    """One test case per metric: failure on a breach, skipped when not measured."""
    data = clean_value(report.as_dict())
    failures = sum(1 for m in data["metrics"] if m["measured"] and not m["success"])
    suite = ET.Element("testsuite", name=f"cx-worker governance {data['suite']}", tests=str(len(data["metrics"])),
                       failures=str(failures), skipped=str(len(data["not_measured"])), errors="0")
    props = ET.SubElement(suite, "properties")
    for k in ("run_id", "verdict", "thresholds_sha256"):
        ET.SubElement(props, "property", name=k, value=str(data[k]))
    for m in data["metrics"]:
        case = ET.SubElement(suite, "testcase", classname=f"governance.{data['suite']}", name=m["metric"])
        if not m["measured"]:
            ET.SubElement(case, "skipped", message=m["reason"])
        elif not m["success"]:
            fail = ET.SubElement(case, "failure", message=m["reason"], type="threshold" if m["gate"] else "advisory")
            fail.text = "\n".join(f"{f['id']}: {f['why']}" for f in m["details"].get("failures", [])[:50])
    return ET.tostring(suite, encoding="unicode", xml_declaration=True)


def write_report(
    report: GovernanceReport, folder: Path, *, store: Store, extra: dict[str, Any] | None = None
) -> dict[str, Path]:
    """Write `report.json`, `junit.xml` and `report.html` into `folder`; returns their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    data = report.as_dict()
    data["regressions"] = regressions(store, report)
    history = trends(store, until_run=report.run_id)
    data["trends"] = {m: [{"run_id": p.run_id, "score": p.score, "success": p.success}
                          for p in pts] for m, pts in history.items()}
    data.update(extra or {})
    # Transcripts, answers and failure reasons quote customers: no control characters, terminal escapes or bidi
    # and zero-width tricks reach a file a person opens (`guard.display`).
    data = clean_value(json.loads(json.dumps(data, default=str)))
    paths = {"json": folder / "report.json", "junit": folder / "junit.xml", "html": folder / "report.html"}
    paths["json"].write_text(json.dumps(data, indent=2) + "\n")
    paths["junit"].write_text(junit_xml(report) + "\n")
    paths["html"].write_text(clean_text(_env.get_template("report.html.j2").render(
        report=data, worst=clean_value([r for r in report.items if r["failures"]][:10]), run=clean_value(report.run),
        sparks={m: _spark(pts) for m, pts in history.items()}, extra=extra or {},
    )))
    return paths
