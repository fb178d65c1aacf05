"""What ops see of a run at its end: the summary (the `nightly --json` contract, the console text, the Prefect
artifact)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cx_worker.drafting.questions import Question, tally
from cx_worker.governance.evaluate import GovernanceReport
from cx_worker.governance.review import review_queue
from cx_worker.ingest.pull import Pulled
from cx_worker.store import Store


def run_summary(
    run_id: str, *, pulled: Pulled, drafted: Counter, outcomes: Counter, notes: Counter, report: GovernanceReport,
    report_html: Path, store: Store, questions: tuple[Question, ...] = (), retried: int = 0,
) -> dict[str, Any]:
    """The run's summary: the contract of `cx-worker nightly --json`, plus what ops watch (rates, time, tokens)."""
    quarantined = len(store.quarantined(run_id=run_id))
    usage = store.run_usage(run_id)
    run = store.run(run_id)
    started = datetime.fromisoformat(run.started_at) if run else datetime.now(UTC)
    total = sum(outcomes.values())
    queue = Counter(item.kind for item in review_queue(store))
    return {
        "run_id": run_id,
        "read": pulled.read,
        "new": pulled.new,
        "skipped": pulled.skipped,
        "written": notes.get("delivered", 0) + notes.get("held", 0) + notes.get("failed", 0),
        "delivered": notes.get("delivered", 0),
        "held": notes.get("held", 0),
        "failed_delivery": notes.get("failed", 0),
        "quarantined": quarantined,
        "drafted": dict(drafted),
        "outcomes": dict(outcomes),
        "eval": {"verdict": report.verdict, **report.scores()},
        "report_html": str(report_html.resolve()),
        "outcome_rates": {k: round(v / total, 3) for k, v in sorted(outcomes.items())} if total else {},
        "tokens": {"prompt": usage.prompt, "completion": usage.completion, "llm_calls": usage.calls},
        "llm_seconds": round(usage.llm_seconds, 1),
        "seconds": round((datetime.now(UTC) - started).total_seconds(), 1),
        "review_backlog": sum(queue.values()),  # what `cx-worker review list` lists
        "review_queue": {"audit": queue.get("audit", 0), "low_confidence": queue.get("low_confidence", 0)},
        "questions": _question_tally(store, run_id, questions),
        "accounting": accounting(run_id, pulled=pulled, store=store, retried=retried),
    }


def accounting(run_id: str, *, pulled: Pulled, store: Store, retried: int = 0) -> dict[str, Any]:
    """Where every contact of the night went: read from the source plus taken from the retry queue equals already
    done, written, quarantined for good, and waiting for a retry. `balanced` says the books close (a contact left
    `pending` would be one the night lost)."""
    statuses = store.run_statuses(run_id)
    unprepared = sum(1 for q in store.quarantined(run_id=run_id) if q.stage == "prepare")
    books = {"read": pulled.read, "retried": retried, "already_done": pulled.skipped,
             "written": statuses.get("done", 0),
             "quarantined": pulled.rejected + unprepared + statuses.get("acw_failed", 0),
             "waiting_for_retry": statuses.get("awaiting_retry", 0), "unfinished": statuses.get("pending", 0)}
    books["balanced"] = (books["read"] + retried == books["already_done"] + books["written"] + books["quarantined"]
                         + books["waiting_for_retry"] and not books["unfinished"])
    return books


def _question_tally(store: Store, run_id: str, questions: tuple[Question, ...]) -> dict[str, Any]:
    """The ops team's custom questions answered across this run's contacts."""
    if not questions:
        return {}
    return tally([w.output.answers or {} for w in store.run_works(run_id)], questions)


