"""A whole night on a Dask cluster whose workers have no data dir: the store on a PostgreSQL server
(`CX_STORE_URL`), the exemplars and past contacts on a Chroma server (`CX_CHROMA_URL`), the chunks redacted,
embedded and drafted on workers that cannot see the flow's `CX_DATA_DIR`, exactly once.

The cluster is started here as a multi-machine one would be: `dask scheduler` and `dask worker` processes, in a
working directory of their own, with none of the flow's `CX_*` variables. The flow's folder (its data dir, source,
exemplar file and Prefect home) is closed to them by an audit hook every worker loads (`--preload`): any open,
listing, creation, removal or SQLite connection under it is recorded and refused (PermissionError), as on a
machine without that folder. (Running the workers as another
user would say the same, but the venv's interpreter is not reachable by another user on every machine: on this
one it lives under /root.) `cx-worker nightly` then runs with `CX_TASK_RUNNER=dask` and `CX_DASK_ADDRESS` pointing
at that scheduler, against the instant test endpoint (`FaultLLM`).

Checked: the chunks ran in the workers' processes; one CRM note per contact; the same LLM requests, after-call work
and outcomes as a night of the thread runner (SQLite and the embedded Chroma in its data dir) on the same input;
nothing of the store or of Chroma in the flow's data dir, and no data dir in the workers'. Slow (~2.5 min here).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

import pytest
from distributed import Client

from cx_worker.store import Ledger, Store
from tests.support.cli_night import CLI, cli_env
from tests.support.fault_llm import FaultLLM
from tests.support.paths import PROJECT_ROOT
from tests.support.postgres import free_port

CONTACTS = 12
DASK = PROJECT_ROOT / ".venv" / "bin" / "dask"

pytestmark = pytest.mark.skipif(not CLI.exists(), reason="needs the installed cx-worker command")

# Loaded by every worker process before it takes work: records, and refuses, what touches the flow's folder.
_AUDIT_HOOK = """
import os
import sys

FORBIDDEN = {forbidden!r}
LOG = {log!r}
EVENTS = {{"open", "os.listdir", "os.scandir", "os.mkdir", "os.remove", "os.rename", "os.rmdir", "os.chmod",
          "os.utime", "shutil.rmtree", "shutil.copyfile", "sqlite3.connect", "os.symlink", "os.link"}}


def _hook(event, args):
    if event not in EVENTS or not args or not isinstance(args[0], (str, bytes, os.PathLike)):
        return
    path = os.path.abspath(os.fsdecode(args[0]))
    if path == FORBIDDEN or path.startswith(FORBIDDEN + os.sep):
        with open(LOG, "a") as log:
            log.write(f"{{os.getpid()}} {{event}} {{path}}\\n")
        raise PermissionError(13, "the flow's folder is not on this worker", path)


