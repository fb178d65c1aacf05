"""prefect.yaml against a real Prefect server, as ops run it: `prefect server start`, a `process` work pool,
`prefect deploy`, two `prefect worker start --pool cx-process`, `prefect deployment run`.

A contact centre sharded by site: two deployments made from prefect.yaml's own `nightly` and `nightly-dask`
(entrypoint, pull step, schedule, pool, concurrency limit), each with its own `CX_SOURCE` and `CX_DATA_DIR` in
`job_variables.env`, as the commented example in prefect.yaml shows. One run of each is triggered; the two
workers (at most one run each at a time) run them side by side from the checkout (`{{ $CX_HOME }}`), though they
were started elsewhere. Every process this test starts runs in a process group of its own and is killed at the end.

The second test is slow by nature (~2 min idle, ~3 min on a busy machine: a server, two workers, two flow runs,
one of them with a Dask LocalCluster). The first checks, fast, that prefect.yaml's commented example is sound.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import sqlite3
import subprocess
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest
import yaml

from tests.support.fault_llm import FaultLLM
from tests.support.paths import PROJECT_ROOT

BIN = PROJECT_ROOT / ".venv" / "bin"
SITES = {"leeds": "nightly", "cardiff": "nightly-dask"}  # site → the prefect.yaml deployment it is made from
CONTACTS = 4  # per site
FINAL = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}

pytestmark = pytest.mark.skipif(not (BIN / "prefect").exists(), reason="needs the venv's prefect command")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(args: list[str], *, env: dict, cwd: Path, log: Path) -> subprocess.Popen:
    with log.open("wb") as out:  # a file, not a pipe: nobody reads it while the process runs
        return subprocess.Popen(args, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _wait_for(check, *, what: str, seconds: float, logs: list[Path]):
    deadline = time.monotonic() + seconds
    while not (value := check()):
        if time.monotonic() > deadline:  # a guard against hanging, not a timing assertion
            tails = "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-2500:]}" for p in logs if p.exists())
            pytest.fail(f"gave up waiting for {what}\n{tails}")
        time.sleep(1)
    return value


def _ours(flow_run: dict, api: str) -> bool:
    """Whether the flow run's process is still alive (checked by its environment: a pid can be reused)."""
    try:
        environ = Path(f"/proc/{int(flow_run.get('infrastructure_pid') or 0)}/environ").read_bytes()
    except (OSError, ValueError):
        return False
    return f"PREFECT_API_URL={api}".encode() in environ.split(b"\0")


