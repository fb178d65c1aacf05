"""Exactly once on a real PostgreSQL server, with real processes at once: unique keys, transactions and the server's
advisory locks, never file locks.

- Two processes write back the same night into one ledger at the same moment, delivering to a webhook: every note
  is recorded once and POSTed once.
- Two processes open a new database at the same moment: each migration step runs once, and both open it.
- A second run while one holds the store stops before reading anything, naming the first (`cx-worker nightly`
  exits 2); when the holder is killed (SIGKILL), the lock goes with it.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import subprocess
import sys
import time
from collections import Counter

import pytest
from sqlalchemy import text

from cx_worker.delivery.crm import Crm
from cx_worker.delivery.webhook import WebhookDelivery
from cx_worker.delivery.write_back import write_back
from cx_worker.drafting.after_call_work import load_dispositions, prompt_hash
from cx_worker.models import Interaction
from cx_worker.settings import Settings
from cx_worker.store import Ledger, RunInProgress, Store
from cx_worker.store.engine import make_engine, migrate
from tests.support.cli_night import CLI, cli_env
from tests.support.fakes import WORK
from tests.support.paths import FIXTURES, PROJECT_ROOT
from tests.system.test_webhook import SECRET, Receiver

CONTACTS = 40


def _write_back_process(url: str, receiver_url: str, run_id: str, barrier, results) -> None:
    """One writer: the night's write-back, as the flow does it, from its own process and connections."""
    settings = Settings(store_url=url)
    store = Store(url)
    crm = Crm(Ledger(url), delivery=WebhookDelivery(url=receiver_url, secret=SECRET, sleep=lambda s: None))
    barrier.wait()
    counts = write_back(store.run_interactions(run_id), store=store, crm=crm, run_id=run_id, settings=settings,
                        dispositions=load_dispositions(settings.dispositions), hold=False, page=7)
    results.put(dict(counts))
    store.close()
    crm.close()


def _a_drafted_night(url: str, run_id: str) -> list[str]:
    """A night drafted and classified, waiting for write-back: contacts, after-call work under tonight's prompt
    hash, outcomes."""
    settings = Settings(store_url=url)
    key = prompt_hash(load_dispositions(settings.dispositions), questions=None)
    base = [Interaction.model_validate_json(line) for line in (FIXTURES / "night5.jsonl").read_text().splitlines()]
    store = Store(url)
    store.start_run(run_id, config={})
    ids = []
    for n in range(CONTACTS):
        contact = base[n % len(base)].model_copy(update={"id": f"c-{n:03}"})
        store.put_contact(contact.id, run_id=run_id, input_hash="h", redacted=contact, pii_counts={},
                          status="pending")
        store.put_acw(contact.id, prompt_hash=key, model=settings.llm_model, run_id=run_id, output=WORK, usage={})
        store.put_outcome(contact.id, run_id=run_id, outcome={"label": "resolved", "confidence": 0.9})
        ids.append(contact.id)
    store.close()
    return ids


class _SlowReceiver(Receiver):
    """The test's webhook endpoint, a little slow per request: the writers overlap for the whole night."""

    def __init__(self):
        super().__init__()
        handler = self.server.RequestHandlerClass
        post = handler.do_POST

        def slow_post(handler_self):
            time.sleep(0.02)
            post(handler_self)

        handler.do_POST = handler.do_PUT = slow_post


def test_two_writers_at_once_deliver_every_note_exactly_once(postgres_url):
    ids = _a_drafted_night(postgres_url, "r1")
    receiver = _SlowReceiver()
    spawn = multiprocessing.get_context("spawn")
    barrier, results = spawn.Barrier(2), spawn.Queue()
    writers = [spawn.Process(target=_write_back_process, args=(postgres_url, receiver.url, "r1", barrier, results))
               for _ in range(2)]
    try:
        for w in writers:
            w.start()
        counts = [results.get(timeout=300) for _ in writers]
        for w in writers:
            w.join(timeout=60)
    finally:
        for w in writers:
            if w.is_alive():
                w.kill()
        receiver.close()
    assert [w.exitcode for w in writers] == [0, 0]
    posted = Counter(key for key, _ in receiver.received)
    assert len(posted) == CONTACTS and max(posted.values()) == 1, "a note POSTed twice"
    # Each writer counts the notes it delivered and those it found delivered: both took part, none was lost.
    assert min(c.get("delivered", 0) for c in counts) > 0 and sum(c["delivered"] for c in counts) >= CONTACTS
    ledger = Ledger(postgres_url)
    notes = ledger.notes()
    ledger.close()
    assert sorted(n.interaction_id for n in notes) == ids
    assert {(n.status, n.attempts) for n in notes} == {("delivered", 1)}
    store = Store(postgres_url)
    assert store.run_statuses("r1") == {"done": CONTACTS}
    store.close()