sys.addaudithook(_hook)
"""


class _Cluster:
    """`dask scheduler` and `dask worker --nworkers N` on 127.0.0.1, in `home`, each worker loading `preload`."""

    def __init__(self, home: Path, *, workers: int, preload: Path) -> None:
        self.home, self.workers, self.preload = home, workers, preload
        self.address = f"tcp://127.0.0.1:{free_port()}"
        self.procs: list[subprocess.Popen] = []

    def _spawn(self, argv: list[str], log: str) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("CX_", "PREFECT_", "OPENAI_"))}
        env.update({"HOME": str(self.home), "PREFECT_HOME": str(self.home / "prefect"), "DO_NOT_TRACK": "1",
                    "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "ANONYMIZED_TELEMETRY": "False"})
        with (self.home / log).open("wb") as out:
            self.procs.append(subprocess.Popen(argv, cwd=self.home, env=env, stdout=out, stderr=subprocess.STDOUT,
                                               start_new_session=True))

    def __enter__(self) -> _Cluster:
        port = self.address.rsplit(":", 1)[1]
        try:
            self._spawn([str(DASK), "scheduler", "--host", "127.0.0.1", "--port", port, "--no-dashboard"],
                        "scheduler.log")
            self._spawn([str(DASK), "worker", self.address, "--nworkers", str(self.workers), "--nthreads", "1",
                         "--no-dashboard", "--host", "127.0.0.1", "--local-directory", str(self.home / "dask"),
                         "--preload", str(self.preload)], "workers.log")
            with Client(self.address, timeout=120) as client:
                client.wait_for_workers(self.workers, timeout=180)
                self.pids = set(client.run(os.getpid).values())
            return self
        except BaseException:
            self.__exit__()
            raise

    def __exit__(self, *exc) -> None:
        for proc in reversed(self.procs):
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=30)

    def log(self) -> str:
        return "".join((self.home / name).read_text(errors="replace")[-3000:] for name in
                       ("scheduler.log", "workers.log") if (self.home / name).exists())


def _night(folder: Path, llm: FaultLLM, **extra: str) -> tuple[dict, list[dict]]:
    """One night through the CLI, then its CRM notes; returns (summary, notes)."""
    env = cli_env(folder, llm.base_url, contacts=CONTACTS, CX_CHUNK_SIZE="3", CX_LLM_CONCURRENCY="2", **extra)
    night = subprocess.run([str(CLI), "nightly", "--all", "--json"], env=env, cwd=folder, capture_output=True,
                           text=True, timeout=900)
    assert night.returncode in (0, 1), night.stderr[-4000:]  # eval pass or breach: both finished
    listing = subprocess.run([str(CLI), "crm", "list", "--json"], env=env, cwd=folder, capture_output=True,
                             text=True, timeout=300)
    assert listing.returncode == 0, listing.stderr[-2000:]
    return json.loads(night.stdout.strip().splitlines()[-1]), json.loads(listing.stdout)


def _outputs(store_target, ledger_target) -> dict[str, tuple]:
    """Per contact: the note's after-call work and outcome (label, confidence, evidence, signals), and the stored
    ones; without the one thing that differs by when it ran: the time its fusion model was fitted."""
    ledger, store = Ledger(ledger_target), Store(store_target)

    def outcome(o) -> dict:
        return {**o.model_dump(include={"label", "confidence", "evidence"}),
                "signals": {k: v for k, v in o.signals.items() if k != "model"}}
    try:
        return {n.interaction_id: (n.payload.work.model_dump(), outcome(n.payload.outcome),
                                   store.latest_acw(n.interaction_id).output.model_dump(),
                                   outcome(store.outcome(n.interaction_id)))
                for n in ledger.notes()}
    finally:
        ledger.close()
        store.close()


def _drafts(llm: FaultLLM, since: int) -> list[bytes]:
    return sorted(r.raw for r in llm.requests[since:] if r.tool == "AfterCallWork")


def test_a_night_on_dask_workers_without_the_data_dir(postgres_url, chroma_server):
    base = Path(tempfile.mkdtemp(prefix="cx-dask-night-"))
    flow, workers_home = base / "flow", base / "workers"
    flow.mkdir()
    workers_home.mkdir()
    hook = workers_home / "audit_hook.py"
    access_log = workers_home / "flow_folder_access.log"
    data_dir = flow / "dask" / "cx"  # the Dask night's CX_DATA_DIR, in its folder (source, exemplars, Prefect home)
    hook.write_text(_AUDIT_HOOK.format(forbidden=str(data_dir.parent), log=str(access_log)))

    def can_create(folder: str) -> bool:  # (nested: Dask ships it to the workers by value)
        try:
            os.makedirs(folder, exist_ok=True)
            open(os.path.join(folder, "probe"), "w").close()
            return True
        except PermissionError:
            return False
    try:
        with FaultLLM(delay=0.02) as llm:
            threads_summary, _ = _night(flow / "threads", llm, CX_TASK_RUNNER="threads")
            on_threads = len(llm.requests)
            with _Cluster(workers_home, workers=2, preload=hook) as cluster:
                # The hook works: a worker cannot make or open anything in the flow's folder.
                with Client(cluster.address, timeout=60) as client:
                    assert set(client.run(can_create, str(data_dir)).values()) == {False}
                access_log.unlink(missing_ok=True)
                try:
                    summary, notes = _night(
                        flow / "dask", llm, CX_TASK_RUNNER="dask", CX_DASK_ADDRESS=cluster.address,
                        CX_CHUNKS_IN_FLIGHT="2", CX_STORE_URL=postgres_url, CX_CHROMA_URL=chroma_server.url)
                except AssertionError as exc:
                    raise AssertionError(f"{exc}\n--- cluster ---\n{cluster.log()}") from None
                worker_pids = cluster.pids

        # The chunks ran in the cluster's worker processes, not the flow's.
        assert sum(summary["workers"].values()) == CONTACTS // 3
        assert {int(w.rsplit(":", 1)[1]) for w in summary["workers"]} <= worker_pids
        assert summary["new"] == CONTACTS and summary["quarantined"] == 0
        assert summary["drafted"] == {"drafted": CONTACTS} and summary["accounting"]["balanced"]

        # Exactly once: one note per contact, one LLM call per contact.
        assert sorted(n["interaction_id"] for n in notes) == sorted({n["interaction_id"] for n in notes})
        assert len(notes) == CONTACTS
        assert len(_drafts(llm, on_threads)) == CONTACTS

        # The same night as the thread runner's on SQLite and the embedded Chroma.
        assert _drafts(llm, on_threads) == sorted(r.raw for r in llm.requests[:on_threads]
                                                  if r.tool == "AfterCallWork")
        on_dask = _outputs(postgres_url, postgres_url)
        assert len(on_dask) == CONTACTS
        assert on_dask == _outputs(flow / "threads" / "cx" / "store.sqlite", flow / "threads" / "cx" / "crm.sqlite")
        assert summary["outcomes"] == threads_summary["outcomes"]

        # Nothing of the store or of Chroma in the flow's data dir; nothing of a data dir on the workers' side.
        assert not (data_dir / "store.sqlite").exists() and not (data_dir / "crm.sqlite").exists()
        assert not (data_dir / "chroma").exists()
        assert (flow / "threads" / "cx" / "store.sqlite").exists()  # (where the thread night kept its store)
        assert not access_log.exists(), access_log.read_text()
        made = [p for p in workers_home.rglob("*") if p.name in (".cx", "cx", "store.sqlite", "crm.sqlite",
                                                                 "chroma")]
        assert made == []
    finally:
        shutil.rmtree(base, ignore_errors=True)
