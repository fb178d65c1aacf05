"""Orchestration overhead: the whole nightly flow on 1,000 and 10,000 contacts against an instant local endpoint.

Run from the repository root: ``.venv/bin/python -m bench.orchestration [--sizes 1000 10000] [--runner threads]``.

Everything but the LLM is measured: Prefect (its ephemeral server, task runs per chunk), pull, redaction, the
embedding and kNN vote of every contact, repeat linking, the store, the governance evals, report and CRM
write-back. The endpoint (`tests/support/fault_llm.FaultLLM`, no faults, no latency) answers every request at
once with a schema-valid tool call. Contacts are the 48 bundled real contacts, cycled with new ids and customers.
Each night runs as ops run it (`cx-worker nightly --all --json`, a subprocess) on a data dir whose exemplar store
and fusion model were built by a 10-contact warm-up night (built once per install, not per night).

Prints contacts per second and the peak RSS of the flow process (the `cx-worker` process, where the chunks are
drafted and embedded with the thread runner) and of the run's process tree (with Prefect's ephemeral server),
sampled every 0.2 s, plus where the time went (the run summary's stage_seconds), each with the load average.
Targets (issue 18): with `--embedding hash`, >= 50 contacts/s on 2 cores; with MiniLM, >= 0.8 x the throughput of
MiniLM alone embedding the same texts; flow process peak RSS <= 1 GiB at 1,000 and at 10,000 contacts.

MiniLM alone (the reference of the ratio) is measured in the same bench run, in this process, just before and just
after each night (their mean counts): the texts the night embeds (each contact's document and issue text, from the
contacts redacted and cut as the run does), through the same embedding function and the same call per chunk
(`shared_embedding()`: the session options and batching the run uses), on the night's first `--reference-contacts`
contacts (the night cycles 48 real contacts, so any whole number of cycles has the night's mix of texts).

`--embedding hash` replaces the MiniLM embedding in the run's processes by a hash-seeded random unit vector (a
`sitecustomize` module on PYTHONPATH, bench only), to measure orchestration alone: the classifier's embedding is
real model work (one batched pass of two texts a contact), not orchestration. Outcomes are meaningless in that mode.
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

from bench._common import Bench, load
from cx_worker.models import Interaction
from cx_worker.outcomes.embeddings import shared_embedding
from cx_worker.outcomes.exemplars import document
from cx_worker.outcomes.repeats import issue_text
from cx_worker.settings import Settings
from tests.support.fault_llm import FaultLLM

PROJECT_ROOT = Path(__file__).resolve().parent.parent
CLI = PROJECT_ROOT / ".venv" / "bin" / "cx-worker"
TARGET_RATE, TARGET_RATIO, TARGET_RSS_MIB = 50, 0.8, 1024


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


class MiniLMAlone:
    """MiniLM alone embedding what a night embeds: each contact's document and issue text, chunk by chunk, as the
    chunk workers call it (texts prepared beforehand: only the embedding is timed)."""

    def __init__(self, folder: Path, *, contacts: int, chunk: int) -> None:
        lines = (folder / "night.jsonl").read_text().splitlines()[:contacts]
        bench = Bench.open(Settings(data_dir=folder / "reference"))
        redacted = bench.redact([Interaction.model_validate_json(line) for line in lines])
        bench.store.close()
        self.chunks = [[*map(document, part), *map(issue_text, part)]
                       for part in (redacted[i:i + chunk] for i in range(0, len(redacted), chunk))]
        self.contacts = len(redacted)
        self.embed = shared_embedding()
        self.embed(self.chunks[0][:4])  # the session, loaded once, as in a run

    def rate(self) -> float:
        """Contacts per second."""
        started = time.perf_counter()
        for texts in self.chunks:
            self.embed(texts)
        return self.contacts / (time.perf_counter() - started)


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
    parser.add_argument("--reference-contacts", type=int, default=2016,
                        help="contacts MiniLM alone embeds for the ratio (default 42 cycles of the 48)")
    args = parser.parse_args()
    chunk = args.chunk_size or Settings().chunk_size
    print(f"orchestration bench: runner {args.runner}, concurrency {args.concurrency}, embedding {args.embedding}, "
          f"chunks of {chunk}, {load()} at start")
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
            alone = (MiniLMAlone(root / f"n{size}", contacts=min(size, args.reference_contacts), chunk=chunk)
                     if args.embedding == "minilm" else None)
            before = alone.rate() if alone else None
            load_before = load()
            llm.requests.clear()
            summary, seconds, peak = night({**env, "CX_SOURCE": str(root / f"n{size}")}, root)
            load_night = load()
            after = alone.rate() if alone else None
            done = sum(summary["drafted"].values())
            rate = size / seconds
            flow_mib, tree_mib = peak[1] / 2**20, peak[0] / 2**20
            print(f"  {size:>6} contacts: {seconds:7.1f} s wall, {rate:6.1f} contacts/s, {load_night} at the end; "
                  f"drafted {done}, notes {summary['written']}, quarantined {summary['quarantined']}, "
                  f"LLM requests {len(llm.requests)}")
            print(f"         peak RSS: flow process {flow_mib:.0f} MiB (target <= {TARGET_RSS_MIB}: "
                  f"{'met' if flow_mib <= TARGET_RSS_MIB else 'NOT met'}), process tree {tree_mib:.0f} MiB "
                  f"(flow + Prefect server + workers)")
            if alone is None:
                print(f"         throughput: {rate:.1f} contacts/s (target >= {TARGET_RATE} with the hash embedding: "
                      f"{'met' if rate >= TARGET_RATE else 'NOT met'})")
            else:
                reference = (before + after) / 2
                ratio = rate / reference
                print(f"         MiniLM alone, same texts ({alone.contacts} contacts, 2 texts each): {before:.1f} "
                      f"contacts/s before the night ({load_before}), {after:.1f} after ({load()}), mean "
                      f"{reference:.1f}")
                print(f"         ratio night / MiniLM alone: {ratio:.2f} (target >= {TARGET_RATIO}: "
                      f"{'met' if ratio >= TARGET_RATIO else 'NOT met'})")
            print("         stage seconds (flow process): " + ", ".join(
                f"{k} {v}" for k, v in summary.get("stage_seconds", {}).items()))

if __name__ == "__main__":
    main()
