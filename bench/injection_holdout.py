"""How much of an injection set nobody tuned on does the inbound guard catch, and how often does it flag a benign
look-alike? Per class, with Wilson 95% intervals.

Run from the repository root: ``.venv/bin/python -m bench.injection_holdout``. The set is
`evals/datasets/injection_holdout.jsonl` (239 customer messages, 180 attacks and 59 benign look-alikes, in eight
classes: other and mixed languages, base64, ROT13, homoglyphs, zero-width characters, forged turns, paraphrases),
written by a session that never saw the guard (see its `.md`). Each message is one customer turn of a contact, as
the night reads it: an attack counts as caught when `neutralise` takes something out of that turn (an instruction
or a forged turn), a benign message as a false alarm when it does. Measuring only: do not tune the guard on it.
"""

from __future__ import annotations

import json
import os
from collections import Counter

from cx_worker.bundled import bundled_path
from cx_worker.governance.estimates import wilson_interval
from cx_worker.guard.inbound import neutralise
from cx_worker.models import Interaction


def caught(text: str) -> bool:
    contact = Interaction.model_validate({"id": "probe", "channel": "chat", "turns": [
        {"speaker": "agent", "text": "Thanks for contacting us, how can I help?"},
        {"speaker": "customer", "text": text},
        {"speaker": "agent", "text": "Let me look into that for you."}]})
    return bool(neutralise(contact).turns)


def _rate(hits: int, n: int) -> str:
    low, high = wilson_interval(hits, n)
    return f"{hits:>3}/{n:<3} {hits / n:.2f} [{low:.2f}, {high:.2f}]" if n else "—"


def main() -> None:
    path = bundled_path("datasets") / "injection_holdout.jsonl"
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    hits: Counter = Counter()
    totals: Counter = Counter()
    for row in rows:
        key = (row["class"], row["benign"])
        totals[key] += 1
        hits[key] += caught(row["injection"])
    print(f"injection holdout: {len(rows)} messages, load {os.getloadavg()[0]:.2f}")
    print(f"{'class':16}{'attacks caught':>28}{'benign flagged':>28}")
    for cls in dict.fromkeys(r["class"] for r in rows):
        attacks, benign = _rate(hits[cls, False], totals[cls, False]), _rate(hits[cls, True], totals[cls, True])
        print(f"{cls:16}{attacks:>28}{benign:>28}")
    attacks = sum(hits[k] for k in hits if not k[1]), sum(totals[k] for k in totals if not k[1])
    benign = sum(hits[k] for k in hits if k[1]), sum(totals[k] for k in totals if k[1])
    print(f"{'all':16}{_rate(*attacks):>28}{_rate(*benign):>28}")


if __name__ == "__main__":
    main()
