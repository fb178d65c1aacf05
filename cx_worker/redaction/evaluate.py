"""How well redaction finds PII: recall per type on the labelled probe set, false positives on real text.

`python -m cx_worker.redaction.evaluate` prints the table and writes nothing; `--json` prints one JSON object;
`--probe PATH` scores another labelled probe file of the same format (one contact a line: `id`, `turns`, `spans`
with `turn`, `start`, `end`, `type`, `value`, and optionally a `class` on the record or the span, such as
"uk_mobile_dotted"); `--regions GB,FR` reads phone numbers as those regions' (default: all the default regions).

- Recall: a labelled value counts as found when redaction covers all of its digits and at least 80% of its other
  characters (an address whose "Flat, " prefix survived is found; one whose house number survived is not), whatever
  kind the redactor gave it: coverage is what protects the customer. Reported per type and, when the records carry
  one, per class; and apart, the type agreement: found values the redactor also labelled with their own type (a
  date of birth redacted as [DATE_OF_BIRTH_1], not as a phone).
- False positives on the probe: redactions that overlap no labelled value (the probe mixes in order numbers,
  amounts, dates and tracking codes).
- False positives on real text: every redaction in the bundled contacts (`data/contacts/sample.jsonl`, real ABCD
  and TweetSumm chats) is looked up in a hand review (`evals/datasets/pii_bundled_review.jsonl`: personal or not);
  reviewed-not-personal ones are false positives, and ones nobody reviewed yet are counted apart.
"""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter
from pathlib import Path

from cx_worker.bundled import bundled_path
from cx_worker.models import Interaction
from cx_worker.redaction.detectors import DEFAULT_REGIONS, KINDS, Span, parse_regions
from cx_worker.redaction.redactor import Redactor, customer_names, redact_interaction, turn_prompts

PROBE = bundled_path("datasets", "pii_probe.jsonl")
BUNDLED = bundled_path("contacts", "sample.jsonl")
REVIEW = bundled_path("datasets", "pii_bundled_review.jsonl")
STRUCTURED = KINDS  # every kind but NAME, which is learnt from the contact


def _covered(span: dict, found: list[Span]) -> bool:
    chars = [i for i in range(span["start"], span["end"]) if not span["value"][i - span["start"]].isspace()]
    hit = {i for s in found for i in range(s.start, s.end)}
    digits = [i for i in chars if span["value"][i - span["start"]].isdigit()]
    return all(i in hit for i in digits) and sum(i in hit for i in chars) >= 0.8 * len(chars)


def _kind_given(span: dict, found: list[Span]) -> str | None:
    """The kind the redactor gave most of the labelled value's characters."""
    given = Counter(s.kind for s in found for i in range(max(s.start, span["start"]), min(s.end, span["end"])))
    return given.most_common(1)[0][0] if given else None


def _rows(total: Counter, found: Counter, agreed: Counter | None = None) -> dict:
    rows = {}
    for k in sorted(total):
        rows[k] = {"instances": total[k], "found": found[k], "recall": round(found[k] / total[k], 4)}
        if agreed is not None:
            rows[k]["same_type"] = agreed[k]
            rows[k]["type_agreement"] = round(agreed[k] / found[k], 4) if found[k] else None
    return rows


def probe_recall(path: Path = PROBE, *, regions: tuple[str, ...] | None = None) -> dict:
    """Per type (and per class, if labelled): instances, found, recall, type agreement; redactions that hit no label.

    Args:
        path: a probe file (JSONL: `id`, `turns`, `spans`; a `class` on the record or on a span is optional).
        regions: the regions whose phone formats to read (None: the default regions).
    """
    total, found, agreed, spurious = Counter(), Counter(), Counter(), Counter()
    class_total, class_found = Counter(), Counter()
    misses, relabelled = [], []
    for line in path.read_text().splitlines():
        if not line.strip():
            continue
        record = json.loads(line)
        contact = Interaction(id=record["id"], channel="chat", turns=record["turns"])
        redactor = Redactor(names=customer_names(contact), regions=regions)
        per_turn = [redactor.spans(t.text, prompt=p) for t, p in zip(contact.turns, turn_prompts(contact.turns))]
        for span in record["spans"]:
            kind, cls = span["type"], span.get("class", record.get("class"))
            total[kind] += 1
            class_total[cls] += cls is not None
            if _covered(span, per_turn[span["turn"]]):
                found[kind] += 1
                class_found[cls] += cls is not None
                given = _kind_given(span, per_turn[span["turn"]])
                agreed[kind] += given == kind
                if given != kind:
                    relabelled.append(f"{record['id']}: {kind} redacted as {given} {span['value']!r}")
            else:
                misses.append(f"{record['id']}: {kind}{f' ({cls})' if cls else ''} {span['value']!r}")
        for t, spans in enumerate(per_turn):
            labels = [s for s in record["spans"] if s["turn"] == t]
            spurious.update(s.kind for s in spans if not any(s.start < lab["end"] and lab["start"] < s.end
                                                               for lab in labels))
    structured = sum(total[k] for k in STRUCTURED)
    structured_found = sum(found[k] for k in STRUCTURED)
    return {"probe": str(path), "by_type": _rows(total, found, agreed), "instances": sum(total.values()),
            "by_class": _rows(+class_total, class_found) if +class_total else {},
            "structured_recall": round(structured_found / structured, 4) if structured else None,
            "type_agreement": round(sum(agreed[k] for k in STRUCTURED) / structured_found, 4)
            if structured_found else None,
            "false_positives": dict(spurious), "misses": misses, "relabelled": relabelled}


