"""The store's tests again, on a real PostgreSQL server (`CX_STORE_URL=postgresql://...`): the run store, the CRM
ledger, reviews, audits and retries behave as on SQLite.

The tests imported below are the unit tests themselves, collected here a second time with `env` and
`store_targets` pointing at a fresh PostgreSQL database (and `CX_STORE_URL` set, for the commands they run); the
rest are what only a server can get wrong: NUL characters, long non-Latin reasons in a unique key, the claim that
keeps a delivered note delivered.
"""

from __future__ import annotations

import random
from types import SimpleNamespace

import pytest

from cx_worker.delivery.crm import Crm
from cx_worker.store import Ledger, Store
from tests.support.fakes import WORK, FakeLLM
from tests.support.night import run_night
from tests.system.test_webhook import (  # noqa: F401
    receiver,
    test_a_down_endpoint_marks_notes_failed_and_the_next_run_retries,
    test_held_notes_are_not_delivered_until_released,
)
from tests.unit.test_audit import (  # noqa: F401  (collected here, on PostgreSQL)
    test_a_verdict_is_recorded_audited_and_fed_back,
    test_estimates_come_from_the_verdicts_recorded_before_the_night,
    test_judges_calls_on_audited_contacts_are_kept,
)
from tests.unit.test_crm_store import (  # noqa: F401
    _payload,
    test_held_notes_are_invisible_until_released_and_release_is_audited,
    test_rewriting_a_note_never_duplicates_it,
    test_store_upserts_and_watermark,
)
from tests.unit.test_retries import (  # noqa: F401
    test_a_fault_night_then_a_clean_night_writes_every_contact_exactly_once,
    test_retries_are_bounded_and_spaced_then_given_up,
)
from tests.unit.test_review import test_review_flow_from_the_command_line  # noqa: F401
from tests.unit.test_run_stages import (  # noqa: F401
    test_a_failing_call_is_quarantined_and_the_rest_go_on,
    test_a_night_writes_one_note_per_contact_and_the_llm_sees_no_pii,
    test_bad_lines_and_duplicate_ids_are_quarantined,
)


@pytest.fixture
def store_targets(postgres_url):
    return SimpleNamespace(store=postgres_url, ledger=postgres_url)


@pytest.fixture
def env(env, postgres_url, monkeypatch):
    """The shared night's surroundings, its store and ledger in one PostgreSQL database."""
    env.store.close()
    env.crm.close()
    for made in env.settings.data_dir.glob("*.sqlite*"):  # the SQLite files the shared fixture opened
        made.unlink()
    monkeypatch.setenv("CX_STORE_URL", postgres_url)  # the commands a test runs build their own Settings
    env.settings = env.settings.model_copy(update={"store_url": postgres_url})
    env.store, env.crm = Store(postgres_url), Crm(Ledger(postgres_url))
    yield env
    env.store.close()
    env.crm.close()


def test_a_night_keeps_nothing_of_the_store_in_the_data_dir(env):
    night = run_night(env, FakeLLM(WORK), "r1")
    assert night.notes == {"delivered": 5} and night.books["balanced"]
    assert env.store.engine.dialect.name == env.crm.ledger.engine.dialect.name == "postgresql"
    assert list(env.settings.data_dir.glob("*.sqlite*")) == [] and list(env.settings.data_dir.glob("*.lock")) == []


def test_nul_characters_and_long_non_latin_reasons_are_stored(postgres_url):
    store = Store(postgres_url)
    try:
        store.start_run("r1", config={})
        # PostgreSQL refuses NUL in text; a key compares alike after the same replacement.
        store.quarantine(run_id="r1", interaction_id="c\x001", origin="c\x001", stage="draft", reason="bad\x00 answer")
        store.set_watermark("src\x00", 7)
        assert store.watermark("src\x00") == 7
        # 2,000 CJK characters are 6 kB: over the B-tree's entry size in the quarantine's unique key.
        reason = "".join(chr(random.Random(1).randint(0x4E00, 0x9FFF)) for _ in range(2000))
        store.quarantine(run_id="r1", interaction_id="c2", origin="c2", stage="draft", reason=reason)
        store.quarantine(run_id="r1", interaction_id="c2", origin="c2", stage="draft", reason=reason)  # no double
        rows = store.quarantined(run_id="r1")
        assert [r.origin for r in rows] == ["c\ufffd1", "c2"]
        assert rows[0].reason == "bad\ufffd answer" and reason.startswith(rows[1].reason)
        assert len(rows[1].reason.encode()) <= 2000
    finally:
        store.close()


def test_a_delivered_note_stays_delivered_whoever_writes_it_again(postgres_url):
    ledger = Ledger(postgres_url)
    crm = Crm(ledger)
    try:
        key = "c1:p:m"
        assert ledger.put_note(key, payload=_payload(), body="b", status="pending") == "pending"
        assert crm.deliver_pending() == {"delivered": 1}
        # A second writer that read the status before the delivery committed: its write changes nothing.
        assert ledger.put_note(key, payload=_payload(run="r2"), body="b2", status="held") == "delivered"
        [note] = ledger.notes()
        assert note.status == "delivered" and note.body == "b" and note.attempts == 1
        with ledger.claim(key) as claim:
            assert claim is None  # not deliverable any more
    finally:
        crm.close()