def _healthy(api: str) -> bool:
    try:
        return httpx.get(f"{api}/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _sites_prefect_yaml(tmp_path: Path, base_url: str) -> tuple[Path, dict[str, Path]]:
    """prefect.yaml with the real deployments paused, plus one deployment per site made from them."""
    project = yaml.safe_load((PROJECT_ROOT / "prefect.yaml").read_text())
    real = {d["name"]: d for d in project["deployments"]}
    exemplars = tmp_path / "exemplars.jsonl"
    small = (PROJECT_ROOT / "tests" / "fixtures" / "exemplars_small.jsonl").read_text().splitlines()
    exemplars.write_text("\n".join(small[::10]) + "\n")
    lines = (PROJECT_ROOT / "data" / "contacts" / "sample.jsonl").read_text().splitlines()
    deployments, data_dirs = [], {}
    for i, (site, template) in enumerate(SITES.items()):
        source, data_dirs[site] = tmp_path / site / "contacts", tmp_path / site / "cx"
        source.mkdir(parents=True)
        (source / "night.jsonl").write_text("\n".join(lines[i * CONTACTS:(i + 1) * CONTACTS]) + "\n")
        deployment = {**real[template], "name": f"nightly-{site}"}
        deployment["work_pool"] = {**real[template]["work_pool"], "job_variables": {"env": {
            "CX_SOURCE": str(source), "CX_DATA_DIR": str(data_dirs[site]), "CX_EXEMPLARS": str(exemplars),
            "CX_LLM_BASE_URL": base_url, "CX_LLM_TIMEOUT": "30", "CX_CHUNK_SIZE": "2", "CX_DASK_WORKERS": "2"}}}
        deployments.append(deployment)
    # The real ones are deployed too (their entrypoints must load), paused: they would read the default source.
    deployments += [{**d, "paused": True} for d in project["deployments"]]
    path = tmp_path / "prefect.yaml"
    path.write_text(yaml.safe_dump({**project, "deployments": deployments}, sort_keys=False))
    return path, data_dirs


def test_the_commented_sharding_example_matches_nightly():
    """prefect.yaml's commented one-deployment-per-site example, uncommented, is `nightly` with its own env."""
    text = (PROJECT_ROOT / "prefect.yaml").read_text()
    start = text.index("  # - name:")
    example = "\n".join(line.replace("  # ", "  ", 1) for line in text[start:].splitlines())
    project = yaml.safe_load(text[:start] + example)
    real = {d["name"]: d for d in project["deployments"]}
    sites = [d for name, d in real.items() if name not in ("nightly", "nightly-dask")]
    assert len(sites) == 2
    for site in sites:
        env = site["work_pool"]["job_variables"]["env"]
        assert set(env) == {"CX_SOURCE", "CX_DATA_DIR"} and all(Path(v).is_absolute() for v in env.values())
        same = ("entrypoint", "parameters", "schedules", "concurrency_limit")
        assert {k: site[k] for k in same} == {k: real["nightly"][k] for k in same}
        assert site["work_pool"]["name"] == real["nightly"]["work_pool"]["name"] == "cx-process"
    assert len({s["work_pool"]["job_variables"]["env"]["CX_DATA_DIR"] for s in sites}) == 2  # a data dir each


def test_two_workers_run_one_deployment_per_site(tmp_path):
    api = f"http://127.0.0.1:{_free_port()}/api"
    base = {k: v for k, v in os.environ.items() if not k.startswith(("CX_", "PREFECT_", "OPENAI_"))}
    env = {**base, "PREFECT_HOME": str(tmp_path / "prefect"), "PREFECT_API_URL": api, "DO_NOT_TRACK": "1",
           "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "ANONYMIZED_TELEMETRY": "False"}
    procs: list[subprocess.Popen] = []
    logs: list[Path] = []
    flow_runs: dict[str, dict] = {}
    try:
        with FaultLLM(fault_rate=0.0) as llm:
            prefect_file, data_dirs = _sites_prefect_yaml(tmp_path, llm.base_url)
            port = api.split(":")[2].split("/")[0]
            logs.append(tmp_path / "server.log")
            procs.append(_start([str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", port],
                                env=env, cwd=tmp_path, log=logs[-1]))
            _wait_for(lambda: _healthy(api), what="the Prefect server", seconds=180, logs=logs)

            def cli(*args: str) -> str:
                done = subprocess.run([str(BIN / "prefect"), "--no-prompt", *args], env=env, cwd=PROJECT_ROOT,
                                      capture_output=True, text=True, timeout=300)
                assert done.returncode == 0, f"prefect {' '.join(args)}:\n{done.stdout[-3000:]}{done.stderr[-3000:]}"
                return done.stdout

            cli("work-pool", "create", "cx-process", "--type", "process")
            cli("deploy", "--all", "--prefect-file", str(prefect_file))
            deployments = {d["name"]: d for d in httpx.post(f"{api}/deployments/filter", json={}).json()}

            # Workers started outside the checkout: the pull step takes each run to $CX_HOME.
            worker_env = {**env, "CX_HOME": str(PROJECT_ROOT), "PREFECT_WORKER_QUERY_SECONDS": "2"}
            for name in ("cx-worker-a", "cx-worker-b"):
                (tmp_path / name).mkdir()
                logs.append(tmp_path / f"{name}.log")
                procs.append(_start([str(BIN / "prefect"), "worker", "start", "--pool", "cx-process", "--name", name,
                                     "--limit", "1"], env=worker_env, cwd=tmp_path / name, log=logs[-1]))
            run_ids = {}
            for site, template in SITES.items():
                flow = "cx-nightly-dask" if template == "nightly-dask" else "cx-nightly"
                created = cli("deployment", "run", f"{flow}/nightly-{site}")  # prints the flow run's UUID
                run_ids[site] = re.search(r"UUID: ([0-9a-f-]{36})", created)[1]

            def finished() -> bool:
                flow_runs.update({site: httpx.get(f"{api}/flow_runs/{id_}").json() for site, id_ in run_ids.items()})
                return all(run["state_type"] in FINAL for run in flow_runs.values())

            _wait_for(finished, what="both flow runs to finish", seconds=480, logs=logs)
            # A finished run's process must exit too (else it holds its worker's slot); Dask's teardown takes a while.
            _wait_for(lambda: not any(_ours(run, api) for run in flow_runs.values()),
                      what="the flow runs' processes to exit", seconds=180, logs=logs)
            listings = {site: subprocess.run(
                [str(BIN / "cx-worker"), "crm", "list", "--json"], env={**base, "CX_DATA_DIR": str(data_dir)},
                cwd=tmp_path, capture_output=True, text=True, timeout=120) for site, data_dir in data_dirs.items()}
    finally:
        for proc in reversed(procs):
            _kill_group(proc.pid)
        for run in flow_runs.values():  # a flow run's process has a group of its own (Prefect isolates it)
            if _ours(run, api):
                _kill_group(int(run["infrastructure_pid"]))
        for proc in procs:
            proc.wait(timeout=30)

    for name in ("nightly", "nightly-dask", *(f"nightly-{site}" for site in SITES)):
        [schedule] = deployments[name]["schedules"]
        assert schedule["schedule"]["cron"] == "0 2 * * *" and schedule["schedule"]["timezone"] == "Europe/London"
        assert schedule["active"] and deployments[name]["work_pool_name"] == "cx-process"
        assert deployments[name]["global_concurrency_limit"]["limit"] == 1  # concurrency_limit: 1
        assert deployments[name]["pull_steps"] == [
            {"prefect.deployments.steps.set_working_directory": {"directory": "{{ $CX_HOME }}"}}]
    assert deployments["nightly-cardiff"]["entrypoint"] == "flows.nightly:nightly_dask"
    assert deployments["nightly"]["paused"] and not deployments["nightly-leeds"]["paused"]

    assert {site: run["state_type"] for site, run in flow_runs.items()} == dict.fromkeys(SITES, "COMPLETED"), \
        "\n".join(p.read_text(errors="replace")[-3000:] for p in logs if p.name != "server.log")
    # Which worker ran a flow run: Prefect 3.8.8 labels the run with the worker's name when it submits it.
    ran_by = {site: run["labels"].get("prefect.worker.name") for site, run in flow_runs.items()}
    assert set(ran_by.values()) == {"cx-worker-a", "cx-worker-b"}, ran_by  # one each (--limit 1)
    # Not asserted: that the two runs overlapped in time. Each worker took one (above), so they can; whether they did
    # depends on the machine's load (a loaded machine starts the Dask site's cluster after the other site is done).
    assert {run["work_pool_name"] for run in flow_runs.values()} == {"cx-process"}

    ids = {site: [json.loads(line)["id"] for line in (tmp_path / site / "contacts" / "night.jsonl").open()]
           for site in SITES}
    for site, listing in listings.items():
        assert listing.returncode == 0, listing.stderr[-2000:]
        per_contact = Counter(note["interaction_id"] for note in json.loads(listing.stdout))
        assert set(per_contact) == set(ids[site]) and max(per_contact.values()) == 1  # its own, one note each
    assert not set(ids["leeds"]) & set(ids["cardiff"])

    for site, template in SITES.items():
        with sqlite3.connect(data_dirs[site] / "store.sqlite") as db:
            [(status, summary)] = db.execute("SELECT status, summary FROM runs").fetchall()
        assert status == "finished"
        flow_pid = flow_runs[site]["infrastructure_pid"]  # the process worker records the flow run's pid
        pids = {worker.rsplit(":", 1)[1] for worker in json.loads(summary)["workers"]}
        if template == "nightly-dask":  # CX_DASK_WORKERS read when the run started: chunks in other processes
            assert pids and flow_pid not in pids
        else:
            assert pids == {flow_pid}
