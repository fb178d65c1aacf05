"""How much of what a careful reader finds do the automated summary checks catch? Recall per error class and false
alarms, on hand-checked summaries of real dialogs (`evals/datasets/summary_checks.jsonl`, 187 items written and
labelled by someone who never saw the checks; see its `.md`).

Run from the repository root: ``.venv/bin/python -m bench.summary_checks [--checks all] [--split test]``.

Checks (the ones the nightly runs, each as it runs there):
- ``groundedness``: amounts, dates and ids of the summary not in the transcript (`metrics.ungrounded_facts`);
- ``attribution``: an action or statement given to the wrong speaker (`attribution.check_attribution`);
- ``tone``: unprofessional wording (`metrics.tone_problems`, applied to the summary);
- ``language``: the summary not in the CRM language (`ingest.language.detect_language`, English expected);
- ``judge``: the LLM faithfulness judge (`judge.make_judge`, the embedded model unless CX_LLM_BASE_URL is set):
  flagged when any claim is unsupported. Its answers are cached by (template hash, model, item) under
  ``--cache``, so a re-run costs nothing and a changed judge prompt is measured afresh.

Split. Fixed before anything was measured: ``dev`` = sc-001 … sc-060 (for tuning a check), ``test`` = sc-061 …
sc-187 (reported). Recall is over the items carrying a class (an item with two classes counts for both); a
check's "any error" recall is over all erroneous items; false alarms are over the faithful items. Intervals are
Wilson 95%.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections import Counter
from pathlib import Path

from cx_worker.bundled import bundled_path
from cx_worker.governance.attribution import check_attribution
from cx_worker.governance.estimates import wilson_interval
from cx_worker.governance.judge import JudgedClaim, JudgedSummary, make_judge, verify
from cx_worker.governance.metrics import tone_problems, ungrounded_facts
from cx_worker.ingest.language import detect_language
from cx_worker.llm.client import build_llm
from cx_worker.llm.server import llm_endpoint
from cx_worker.models import Interaction
from cx_worker.settings import Settings

CLASSES = ("invented", "misattributed", "omission", "disposition", "tone", "language")
DETERMINISTIC = ("groundedness", "attribution", "tone", "language")
DEV_LAST = 60


def load_items(path: Path | None = None) -> list[dict]:
    path = path or bundled_path("datasets") / "summary_checks.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def split_of(item: dict) -> str:
    return "dev" if int(item["id"].split("-")[1]) <= DEV_LAST else "test"


def interaction(item: dict) -> Interaction:
    return Interaction.model_validate({"id": item["id"], "channel": "chat", "language": "en",
                                       "turns": [{"speaker": t["speaker"], "text": t["text"]} for t in item["turns"]]})


def deterministic(check: str, item: dict) -> str | None:
    """Why the check flags the item, or None."""
    summary, contact = item["summary"], interaction(item)
    if check == "groundedness":
        missing = ungrounded_facts(summary, contact.transcript())
        return f"not in the transcript: {', '.join(missing)}" if missing else None
    if check == "attribution":
        result = check_attribution([(t.speaker, t.text) for t in contact.turns], summary)
        return "; ".join(f.reason for f in result.findings) or None
    if check == "tone":
        return "; ".join(tone_problems(summary)) or None
    if check == "language":
        code, _ = detect_language(summary)
        return f"summary in {code!r}" if code not in (None, "en") else None
    raise ValueError(check)


class JudgeCache:
    """The judge's answers on disk, by template hash, model and item id."""

    def __init__(self, folder: Path, *, template: str, model: str):
        folder.mkdir(parents=True, exist_ok=True)
        self.path = folder / f"judge-{template[:12]}-{model}.jsonl"
        self.answers = {}
        if self.path.exists():
            for line in self.path.read_text(encoding="utf-8").splitlines():
                row = json.loads(line)
                self.answers[row["id"]] = row

    def put(self, row: dict) -> None:
        self.answers[row["id"]] = row
        with self.path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(row) + "\n")


def _flag(claims) -> str | None:
    unsupported = [f"{c.claim} ({c.problem})" for c in claims if not c.supported]
    return ("unsupported: " + " | ".join(unsupported)) if unsupported else None


def reverified(row: dict, item: dict) -> tuple[str | None, str | None]:
    """A cached answer's flags, (model only, checked by today's `verify`): the model's own claims, quotes and
    verdicts are kept, so a change to the checks is measured without asking the model again."""
    claims = row.get("claims") or []
    if not claims or any(c.get("judge_supported") is None for c in claims):
        return row["flag"], row["flag"]
    judged = JudgedSummary(claims=[JudgedClaim(claim=c["claim"], speaker=c["speaker"], evidence=c["evidence"],
                                               supported=c["judge_supported"]) for c in claims])
    model_only = next((f"unsupported: {c['claim']}" for c in claims if not c["judge_supported"]), None)
    return model_only, _flag(verify(judged, interaction(item).transcript()).claims)


