"""A contact whose LLM call failed is drafted again on a later night (bounded, with backoff, its reason kept), and
every night accounts for every contact: read + retried = already done + written + quarantined + waiting."""

import json
from datetime import datetime, timedelta

from cx_worker.cli import main
from cx_worker.settings import Settings
from tests.support.fakes import WORK, FakeLLM
from tests.support.night import run_night


def _first_words(env, n):
    """A piece of the n-th contact's first customer turn: what the fake LLM fails on."""
    contacts = [json.loads(line) for line in (env.source / "night.jsonl").read_text().splitlines()]
    return next(t["text"][:25] for t in contacts[n]["turns"] if t["speaker"] == "customer")


def test_a_fault_night_then_a_clean_night_writes_every_contact_exactly_once(env):
    env.settings = env.settings.model_copy(update={"retry_backoff_hours": 0.0})  # due at once, for the test
    faulty = FakeLLM(WORK, fail_on={_first_words(env, 0), _first_words(env, 3)})
    first = run_night(env, faulty, "r1")
    assert first.drafted["waiting_retry"] == 2 and first.drafted["drafted"] == 3
    assert first.books == {"read": 5, "retried": 0, "already_done": 0, "written": 3, "quarantined": 0,
                           "waiting_for_retry": 2, "unfinished": 0, "balanced": True}
    assert len(env.crm.notes()) == 3
    waiting = env.store.retries(status="waiting")
    assert len(waiting) == 2 and all("TimeoutError" in r.reason and r.attempts == 1 for r in waiting)

    clean = FakeLLM(WORK)
    second = run_night(env, clean, "r2")
    assert second.retried == 2 and second.pulled.read == 0 and second.drafted["drafted"] == 2
    assert second.books["written"] == 2 and second.books["balanced"]
    assert len(clean.calls) == 2, "only the two that failed are sent again"
    notes = env.crm.notes()
    assert len(notes) == 5 and len({n.interaction_id for n in notes}) == 5, "every contact once, none twice"
    assert {r.status for r in env.store.retries()} == {"done"}

    third = run_night(env, FakeLLM(WORK), "r3")
    assert third.retried == 0 and third.pulled.read == 0 and len(env.crm.notes()) == 5


def test_retries_are_bounded_and_spaced_then_given_up(env):
    env.settings = env.settings.model_copy(update={"retry_backoff_hours": 0.0, "retry_max_attempts": 2})
    always = {_first_words(env, 1)}
    run_night(env, FakeLLM(WORK, fail_on=always), "r1")
    second = run_night(env, FakeLLM(WORK, fail_on=always), "r2")
    assert second.retried == 1 and second.drafted["failed"] == 1 and second.books["quarantined"] == 1
    [entry] = env.store.retries()
    assert entry.status == "given_up" and entry.attempts == 2
    assert any("gave up after 2 tries" in q.reason for q in env.store.quarantined(run_id="r2"))
    assert run_night(env, FakeLLM(WORK), "r3").retried == 0, "given up: not retried by itself"
    # ops can queue it again by hand, with a fresh budget
    assert main(["quarantine", "retry", entry.interaction_id, "--data-dir", str(env.settings.data_dir)]) == 0
    fourth = run_night(env, FakeLLM(WORK), "r4")
    assert fourth.retried == 1 and fourth.drafted["drafted"] == 1 and fourth.books["balanced"]


def test_the_wait_doubles_after_each_failure(env):
    store = env.store
    first = store.schedule_retry("c1", run_id="r1", reason="timeout", max_attempts=5, backoff_hours=12)
    second = store.schedule_retry("c1", run_id="r2", reason="timeout", max_attempts=5, backoff_hours=12)
    assert (first.attempts, second.attempts) == (1, 2)
    assert store.due_retries() == []  # 12 h, then 24 h from now: nothing due yet
    gap = datetime.fromisoformat(second.due_at) - datetime.fromisoformat(first.due_at)
    assert timedelta(hours=11, minutes=59) < gap < timedelta(hours=12, minutes=1)  # 24 h after the 2nd failure


def test_an_answer_that_cannot_be_used_is_not_retried(env):
    # Invalid structured output after the repair re-ask fails the same way every time: quarantined for good.
    class Invalid(FakeLLM):
        def with_structured_output(self, schema, *, method, include_raw):
            inner = super().with_structured_output(schema, method=method, include_raw=include_raw)

            def invoke(messages):
                answer = inner.invoke(messages)
                return {**answer, "parsed": None, "parsing_error": ValueError("summary: field required")}
            return type(inner)(invoke=invoke)

    night = run_night(env, Invalid(WORK), "r1", limit=1)
    assert night.drafted["failed"] == 1 and env.store.retries() == []
    assert night.books["quarantined"] == 1 and night.books["balanced"]


def test_quarantine_retry_needs_an_id_or_all(env, capsys):
    assert main(["quarantine", "retry", "--data-dir", str(env.settings.data_dir)]) == 2
    assert main(["quarantine", "retry", "nobody", "--data-dir", str(env.settings.data_dir)]) == 2
    assert "not in the store" in capsys.readouterr().err


def test_an_empty_quarantine_says_so(env, capsys):
    assert main(["quarantine", "list", "--data-dir", str(env.settings.data_dir)]) == 0
    assert "nothing quarantined" in capsys.readouterr().err


def test_settings_name_the_retry_budget():
    s = Settings()
    assert s.retry_max_attempts == 3 and s.retry_backoff_hours == 12.0
