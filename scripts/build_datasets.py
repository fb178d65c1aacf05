"""Build the bundled contacts and the eval/exemplar datasets from the public data in ../shared/data.

    .venv/bin/python scripts/build_datasets.py --shared /work/shared/data

Deterministic: the same input and seed give byte-identical files. Writes data/contacts/{sample.jsonl,LICENSES.md}
and evals/datasets/{labels,references,exemplars}.jsonl and README.md; prints label counts per source and file.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cx_worker.ingest.datasets import (  # noqa: E402
    abcd_flows,
    abcd_to_interaction,
    licence_text,
    reading_label,
    tweetsumm_references,
    tweetsumm_to_interaction,
)
from cx_worker.models import OUTCOME_LABELS, Exemplar  # noqa: E402

SAMPLE_PER_SOURCE = 24
MIN_PER_LABEL = 3  # every label that occurs gets at least this many sample contacts (or all it has)
ABCD_EXEMPLARS = 400
MAX_BYTES = 2_000_000
SOURCE_TAG = {"abcd": "abcd-act", "tweetsumm": "tweetsumm-rubric"}
READING_TAG = "tweetsumm-reading"


def _readings(path: Path) -> dict[str, dict]:
    """The careful readings of TweetSumm dialogs (evals/reading_guide.md), by contact id."""
    if not path.exists():
        return {}
    rows = (json.loads(line) for line in path.read_text().splitlines() if line.strip())
    return {row["id"]: row for row in rows}


def _labelled(r: dict, readings: dict[str, dict]) -> tuple[str, str, str]:
    """The label a record is written with, its source tag and reason: the reading where there is one.

    Which contacts are sampled is decided on the rubric label (`r["label"]`), so adding readings changes what the
    files say about a contact, never which contacts they hold.
    """
    read = readings.get(r["interaction"].id)
    if read is None:
        return r["label"], SOURCE_TAG[r["source"]], r["reason"]
    label, how = reading_label(read)
    note = read["adjudication"]["note"] if how == "read twice, adjudicated" else read["note"]
    return label, READING_TAG, f"{how} ({read.get('batch', 'final')}): {note}; the rubric said {r['label']}"


def _rank(record: dict, *, seed: int) -> str:
    """A stable pseudo-random order: a record keeps its place when other records change label."""
    return hashlib.sha1(f"{seed}:{record['interaction'].id}".encode()).hexdigest()


def _stratified(records: list[dict], *, n: int, seed: int) -> list[dict]:
    """n records covering every label: MIN_PER_LABEL of each first, then the rest in rank order."""
    ranked = sorted(records, key=lambda r: _rank(r, seed=seed))
    chosen: list[dict] = []
    for label in sorted({r["label"] for r in ranked}):
        chosen += [r for r in ranked if r["label"] == label][:MIN_PER_LABEL]
    taken = {r["interaction"].id for r in chosen}
    chosen += [r for r in ranked if r["interaction"].id not in taken][: n - len(chosen)]
    return sorted(chosen, key=lambda r: r["index"])


def _balanced(records: list[dict], *, n: int, seed: int) -> list[dict]:
    """Up to n records, keeping every record of the rarer labels and filling up with the commonest."""
    counts = Counter(r["label"] for r in records)
    keep: list[dict] = []
    for done, (label, _) in enumerate(sorted(counts.items(), key=lambda kv: (kv[1], kv[0]))):
        pool = sorted((r for r in records if r["label"] == label), key=lambda r: _rank(r, seed=seed))
        keep += pool[: (n - len(keep)) // (len(counts) - done)]
    return sorted(keep, key=lambda r: r["index"])


def _jsonl(path: Path, rows: list[str]) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = "".join(row + "\n" for row in rows)
    path.write_text(text, encoding="utf-8")
    return len(text.encode())


def _count_table(title: str, counts: dict[str, Counter]) -> str:
    lines = [f"| {title} | " + " | ".join(OUTCOME_LABELS) + " | unlabelled | total |", "|---" * 8 + "|"]
    for name, c in counts.items():
        cells = [str(c.get(label, 0)) for label in OUTCOME_LABELS] + [str(c.get(None, 0)), str(sum(c.values()))]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=Path("/work/shared/data"))
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent.parent, help="project root")
    parser.add_argument("--seed", type=int, default=20261101)
    args = parser.parse_args(argv)

    flows = abcd_flows(json.loads((args.shared / "abcd/ontology.json").read_text()))
    raw_abcd = json.loads((args.shared / "abcd/abcd_dev_original_text_subflow.json").read_text())
    abcd = []
    for index, (text, subflow) in enumerate(raw_abcd):
        interaction, label, reason = abcd_to_interaction(text, subflow, index=index, flows=flows)
        abcd.append({"index": index, "source": "abcd", "interaction": interaction, "label": label, "reason": reason})
    tweets = []
    for index, line in enumerate((args.shared / "tweetsumm/tweetsumm_dialogs.jsonl").read_text().splitlines()):
        obj = json.loads(line)
        interaction, label, reason = tweetsumm_to_interaction(obj, index=index)
        tweets.append({"index": index, "source": "tweetsumm", "interaction": interaction, "label": label,
                       "reason": reason, "summaries": tweetsumm_references(obj)})

    readings = _readings(args.out / "evals/datasets/tweetsumm_handcheck.jsonl")
    labelled_abcd = [r for r in abcd if r["label"] is not None]  # chats whose ACT lines decide nothing stay out
    # Alternate the sources so any first N contacts of a night (the README's sample run reads 12) mix both.
    sample = [r for pair in zip(_stratified(labelled_abcd, n=SAMPLE_PER_SOURCE, seed=args.seed),
                                _stratified(tweets, n=SAMPLE_PER_SOURCE, seed=args.seed)) for r in pair]
    sample_ids = {r["interaction"].id for r in sample}
    rest_abcd = [r for r in labelled_abcd if r["interaction"].id not in sample_ids]
    rest_tweets = [r for r in tweets if r["interaction"].id not in sample_ids]

    def exemplar_row(r: dict) -> str:
        label, source, reason = _labelled(r, readings)
        return Exemplar(interaction=r["interaction"], label=label, source=source,
                        reason=reason).model_dump_json(exclude_none=True)

    def label_row(r: dict) -> str:
        label, source, reason = _labelled(r, readings)
        return json.dumps({"id": r["interaction"].id, "label": label, "source": source, "reason": reason},
                          ensure_ascii=False)

    n_abcd = ABCD_EXEMPLARS
    while True:  # shrink the ABCD share until the exemplar file fits
        exemplars = rest_tweets + _balanced(rest_abcd, n=n_abcd, seed=args.seed)
        ex_rows = [exemplar_row(r) for r in exemplars]
        if sum(len(row.encode()) + 1 for row in ex_rows) < MAX_BYTES:
            break
        n_abcd -= 25

    out = args.out
    sizes = {
        "data/contacts/sample.jsonl": _jsonl(
            out / "data/contacts/sample.jsonl", [r["interaction"].model_dump_json(exclude_none=True) for r in sample]),
        "evals/datasets/labels.jsonl": _jsonl(out / "evals/datasets/labels.jsonl", [label_row(r) for r in sample]),
        "evals/datasets/references.jsonl": _jsonl(out / "evals/datasets/references.jsonl", [json.dumps(
            {"id": r["interaction"].id, "summaries": r["summaries"]}, ensure_ascii=False)
            for r in sample if r["source"] == "tweetsumm"]),
        "evals/datasets/exemplars.jsonl": _jsonl(out / "evals/datasets/exemplars.jsonl", ex_rows),
    }
    for name, size in sizes.items():
        assert size < MAX_BYTES, f"{name} is {size} bytes"

    def by_source(rows: list[dict]) -> dict[str, Counter]:
        return {src: Counter(_labelled(r, readings)[0] for r in rows if r["source"] == src)
                for src in ("abcd", "tweetsumm")}

    tables = {
        "source (all records)": {"abcd": Counter(r["label"] for r in abcd),
                                 "tweetsumm (rubric)": Counter(r["label"] for r in tweets),
                                 "tweetsumm (as written)": Counter(_labelled(r, readings)[0] for r in tweets)},
        "sample.jsonl / labels.jsonl": by_source(sample),
        "exemplars.jsonl": by_source(exemplars),
    }
    handcheck = _handcheck_summary(list(readings.values()), tweets, sample_ids)
    _write_docs(out, args, tables, sizes, handcheck)
    for title, counts in tables.items():
        print(_count_table(title, counts), end="\n\n")
    for name, size in sizes.items():
        print(f"{name}: {size:,} bytes")
    print(handcheck)


def _handcheck_summary(rows: list[dict], tweets: list[dict], sample_ids: set[str]) -> str:
    if not rows:
        return "Hand-check: not done yet."
    current = {r["interaction"].id: r["label"] for r in tweets}
    reference = {r["id"]: reading_label(r) for r in rows}
    lines = ["First readings (turns and summaries read, label written before seeing the rubric's) vs the rubric "
             "label; batches fresh-2026-11 and full-2026-11, all second readings and adjudications by AI assistant "
             "sessions (`checked_by`):"]
    for batch in dict.fromkeys(r.get("batch", "final") for r in rows):
        got = [r for r in rows if r.get("batch", "final") == batch]
        agree = sum(r["agrees"] for r in got)
        line = f"  - {batch}: {agree}/{len(got)} agree ({agree / len(got):.0%})"
        if any("rubric_label_at_check" in r for r in got):
            then = sum(r.get("rubric_label_at_check") == r["checked_label"] for r in got)
            line += f"; {then}/{len(got)} with the rubric as frozen when the check was made"
        lines.append(line)
    twice = [r for r in rows if "second_reading" in r]
    if twice:
        agree = sum(r["second_reading"]["label"] == r["checked_label"] for r in twice)
        lines.append(f"  - read twice, blind to each other: {agree}/{len(twice)} agree ({agree / len(twice):.0%})")
        how = Counter(reference[r["id"]][1] for r in rows)
        lines.append("  - reference label: " + ", ".join(f"{how[h]} {h}" for h in sorted(how)))
        judged = [r for r in twice if reference[r["id"]][1] == "read twice, adjudicated"]
        if judged:
            first = sum(reference[r["id"]][0] == r["checked_label"] for r in judged)
            second = sum(reference[r["id"]][0] == r["second_reading"]["label"] for r in judged)
            lines.append(f"  - adjudicated: the third reading sided with the first {first}/{len(judged)} times, "
                         f"with the second {second}/{len(judged)}")
    agree = sum(reference[r["id"]][0] == r["rubric_label"] for r in rows)
    lines.append(f"  - the rubric vs the reference label (`reading_label`): {agree}/{len(rows)} agree "
                 f"({agree / len(rows):.0%})")
    unread = len({r["interaction"].id for r in tweets} - {r["id"] for r in rows})
    lines.append(f"  - TweetSumm dialogs without a reading (labelled by the rubric): {unread}")
    in_sample = [r for r in rows if r["id"] in sample_ids]
    if in_sample:
        agree = sum(reference[r["id"]][0] == r["rubric_label"] for r in in_sample)
        lines.append(f"  - sample contacts (labels.jsonl), the rubric vs the reference label: {agree}/{len(in_sample)}"
                     " agree")
    stale = [r["id"] for r in rows if current.get(r["id"]) != r["rubric_label"]]
    if stale:
        lines.append(f"  WARNING: the rubric now labels {len(stale)} checked dialogs differently: {stale[:5]}")
    return "\n".join(lines)


def _write_docs(out: Path, args: argparse.Namespace, tables: dict, sizes: dict, handcheck: str) -> None:
    licences = licence_text(args.shared)
    (out / "data/contacts/LICENSES.md").write_text(
        "# Licences of the bundled contacts (data/contacts/sample.jsonl)\n\n"
        "Real public data, not written for this project; converted by `scripts/build_datasets.py`. "
        "Timestamps of all contacts and the customer ids of ABCD contacts are synthetic.\n\n" + licences)
    counts = "\n\n".join(_count_table(title, c) for title, c in tables.items())
    files = "\n".join(f"- `{name}`: {size:,} bytes" for name, size in sizes.items())
    (out / "evals/datasets/README.md").write_text(f"""# Eval and exemplar datasets

