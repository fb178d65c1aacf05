"""Exactly-once write-back across a crash: the nightly CLI is SIGKILLed mid-batch, re-run, and every contact ends
with exactly one CRM note and nothing lost.

The real command (`cx-worker nightly --all --json`, Prefect's ephemeral server and all) runs as a subprocess
against the fault-injecting endpoint in answer-everything mode with a small delay per call, so the kill lands
while after-call work is being drafted. Slow by nature (two CLI runs, each starting Prefect): ~40-60 s.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import time
from collections import Counter

import pytest

from cx_worker.settings import PROJECT_ROOT
from tests.support.fault_llm import FaultLLM

CLI = PROJECT_ROOT / ".venv" / "bin" / "cx-worker"
CONTACTS = 30


def _env(tmp_path, base_url: str) -> dict[str, str]:
    source = tmp_path / "in"
    source.mkdir(exist_ok=True)
    lines = (PROJECT_ROOT / "data" / "contacts" / "sample.jsonl").read_text().splitlines()[:CONTACTS]
    (source / "night.jsonl").write_text("\n".join(lines) + "\n")
    # A few exemplars are enough to classify (the labels are not what this test checks); embedding more is slow.
    exemplars = tmp_path / "exemplars.jsonl"
    small = (PROJECT_ROOT / "tests" / "fixtures" / "exemplars_small.jsonl").read_text().splitlines()
    exemplars.write_text("\n".join(small[::10]) + "\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CX_", "PREFECT_"))}
    env.update({
        "CX_DATA_DIR": str(tmp_path / "cx"), "CX_SOURCE": str(source),
        "CX_EXEMPLARS": str(exemplars),
        "CX_LLM_BASE_URL": base_url, "CX_LLM_API_KEY": "sk-test-kill", "CX_LLM_TIMEOUT": "30",
        "PREFECT_HOME": str(tmp_path / "prefect"), "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120", "DO_NOT_TRACK": "1",
        "ANONYMIZED_TELEMETRY": "False",
    })
    return env


def _drafted(tmp_path) -> int:
    path = tmp_path / "cx" / "store.sqlite"
    if not path.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5) as db:
            return db.execute("SELECT COUNT(*) FROM after_call_work").fetchone()[0]
    except sqlite3.OperationalError:  # the table is not there yet
        return 0


def _kill_group(proc: subprocess.Popen) -> None:
    # The CLI starts Prefect's server as a child: kill the process group we created, by its id.
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait(timeout=30)


@pytest.mark.skipif(not CLI.exists(), reason="needs the installed cx-worker command")
def test_a_killed_night_resumes_with_exactly_one_note_per_contact(tmp_path):
    with FaultLLM(delay=0.2) as llm:
        env = _env(tmp_path, llm.base_url)
        log = tmp_path / "first-run.log"
        with log.open("wb") as out:  # a file, not a pipe: nobody reads while it runs
            first = subprocess.Popen([str(CLI), "nightly", "--all", "--json"], env=env, cwd=tmp_path,
                                     stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            deadline = time.monotonic() + 180
            while _drafted(tmp_path) < 3:
                assert first.poll() is None, f"the first run ended before the kill: {log.read_text()[-2000:]}"
                assert time.monotonic() < deadline, "no after-call work appeared"
                time.sleep(0.2)
        finally:
            _kill_group(first)
        drafted_at_kill = _drafted(tmp_path)
        assert first.returncode == -signal.SIGKILL and drafted_at_kill < CONTACTS

        with sqlite3.connect(tmp_path / "cx" / "store.sqlite") as db:
            killed_run, status = db.execute("SELECT run_id, status FROM runs").fetchone()
            assert status == "running"
            assert db.execute("SELECT COUNT(*) FROM watermark").fetchone()[0] == 0
        calls_before = len(llm.requests)

        second = subprocess.run([str(CLI), "nightly", "--all", "--json"], env=env, cwd=tmp_path,
                                capture_output=True, text=True, timeout=300, start_new_session=True)
        assert second.returncode in (0, 1), second.stderr[-3000:]  # pass or breach (notes held): both ran
        summary = json.loads(second.stdout.strip().splitlines()[-1])
        listing = subprocess.run([str(CLI), "crm", "list", "--json"], env=env, cwd=tmp_path, capture_output=True,
                                 text=True, timeout=120)
        assert listing.returncode == 0, listing.stderr[-2000:]
    notes = json.loads(listing.stdout)  # the contract: ONE JSON array of notes, each with interaction_id

    ids = [json.loads(line)["id"] for line in env_lines(env)]
    per_contact = Counter(n["interaction_id"] for n in notes)
    assert isinstance(notes, list) and set(per_contact) == set(ids)
    assert max(per_contact.values()) == 1 and len(notes) == CONTACTS  # exactly one note each, nothing lost
    assert summary["new"] == CONTACTS and summary["quarantined"] == 0
    # The work drafted before the kill was reused, not asked for again: at most the call in flight is repeated.
    acw_calls = [r for r in llm.requests if r.tool == "AfterCallWork"]
    assert summary["drafted"].get("reused", 0) >= drafted_at_kill
    assert len(acw_calls) <= CONTACTS + 1
    assert calls_before >= drafted_at_kill
    with sqlite3.connect(tmp_path / "cx" / "store.sqlite") as db:
        runs = dict(db.execute("SELECT run_id, status FROM runs").fetchall())
        pending = db.execute("SELECT COUNT(*) FROM contacts WHERE status != 'done'").fetchone()[0]
    assert runs[killed_run] == "interrupted" and runs[summary["run_id"]] == "finished"
    assert pending == 0


def env_lines(env: dict[str, str]) -> list[str]:
    path = os.path.join(env["CX_SOURCE"], "night.jsonl")
    with open(path) as fh:
        return [line for line in fh if line.strip()]