def _probe_step(conn) -> None:
    # Not idempotent on purpose: run twice, it fails (the table exists) or leaves two rows.
    conn.execute(text("CREATE TABLE probe_applied (pid INTEGER NOT NULL)"))
    time.sleep(0.5)  # a second process arriving now must wait, not migrate alongside
    conn.execute(text("INSERT INTO probe_applied VALUES (:pid)"), {"pid": os.getpid()})


def _open_fresh(url: str, barrier, results) -> None:
    barrier.wait()
    try:
        engine = make_engine(url)
        version = migrate(engine, component="probe", steps=[(1, "probe", _probe_step)])
        engine.dispose()
        store, ledger = Store(url), Ledger(url)
        store.close()
        ledger.close()
        results.put(("ok", version))
    except Exception as exc:  # reported to the test, which shows it
        results.put(("error", f"{type(exc).__name__}: {exc}"))


def test_two_processes_opening_a_new_database_migrate_it_once(postgres_url):
    spawn = multiprocessing.get_context("spawn")
    barrier, results = spawn.Barrier(3), spawn.Queue()
    openers = [spawn.Process(target=_open_fresh, args=(postgres_url, barrier, results)) for _ in range(3)]
    try:
        for p in openers:
            p.start()
        outcomes = [results.get(timeout=300) for _ in openers]
    finally:
        for p in openers:
            p.join(timeout=60)
            if p.is_alive():
                p.kill()
    assert outcomes == [("ok", 1)] * 3, outcomes
    engine = make_engine(postgres_url)
    with engine.connect() as conn:
        applied = conn.execute(text("SELECT count(*) FROM probe_applied")).scalar_one()
        versions = dict(conn.execute(text("SELECT component, version FROM schema_version")).all())
    engine.dispose()
    assert applied == 1
    assert versions == {"probe": 1, "run_store": 3, "ledger": 1}


_HOLD = """
import sys, time
from cx_worker.store import Store
store = Store(sys.argv[1])
with store.run_lock("r-first"):
    store.start_run("r-first", config={})
    print("holding", flush=True)
    time.sleep(600)
"""


@pytest.mark.skipif(not CLI.exists(), reason="needs the installed cx-worker command")
def test_a_second_run_stops_naming_the_first_and_a_killed_holder_frees_the_lock(postgres_url, tmp_path):
    holder = subprocess.Popen([sys.executable, "-c", _HOLD, postgres_url], stdout=subprocess.PIPE, text=True,
                              cwd=PROJECT_ROOT)
    try:
        assert holder.stdout.readline().strip() == "holding"
        env = cli_env(tmp_path, "http://127.0.0.1:9/v1", contacts=2, CX_STORE_URL=postgres_url)
        second = subprocess.run([str(CLI), "nightly", "--all", "--json"], env=env, cwd=tmp_path,
                                capture_output=True, text=True, timeout=300)
        assert second.returncode == 2, second.stderr[-2000:]
        assert "another run is in progress on this database: run r-first" in second.stderr
        store = Store(postgres_url)
        assert store.contact_ids(status="pending") == []  # it stopped before reading anything
        with pytest.raises(RunInProgress), store.run_lock("r-third"):
            pass
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=30)
        deadline = time.monotonic() + 30  # the server ends the dead session's lock as soon as it sees it gone
        while True:
            try:
                with store.run_lock("r-third"):
                    break
            except RunInProgress:
                assert time.monotonic() < deadline, "the killed holder's lock outlived it"
                time.sleep(0.2)
        store.close()
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()
    summary = json.loads(second.stdout.strip().splitlines()[-1]) if second.stdout.strip() else None
    assert summary is None  # no run summary: the second run never ran