Made by `.venv/bin/python scripts/build_datasets.py --shared /work/shared/data` (seed {args.seed}; deterministic)
from ABCD and TweetSumm; conversion and labelling rules in `cx_worker/datasets.py`, in prose in
`evals/labelling_rubric.md`. Labels are kept apart from the contacts: a contact never carries its label, the ABCD
`ACT:` lines (which record the outcome) are dropped from its turns, and the TweetSumm summaries (the label source and
the ROUGE reference) are not in the contact.

- `data/contacts/sample.jsonl`: the bundled nightly contacts, {SAMPLE_PER_SOURCE} ABCD + {SAMPLE_PER_SOURCE} TweetSumm
  `Interaction`s, stratified so each label that occurs has at least {MIN_PER_LABEL}.
- `labels.jsonl`: `{{"id", "label", "source": "abcd-act"|"tweetsumm-reading"|"tweetsumm-rubric", "reason"}}` for
  every sample contact.
- `references.jsonl`: `{{"id", "summaries": [...]}}`, the human summaries (one string per annotator) of the
  TweetSumm sample contacts, for ROUGE.
- `exemplars.jsonl`: `Exemplar`s for the outcome classifier's vector store, none of them in the sample: every other
  TweetSumm dialog and a label-balanced subset of the other labelled ABCD chats (all of the rarer labels kept).
