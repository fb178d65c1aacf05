"""The nightly flow on a Dask cluster (prefect-dask, a LocalCluster of 2 worker processes), as ops would run it:
`CX_TASK_RUNNER=dask cx-worker nightly --all --json`, against the local OpenAI-compatible test endpoint.

The chunks are drafted in the Dask workers' processes (not the flow's), every contact gets exactly one note, and
the chunking does not change what each contact's request carries. Slow by nature (~60 s: Prefect and a cluster).
"""

from __future__ import annotations

import json
import os
import subprocess
from collections import Counter
from pathlib import Path

import pytest

from tests.support.cli_night import CLI, cli_env
from tests.support.fault_llm import FaultLLM

CONTACTS = 12

pytestmark = pytest.mark.skipif(not CLI.exists(), reason="needs the installed cx-worker command")


def _env(tmp_path: Path, base_url: str, **extra: str) -> dict[str, str]:
    return cli_env(tmp_path, base_url, contacts=CONTACTS, CX_CHUNK_SIZE="3", CX_LLM_CONCURRENCY="2", **extra)


def _night(tmp_path: Path, **extra: str) -> tuple[dict, list[dict], FaultLLM, int]:
    """One night through the CLI; returns its summary, the CRM notes, the endpoint and the CLI's pid (the flow's)."""
    with FaultLLM(delay=0.05, fault_rate=0.0) as llm:
        env = _env(tmp_path, llm.base_url, **extra)
        proc = subprocess.Popen([str(CLI), "nightly", "--all", "--json"], env=env, cwd=tmp_path, text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        out, err = proc.communicate(timeout=600)
        assert proc.returncode in (0, 1), err[-3000:]  # eval pass or breach: both finished
        listing = subprocess.run([str(CLI), "crm", "list", "--json"], env=env, cwd=tmp_path, capture_output=True,
                                 text=True, timeout=120)
    return json.loads(out.strip().splitlines()[-1]), json.loads(listing.stdout), llm, proc.pid


def test_nightly_runs_its_chunks_on_dask_workers(tmp_path):
    summary, notes, llm, flow_pid = _night(tmp_path, CX_TASK_RUNNER="dask", CX_DASK_WORKERS="2",
                                           CX_CHUNKS_IN_FLIGHT="2")
    workers = summary["workers"]
    assert sum(workers.values()) == CONTACTS // 3  # 4 chunks of 3
    assert str(flow_pid) not in {w.rsplit(":", 1)[1] for w in workers}  # drafted in the workers' processes
    assert summary["new"] == CONTACTS and summary["quarantined"] == 0
    assert summary["drafted"] == {"drafted": CONTACTS}
    per_contact = Counter(n["interaction_id"] for n in notes)
    assert len(per_contact) == CONTACTS and max(per_contact.values()) == 1
    drafts = [r for r in llm.requests if r.tool == "AfterCallWork"]  # the rest: the faithfulness judge's sample
    assert len(drafts) == len({r.contact for r in drafts}) == CONTACTS  # one call each, none repeated


def test_dask_and_threads_send_the_same_requests(tmp_path):
    _, _, on_dask, _ = _night(tmp_path / "dask", CX_TASK_RUNNER="dask", CX_DASK_WORKERS="2")
    summary, _, on_threads, flow_pid = _night(tmp_path / "threads", CX_TASK_RUNNER="threads")
    assert list(summary["workers"]) == [f"{os.uname().nodename}:{flow_pid}"]  # threads: all in the flow's process
    def drafts(llm: FaultLLM) -> list[bytes]:
        return sorted(r.raw for r in llm.requests if r.tool == "AfterCallWork")

    assert len(drafts(on_dask)) == CONTACTS and drafts(on_dask) == drafts(on_threads)