def summary_text(summary: dict[str, Any]) -> str:
    """The summary as ops read it at the end of a run."""
    ev = summary["eval"]
    scores = ", ".join(f"{k} {v:.3f}" if isinstance(v, float) else f"{k} n/a" for k, v in ev.items() if k != "verdict")
    outcomes = ", ".join(f"{k} {v}" for k, v in sorted(summary["outcomes"].items())) or "none"
    lines = [
        f"cx-worker nightly run {summary['run_id']}",
        f"  contacts read {summary['read']} (new {summary['new']}, already done {summary['skipped']}), "
        f"notes written {summary['written']} (delivered {summary['delivered']}, held {summary['held']}"
        f"{', delivery failed ' + str(summary['failed_delivery']) if summary.get('failed_delivery') else ''}), "
        f"quarantined {summary['quarantined']}",
        f"  outcomes: {outcomes}" + (f"; review backlog {summary['review_backlog']}{_queue_text(summary)}"
                                      if summary.get("review_backlog") is not None else ""),
        f"  eval verdict: {_VERDICTS.get(ev['verdict'], ev['verdict'].upper())} ({scores})",
        f"  governance report: {summary['report_html']}",
        f"  run time {summary['seconds']:.0f} s (LLM {summary['llm_seconds']:.0f} s), "
        f"{summary['tokens']['llm_calls']} LLM calls, tokens {summary['tokens']['prompt']} in / "
        f"{summary['tokens']['completion']} out",
    ]
    if books := summary.get("accounting"):
        lines.append(f"  accounted for: read {books['read']}" + (f" + retried {books['retried']}" if books["retried"]
                                                                 else "")
                     + f" = already done {books['already_done']} + written {books['written']} + quarantined "
                       f"{books['quarantined']} + waiting for retry {books['waiting_for_retry']}"
                     + ("" if books["balanced"] else f"  (DOES NOT BALANCE: {books['unfinished']} unfinished)"))
    if estimates := summary.get("estimates"):
        lines.append("  " + _estimates_text(estimates, summary.get("audit") or {}))
    for qid, t in (summary.get("questions") or {}).items():
        counts = ", ".join(f"{k} {v}" for k, v in t.get("counts", {}).items()) or f"mean {t.get('mean')}"
        lines.append(f"  question {qid}: {counts}")
    if summary["held"]:
        lines.append(f"  write-back HELD: review the report, then `cx-worker release {summary['run_id']} --by NAME "
                     f"--reason TEXT`")
    return "\n".join(lines)


def _queue_text(summary: dict[str, Any]) -> str:
    queue = summary.get("review_queue")
    if not queue:
        return ""
    return (f" (audit sample {queue['audit']}, low confidence or flagged {queue['low_confidence']}: "
            "`cx-worker review list`)")


_VERDICTS = {"pass": "PASS", "breach": "BREACH", "insufficient": "INSUFFICIENT EVIDENCE"}


def _estimates_text(estimates: dict[str, Any], audit: dict[str, Any]) -> str:
    """Tonight's outcome rates as read off the classifier and as corrected by the people's audits."""
    parts = []
    for name, e in estimates.items():
        label = name.removesuffix("_rate")
        if e["raw"] is None:  # no contact tonight was given this outcome
            continue
        if e["corrected"] is None:
            parts.append(f"{label} {e['raw']:.2f} raw")
        else:
            parts.append(f"{label} {e['raw']:.2f} raw, {e['corrected']:.2f} corrected (90% {e['low']:.2f}-"
                         f"{e['high']:.2f})")
    first = next(iter(estimates.values()), {})
    head = (f"trust: {audit.get('drawn', 0)} contacts drawn for audit tonight, {first.get('n_audits', 0)} verdicts "
            f"in the window")
    if audit.get("outstanding"):
        head += f", {audit['outstanding']} waiting (cx-worker review)"
    if any(e["corrected"] is not None for e in estimates.values()):
        return head + "; " + "; ".join(parts)
    return (head + "; " + "; ".join(parts) + f" (not corrected: not enough audits ({first.get('n_audits', 0)} of "
            f"{first.get('n_required') or '?'}))")


def summary_markdown(summary: dict[str, Any], report) -> str:
    """The Prefect markdown artifact of a run."""
    rows = "\n".join(
        f"| {r.metric} | {'—' if r.score is None else f'{r.score:.3f}'} | "
        f"{'≥' if r.direction == 'min' else '≤'} {r.threshold} | "
        f"{('pass' if r.success else '**FAIL**') if r.measured else 'not measured'} |"
        for r in report.results
    )
    return (
        f"# cx-worker nightly {summary['run_id']}\n\n**Verdict: {report.verdict.upper()}**\n\n"
        f"```\n{summary_text(summary)}\n```\n\n| metric | score | threshold | result |\n|---|---|---|---|\n{rows}\n"
    )