- `tweetsumm_handcheck.jsonl`: `{{"id", "rubric_label", "checked_label", "agrees", "note", "batch", "in_sample",
  "rubric_reason", "second_reading", "adjudication"}}` (`in_sample` as of writing): careful readings (turns and
  summaries, made before looking at the rubric label) of TweetSumm dialogs. `checked_label` is the first reading,
  `second_reading` a second one made blind to it, `adjudication` a third that saw both where they differ; the
  reference label (`cx_worker.ingest.datasets.reading_label`) is the agreed or adjudicated one. `batch`: `dev` (30, read
  while drafting the rubric, which was tuned on them), `tuning` (50, read blind; their errors drove the next rubric
  version), `final` (50, read blind against the frozen rubric v3; `rubric_label_at_check` is what v3 said,
  `rubric_label` what the shipped rubric says), `sample-extra` (18 sample contacts, read blind against the shipped
  rubric), `fresh-2026-11` (50 drawn at random among the unchecked, read
  blind by an AI assistant session, `checked_by`; the test a rubric v5 failed), `full-2026-11` (every dialog not yet
  read, read blind by AI assistant sessions following `evals/reading_guide.md`). `second_reading`: every dialog
  read again, blind, by other AI assistant sessions following the same guide (42 in the first pass, the other 515 in
  a second). How the rubric changed: `evals/labelling_rubric.md`.

Where a dialog has readings, `labels.jsonl` and `exemplars.jsonl` carry the reference label (`source`
`tweetsumm-reading`; `reason` says how it was reached and what the rubric said); which contacts are sampled is
still decided on the rubric label, so the sample night's contacts do not change when readings are added.

{handcheck}

ABCD chats whose ACT lines record no outcome (only identity checks and look-ups) are left unlabelled and used
nowhere: the rules do not guess them. TweetSumm rubric labels (over the human summaries) agree with a careful
reading of the whole dialog only about two times in three (the summaries leave most endings out), so the files use
the reading wherever there is one. A reading is a judgement too: see the re-read agreement above. ABCD labels come
from logged actions and are firmer.

## Label counts

{counts}

## Files

{files}

## Licences

{licences}""")


if __name__ == "__main__":
    main()
