"""Orchestration overhead: the whole nightly flow on 1,000 and 10,000 contacts against an instant local endpoint.

Run from the repository root: ``.venv/bin/python -m bench.orchestration [--sizes 1000 10000] [--runner threads]``.

Everything but the LLM is measured: Prefect (its ephemeral server, task runs per chunk), pull, redaction, the
embedding and kNN vote of every contact, repeat linking, the store, the governance evals, report and CRM
write-back. The endpoint (`tests/support/fault_llm.FaultLLM`, no faults, no latency) answers every request at
once with a schema-valid tool call. Contacts are the 48 bundled real contacts, cycled with new ids and customers.
Each night runs as ops run it (`cx-worker nightly --all --json`, a subprocess) on a data dir whose exemplar store
and fusion model were built by a 10-contact warm-up night (built once per install, not per night).

Prints contacts per second (target >= 50 on 2 cores) and the peak RSS of the run's process tree, sampled every
0.2 s (target: flat from 1,000 to 10,000 contacts), plus where the time went (the run summary's stage_seconds).

`--embedding hash` replaces the MiniLM embedding in the run's processes by a hash-seeded random unit vector (a
`sitecustomize` module on PYTHONPATH, bench only), to measure orchestration alone: the classifier's embedding is
real model work (~2 embeddings a contact), not orchestration. Outcomes are meaningless in that mode.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import psutil

PROJECT_ROOT = Path(__file__).resolve().parent.parent
from tests.support.fault_llm import FaultLLM

CLI = PROJECT_ROOT / ".venv" / "bin" / "cx-worker"


def write_night(folder: Path, count: int, *, tag: str) -> None:
    """`count` contacts: the bundled ones cycled, each copy with its own id and customer."""
    folder.mkdir(parents=True, exist_ok=True)
    lines = (PROJECT_ROOT / "data" / "contacts" / "sample.jsonl").read_text().splitlines()
    with (folder / "night.jsonl").open("w") as out:
        for n in range(count):
            contact = json.loads(lines[n % len(lines)])
            contact["id"] = f"{tag}-{n}-{contact['id']}"
            if contact.get("customer_id"):
                contact["customer_id"] = f"{contact['customer_id']}-{n // len(lines)}"
            out.write(json.dumps(contact) + "\n")


class PeakRss:
    """Samples the RSS of a process and all its children until stopped; keeps the peak of the sum."""

    def __init__(self, pid: int, every: float = 0.2) -> None:
        self.process, self.every, self.peak, self.peak_main = psutil.Process(pid), every, 0, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                tree = [self.process, *self.process.children(recursive=True)]
                total = 0
                for p in tree:
                    try:
                        total += p.memory_info().rss
                    except psutil.Error:
                        pass
                self.peak = max(self.peak, total)
                self.peak_main = max(self.peak_main, self.process.memory_info().rss)
            except psutil.Error:
                return
            time.sleep(self.every)

    def stop(self) -> tuple[int, int]:
        """(peak of the tree, peak of the process itself)."""
        self._stop.set()
        self._thread.join()
        return self.peak, self.peak_main


_HASH_EMBEDDING = """
import hashlib

import numpy as np

from cx_worker.outcomes import embeddings


def _hash_vectors(self, input):
    out = []
    for text in input:
        seed = int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little")
        vector = np.random.default_rng(seed).standard_normal(embeddings.DIMENSION).astype(np.float32)
        out.append(vector / np.linalg.norm(vector))
    return out


embeddings.MiniLMEmbedding.__call__ = _hash_vectors
"""


def night(env: dict[str, str], cwd: Path) -> tuple[dict, float, tuple[int, int]]:
    started = time.perf_counter()
    proc = subprocess.Popen([str(CLI), "nightly", "--all", "--json"], env=env, cwd=cwd, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    rss = PeakRss(proc.pid)
    out, err = proc.communicate()
    seconds = time.perf_counter() - started
    peak = rss.stop()
    if proc.returncode not in (0, 1):
        raise SystemExit(f"nightly failed ({proc.returncode}): {err[-3000:]}")
    return json.loads(out.strip().splitlines()[-1]), seconds, peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--runner", choices=("threads", "dask"), default="threads")
    parser.add_argument("--chunk-size", type=int, default=None, help="CX_CHUNK_SIZE (default: the setting's)")
    parser.add_argument("--concurrency", type=int, default=8, help="CX_LLM_CONCURRENCY")
    parser.add_argument("--embedding", choices=("minilm", "hash"), default="minilm",
                        help="hash: no model work in the classifier, orchestration alone (see above)")
    args = parser.parse_args()
    print(f"orchestration bench: runner {args.runner}, concurrency {args.concurrency}, embedding {args.embedding}, "
          f"load {os.getloadavg()[0]:.2f} at start")
    with tempfile.TemporaryDirectory() as tmp, FaultLLM(fault_rate=0.0) as llm:
        root = Path(tmp)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("CX_", "PREFECT_", "OPENAI_"))}
        env.update({
            "CX_DATA_DIR": str(root / "cx"), "CX_LLM_BASE_URL": llm.base_url,
            "CX_LLM_CONCURRENCY": str(args.concurrency), "CX_TASK_RUNNER": args.runner,
            "PREFECT_HOME": str(root / "prefect"), "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120", "DO_NOT_TRACK": "1",
            "ANONYMIZED_TELEMETRY": "False",
        })
        if args.embedding == "hash":
            (root / "site").mkdir()
            (root / "site" / "sitecustomize.py").write_text(_HASH_EMBEDDING)
            env["PYTHONPATH"] = str(root / "site")
        if args.chunk_size:
            env["CX_CHUNK_SIZE"] = str(args.chunk_size)
        write_night(root / "warm", 10, tag="warm")
        _, warm, _ = night({**env, "CX_SOURCE": str(root / "warm")}, root)
        print(f"  warm-up night (10 contacts; builds the exemplar store and fusion model once): {warm:.1f} s")
        for size in args.sizes:
            write_night(root / f"n{size}", size, tag=f"n{size}")
            llm.requests.clear()
            summary, seconds, peak = night({**env, "CX_SOURCE": str(root / f"n{size}")}, root)
            done = sum(summary["drafted"].values())
            print(f"  {size:>6} contacts: {seconds:7.1f} s wall, {size / seconds:6.1f} contacts/s "
                  f"(target >= 50), peak RSS {peak[0] / 2**20:6.0f} MiB (flow + Prefect server + workers; "
                  f"flow process {peak[1] / 2**20:.0f} MiB), "
                  f"drafted {done}, notes {summary['written']}, quarantined {summary['quarantined']}, "
                  f"LLM requests {len(llm.requests)}, load {os.getloadavg()[0]:.2f}")
            print("         stage seconds (flow process): " + ", ".join(
                f"{k} {v}" for k, v in summary.get("stage_seconds", {}).items()))


if __name__ == "__main__":
    main()
