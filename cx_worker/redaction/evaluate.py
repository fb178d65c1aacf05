"""How well redaction finds PII: recall per type on the labelled probe set, false positives on real text.

`python -m cx_worker.redaction.evaluate` prints the table and writes nothing; `--json` prints one JSON object.

- Recall: a labelled value counts as found when redaction covers all of its digits and at least 80% of its other
  characters (an address whose "Flat 3," prefix survived is found; one whose house number survived is not).
- False positives on the probe: redactions that overlap no labelled value (the probe mixes in order numbers,
  amounts, dates and tracking codes).
- False positives on real text: every redaction in the bundled contacts (`data/contacts/sample.jsonl`, real ABCD
  and TweetSumm chats) is looked up in a hand review (`evals/datasets/pii_bundled_review.jsonl`: personal or not);
  reviewed-not-personal ones are false positives, and ones nobody reviewed yet are counted apart.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

from cx_worker.bundled import bundled_path
from cx_worker.models import Interaction
from cx_worker.redaction.redactor import Redactor, customer_names

PROBE = bundled_path("datasets", "pii_probe.jsonl")
BUNDLED = bundled_path("contacts", "sample.jsonl")
REVIEW = bundled_path("datasets", "pii_bundled_review.jsonl")
STRUCTURED = ("EMAIL", "PHONE", "CARD", "IBAN", "NATIONAL_ID", "ADDRESS")


def _covered(span: dict, found) -> bool:
    chars = [i for i in range(span["start"], span["end"]) if not span["value"][i - span["start"]].isspace()]
    hit = {i for s in found for i in range(s.start, s.end)}
    digits = [i for i in chars if span["value"][i - span["start"]].isdigit()]
    return all(i in hit for i in digits) and sum(i in hit for i in chars) >= 0.8 * len(chars)


def probe_recall(path: Path = PROBE) -> dict:
    """Per type: labelled instances, found, recall; and redactions that hit no label."""
    total, found, spurious = Counter(), Counter(), Counter()
    misses = []
    for line in path.read_text().splitlines():
        record = json.loads(line)
        contact = Interaction(id=record["id"], channel="chat", turns=record["turns"])
        redactor = Redactor(names=customer_names(contact))
        per_turn = [redactor.spans(t.text) for t in contact.turns]
        for span in record["spans"]:
            total[span["type"]] += 1
            if _covered(span, per_turn[span["turn"]]):
                found[span["type"]] += 1
            else:
                misses.append(f"{record['id']}: {span['type']} {span['value']!r}")
        for t, spans in enumerate(per_turn):
            labels = [s for s in record["spans"] if s["turn"] == t]
            spurious.update(s.kind for s in spans if not any(s.start < lab["end"] and lab["start"] < s.end
                                                               for lab in labels))
    by_type = {k: {"instances": total[k], "found": found[k], "recall": round(found[k] / total[k], 4)}
               for k in sorted(total)}
    structured = sum(total[k] for k in STRUCTURED)
    return {"by_type": by_type, "instances": sum(total.values()),
            "structured_recall": round(sum(found[k] for k in STRUCTURED) / structured, 4) if structured else None,
            "false_positives": dict(spurious), "misses": misses}


def bundled_false_positives(path: Path = BUNDLED, review: Path = REVIEW) -> dict:
    """Redactions on the real bundled contacts, judged against the hand review."""
    verdicts = {}
    if review.exists():
        for line in review.read_text().splitlines():
            r = json.loads(line)
            verdicts[(r["id"], r["type"], r["value"])] = r["personal"]
    counts: Counter = Counter()
    unreviewed, false = [], []
    for line in path.read_text().splitlines():
        contact = Interaction.model_validate_json(line)
        redactor = Redactor(names=customer_names(contact))
        for turn in contact.turns:
            for s in redactor.spans(turn.text):
                key = (contact.id, s.kind, s.value)
                verdict = verdicts.get(key)
                counts["detections"] += 1
                if verdict is None:
                    unreviewed.append(key)
                elif not verdict:
                    false.append(key)
    return {"contacts": len(path.read_text().splitlines()), "detections": counts["detections"],
            "false_positives": len(false), "false_positive_items": false, "unreviewed": unreviewed}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    probe, real = probe_recall(), bundled_false_positives()
    if args.json:
        print(json.dumps({"probe": probe, "bundled": real}))
        return 0
    print(f"probe set {PROBE.name}: {probe['instances']} labelled PII instances")
    for kind, row in probe["by_type"].items():
        print(f"  {kind:12} recall {row['recall']:.3f}  ({row['found']}/{row['instances']})")
    print(f"  structured   recall {probe['structured_recall']:.3f}; false positives on probe text: "
          f"{sum(probe['false_positives'].values())} {probe['false_positives'] or ''}")
    for miss in probe["misses"]:
        print(f"  missed {miss}")
    print(f"bundled contacts ({real['contacts']}, real text): {real['detections']} redactions, "
          f"{real['false_positives']} false positives, {len(real['unreviewed'])} not yet reviewed")
    for item in real["false_positive_items"] + [("UNREVIEWED", *u) for u in real["unreviewed"]]:
        print(f"  {item}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