def bundled_false_positives(path: Path = BUNDLED, review: Path = REVIEW, *,
                            regions: tuple[str, ...] | None = None) -> dict:
    """Redactions on the real bundled contacts, judged against the hand review; and the time to redact a contact."""
    verdicts = {}
    if review.exists():
        for line in review.read_text().splitlines():
            r = json.loads(line)
            verdicts[(r["id"], r["type"], r["value"])] = r["personal"]
    counts: Counter = Counter()
    unreviewed, false = [], []
    contacts = [Interaction.model_validate_json(line) for line in path.read_text().splitlines()]
    for contact in contacts:
        redactor = Redactor(names=customer_names(contact), regions=regions)
        for turn, prompt in zip(contact.turns, turn_prompts(contact.turns)):
            for s in redactor.spans(turn.text, prompt=prompt):
                key = (contact.id, s.kind, s.value)
                verdict = verdicts.get(key)
                counts["detections"] += 1
                if verdict is None:
                    unreviewed.append(key)
                elif not verdict:
                    false.append(key)
    started = time.perf_counter()
    for contact in contacts:
        redact_interaction(contact, regions=regions)
    seconds = (time.perf_counter() - started) / len(contacts) if contacts else 0.0
    return {"contacts": len(contacts), "detections": counts["detections"], "false_positives": len(false),
            "false_positive_items": false, "unreviewed": unreviewed, "seconds_per_contact": round(seconds, 5)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--probe", type=Path, default=PROBE, help="a labelled probe file (default: the bundled one)")
    parser.add_argument("--regions", default=None, help="comma-separated ISO regions whose phone formats to read "
                        f"(default: {','.join(DEFAULT_REGIONS)})")
    args = parser.parse_args(argv)
    regions = parse_regions(args.regions)
    probe, real = probe_recall(args.probe, regions=regions), bundled_false_positives(regions=regions)
    if args.json:
        print(json.dumps({"probe": probe, "bundled": real}))
        return 0
    print(f"probe set {args.probe.name}: {probe['instances']} labelled PII instances")
    for kind, row in probe["by_type"].items():
        print(f"  {kind:13} recall {row['recall']:.3f}  ({row['found']}/{row['instances']})  same type "
              f"{row['same_type']}/{row['found']}")
    print(f"  structured    recall {probe['structured_recall']:.3f}, type agreement {probe['type_agreement']}; "
          f"false positives on probe text: {sum(probe['false_positives'].values())} {probe['false_positives'] or ''}")
    if probe["by_class"]:
        print("  per class:")
        for cls, row in probe["by_class"].items():
            print(f"    {cls:32} recall {row['recall']:.3f}  ({row['found']}/{row['instances']})")
    for miss in probe["misses"]:
        print(f"  missed {miss}")
    for item in probe["relabelled"]:
        print(f"  found, other type: {item}")
    print(f"bundled contacts ({real['contacts']}, real text): {real['detections']} redactions, "
          f"{real['false_positives']} false positives, {len(real['unreviewed'])} not yet reviewed; "
          f"{real['seconds_per_contact'] * 1000:.2f} ms a contact")
    for item in real["false_positive_items"] + [("UNREVIEWED", *u) for u in real["unreviewed"]]:
        print(f"  {item}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
