"""A data dir written by cx-worker before the store spoke SQLAlchemy (no schema_version) opens, keeps every row and
its order, and gains what it lacked; opening it again changes nothing."""

import json
import sqlite3

from cx_worker.store import Ledger, Store
from tests.support.fakes import WORK

# The run store's and the ledger's tables as cx-worker 0.1 created them (before versioned migrations).
_OLD_STORE = """
CREATE TABLE runs (run_id TEXT PRIMARY KEY, started_at TEXT NOT NULL, finished_at TEXT, status TEXT NOT NULL,
    config TEXT, summary TEXT);
CREATE TABLE contacts (interaction_id TEXT PRIMARY KEY, run_id TEXT NOT NULL, input_hash TEXT NOT NULL,
    redacted TEXT NOT NULL, pii_counts TEXT NOT NULL, status TEXT NOT NULL, updated_at TEXT NOT NULL);
CREATE TABLE after_call_work (interaction_id TEXT NOT NULL, prompt_hash TEXT NOT NULL, model TEXT NOT NULL,
    run_id TEXT NOT NULL, output TEXT NOT NULL, prompt_tokens INTEGER, completion_tokens INTEGER, seconds REAL,
    created_at TEXT NOT NULL, PRIMARY KEY (interaction_id, prompt_hash, model));
CREATE TABLE eval_results (run_id TEXT NOT NULL, metric TEXT NOT NULL, score REAL, threshold REAL,
    success INTEGER NOT NULL, measured INTEGER NOT NULL, reason TEXT NOT NULL, details TEXT NOT NULL,
    created_at TEXT NOT NULL, PRIMARY KEY (run_id, metric));
CREATE TABLE watermark (origin TEXT PRIMARY KEY, offset INTEGER NOT NULL, updated_at TEXT NOT NULL);
"""
_OLD_LEDGER = """
CREATE TABLE notes (note_key TEXT PRIMARY KEY, interaction_id TEXT NOT NULL, run_id TEXT NOT NULL,
    status TEXT NOT NULL, body TEXT NOT NULL, payload TEXT NOT NULL, created_at TEXT NOT NULL, delivered_at TEXT);
CREATE TABLE releases (run_id TEXT NOT NULL, released_by TEXT NOT NULL, reason TEXT NOT NULL, notes INTEGER NOT NULL,
    at TEXT NOT NULL);
"""
_CONTACT = json.dumps({"id": "c1", "channel": "chat", "turns": [{"speaker": "customer", "text": "hello"}]})


def test_an_earlier_run_store_keeps_its_rows_and_their_order(tmp_path):
    path = tmp_path / "store.sqlite"
    with sqlite3.connect(path) as db:
        db.executescript(_OLD_STORE)
        for run in ("r-b", "r-a"):  # started in this order; ids sort the other way
            db.execute("INSERT INTO runs VALUES (?, '2026-11-01T02:00:00+00:00', NULL, 'finished', '{}', NULL)", (run,))
            db.execute("INSERT INTO eval_results VALUES (?, 'groundedness', 1.0, 0.9, 1, 1, 'ok', '{}', 'x')", (run,))
        db.execute("INSERT INTO contacts VALUES ('c1', 'r-b', 'h', ?, '{}', 'done', 'x')", (_CONTACT,))
        db.execute("INSERT INTO after_call_work VALUES ('c1', 'p', 'm', 'r-b', ?, 10, 5, 1.5, 'x')",
                   (json.dumps(WORK),))
        db.execute("INSERT INTO watermark VALUES ('src::a.jsonl', 120, 'x')")
    store = Store(path)
    assert store.watermark("src::a.jsonl") == 120
    assert store.contact("c1").redacted.turns[0].text == "hello"
    assert store.latest_acw("c1").output.summary == WORK["summary"] and store.run_usage("r-b").calls == 1
    assert store.judged_runs(until_run="r-a", limit=30) == ["r-b", "r-a"]  # start order, from the old rowids
    assert store.previous_judged_run("r-a") == "r-b"
    store.start_run("r-new", config={})  # newer than both
    store.put_eval("r-new", {"metric": "groundedness", "success": True, "measured": True, "reason": "ok"})
    assert store.judged_runs(until_run="r-new", limit=2) == ["r-a", "r-new"]
    store.add_review_decision("c1", "approve", by="lead", reason="", detail={})  # a table the old store lacked
    assert [d.decision for d in store.review_decisions("c1")] == ["approve"]
    store.close()
    again = Store(path)  # a second open migrates nothing and loses nothing
    assert again.watermark("src::a.jsonl") == 120 and len(again.review_decisions()) == 1


def test_an_earlier_ledger_gains_its_delivery_columns(tmp_path):
    path = tmp_path / "crm.sqlite"
    with sqlite3.connect(path) as db:
        db.executescript(_OLD_LEDGER)
        db.execute("INSERT INTO releases VALUES ('r1', 'lead', 'checked', 2, 'x')")
    ledger = Ledger(path)
    assert ledger.releases("r1")[0].released_by == "lead"
    with sqlite3.connect(path) as db:
        columns = {row[1] for row in db.execute("PRAGMA table_info(notes)")}
        versions = dict(db.execute("SELECT component, version FROM schema_version"))
    assert {"attempts", "last_error", "sink", "revision"} <= columns
    assert versions == {"ledger": 1}