def run_judge(items: list[dict], settings: Settings, cache_dir: Path) -> dict[str, str | None]:
    """The judge's flag per item (None: passed), computing what the cache lacks; with `model only` flags under
    the key "judge (model only)" of `run_judge.model_only`."""
    flags: dict[str, str | None] = {}
    run_judge.model_only = {}
    todo = []
    probe = make_judge(build_llm(settings, base_url="http://127.0.0.1:9/v1"))  # template hash only: no call
    cache = JudgeCache(cache_dir, template=probe.template_hash, model=settings.llm_model)
    for item in items:
        if item["id"] in cache.answers:
            run_judge.model_only[item["id"]], flags[item["id"]] = reverified(cache.answers[item["id"]], item)
        else:
            todo.append(item)
    if not todo:
        return flags
    with llm_endpoint(settings) as base_url:
        judge = make_judge(build_llm(settings, base_url=base_url), method=settings.llm_structured_output)
        for n, item in enumerate(todo, 1):
            started = time.perf_counter()
            try:
                verdict = judge(transcript=interaction(item).transcript(), summary=item["summary"])
                row = {"id": item["id"], "flag": _flag(verdict.claims),
                       "claims": [c.model_dump() for c in verdict.claims]}
            except Exception as exc:  # counted as not flagged, and said
                row = {"id": item["id"], "flag": None, "error": f"{type(exc).__name__}: {str(exc)[:200]}"}
            row["seconds"] = round(time.perf_counter() - started, 1)
            cache.put(row)
            run_judge.model_only[item["id"]], flags[item["id"]] = reverified(row, item)
            print(f"  judge {n}/{len(todo)} {item['id']} {row['seconds']} s "
                  f"{'FLAG' if row['flag'] else 'pass'}{' ERROR ' + row['error'] if 'error' in row else ''}  {_load()}",
                  flush=True)
    return flags


def _load() -> str:
    return "load {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())


def _rate(hits: int, n: int) -> str:
    if n == 0:
        return "—"
    low, high = wilson_interval(hits, n)
    return f"{hits}/{n} {hits / n:.2f} [{low:.2f}, {high:.2f}]"


def table(items: list[dict], flags: dict[str, dict[str, str | None]]) -> list[str]:
    """One row per check: recall per class, recall of any error, false alarms on faithful items."""
    lines = [f"{'check':14}" + "".join(f"{c:>24}" for c in (*CLASSES, "any error", "false alarms"))]
    for check, flagged in flags.items():
        cells = []
        for c in CLASSES:
            carrying = [i for i in items if c in i["errors"]]
            cells.append(_rate(sum(bool(flagged[i["id"]]) for i in carrying), len(carrying)))
        wrong = [i for i in items if i["errors"]]
        right = [i for i in items if not i["errors"]]
        cells.append(_rate(sum(bool(flagged[i["id"]]) for i in wrong), len(wrong)))
        cells.append(_rate(sum(bool(flagged[i["id"]]) for i in right), len(right)))
        lines.append(f"{check:14}" + "".join(f"{x:>24}" for x in cells))
    return lines


def _ids(spec: str) -> set[str]:
    """`sc-001,sc-061..sc-073` → the ids named."""
    ids: set[str] = set()
    for part in filter(None, (p.strip() for p in spec.split(","))):
        first, _, last = part.partition("..")
        if not last:
            ids.add(first)
            continue
        prefix = first.rsplit("-", 1)[0]
        low, high = int(first.rsplit("-", 1)[1]), int(last.rsplit("-", 1)[1])
        ids.update(f"{prefix}-{n:03d}" for n in range(low, high + 1))
    return ids


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checks", default="all", help="comma-separated, or all, or deterministic")
    parser.add_argument("--split", choices=("dev", "test", "all"), default="test")
    parser.add_argument("--cache", type=Path, default=Path(".cx/bench/summary_checks"))
    parser.add_argument("--show", action="store_true", help="print each flag with its reason")
    parser.add_argument("--cached-only", action="store_true", help="judge: only the items already answered")
    parser.add_argument("--skip", default="", help="comma-separated item ids to leave out (e.g. items looked at "
                                                   "while tuning), ranges as sc-061..sc-073")
    parser.add_argument("--limit", type=int, help="the first N items of the split (after --skip), in id order")
    args = parser.parse_args(argv)
    checks = {"all": (*DETERMINISTIC, "judge"), "deterministic": DETERMINISTIC}.get(
        args.checks, tuple(args.checks.split(",")))
    skipped = _ids(args.skip)
    items = [i for i in load_items() if (args.split == "all" or split_of(i) == args.split) and i["id"] not in skipped]
    items = items[:args.limit] if args.limit else items
    if args.cached_only:
        probe = make_judge(build_llm(Settings(), base_url="http://127.0.0.1:9/v1"))
        done = JudgeCache(args.cache, template=probe.template_hash, model=Settings().llm_model).answers
        items = [i for i in items if i["id"] in done]
    print(f"{len(items)} items ({args.split}{', skipping ' + args.skip if args.skip else ''}"
          f"{f', first {args.limit}' if args.limit else ''}): {sum(not i['errors'] for i in items)} faithful, "
          f"{dict(Counter(c for i in items for c in i['errors']))}  {_load()}")
    flags: dict[str, dict[str, str | None]] = {}
    for check in checks:
        if check == "judge":
            flags[check] = run_judge(items, Settings(), args.cache)
            flags["judge (model)"] = run_judge.model_only
        else:
            flags[check] = {i["id"]: deterministic(check, i) for i in items}
    if len(checks) > 1:
        used = [f for name, f in flags.items() if name != "judge (model)"]
        flags["any check"] = {i["id"]: next((f[i["id"]] for f in used if f[i["id"]]), None) for i in items}
    for line in table(items, flags):
        print(line)
    if args.show:
        for check, flagged in flags.items():
            for i in items:
                if flagged[i["id"]]:
                    print(f"{check:14} {i['id']} {i['errors'] or 'faithful'}: {flagged[i['id']][:160]}")
    print(_load())


if __name__ == "__main__":
    main()
