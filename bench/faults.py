"""A night of real contacts against the fault-injecting LLM endpoint: what was retried, repaired, quarantined.

Run from the repository root: ``.venv/bin/python -m bench.faults [--contacts 200] [--rate 0.2] [--seed 6]``.
The endpoint (`tests/support/fault_llm.py`) answers 429 with Retry-After, 500, slow answers past the client
timeout (2 s), invalid JSON, schema-violating JSON and cut-off output at the given rate; the contacts go through
the `cx_worker.run` stages (pull, redact, after-call work with 4 calls in flight, CRM write-back). The same seed
gives the same faults. `tests/unit/test_llm_faults.py` asserts on the same night.
"""

import argparse
import tempfile
from pathlib import Path

from tests.support.fault_night import run_fault_night


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=200)
    parser.add_argument("--rate", type=float, default=0.2, help="share of requests that get a fault")
    parser.add_argument("--seed", type=int, default=6)
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        night = run_fault_night(Path(folder), contacts=args.contacts, fault_rate=args.rate, seed=args.seed,
                                concurrency=args.concurrency)
    print(f"fault night: {args.contacts} real contacts, fault rate {args.rate:.0%}, seed {args.seed}")
    for line in night.lines():
        print("  " + line)
    print("  faults met per contact: " + ", ".join(f"{n} fault(s): {c} contacts"
                                                   for n, c in sorted(night.per_contact_faults.items())))


if __name__ == "__main__":
    main()
