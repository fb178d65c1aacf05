"""The nightly stages without Prefect: fakes at the edges (LLM), real store, CRM, Chroma (ephemeral)."""

import json
import sqlite3

from tests.support.fakes import WORK, FakeLLM
from tests.support.night import run_night
from tests.support.paths import PROJECT_ROOT

FIXTURES = PROJECT_ROOT / "tests" / "fixtures"


def test_a_night_writes_one_note_per_contact_and_the_llm_sees_no_pii(env):
    llm = FakeLLM(WORK)
    night = run_night(env, llm, "r1")
    assert night.pulled.read == 5 and len(night.pulled.interactions) == 5
    assert night.drafted["drafted"] == 5 and sum(night.outcomes.values()) == 5
    assert night.report.verdict == "pass" and night.notes == {"delivered": 5}
    assert len(env.crm.notes()) == 5
    raw = (env.source / "night.jsonl").read_text()
    emails = [w.strip('.,') for w in raw.split() if "@email.com" in w]
    assert emails, "the fixture should hold personal data to redact"
    assert not any(e in call for call in llm.calls for e in emails)


def test_the_watermark_and_limit_read_each_contact_once(env):
    first = run_night(env, FakeLLM(WORK), "r1", limit=2)
    second = run_night(env, FakeLLM(WORK), "r2", limit=None)
    third = run_night(env, FakeLLM(WORK), "r3", limit=None)
    ids = [i.id for i in first.pulled.interactions] + [i.id for i in second.pulled.interactions]
    assert len(first.pulled.interactions) == 2 and len(ids) == len(set(ids)) == 5
    assert third.pulled.read == 0 and len(env.crm.notes()) == 5


def test_a_rerun_after_a_lost_watermark_reuses_work_and_duplicates_nothing(env):
    run_night(env, FakeLLM(WORK), "r1")
    with sqlite3.connect(env.settings.store_path) as db:  # as if the run died before finishing
        db.execute("DELETE FROM watermark")
        db.execute("UPDATE contacts SET status = 'pending'")
    llm = FakeLLM(WORK)
    again = run_night(env, llm, "r2")
    assert llm.calls == [] and again.drafted["reused"] == 5
    assert len(env.crm.notes()) == 5


def test_a_failing_call_is_quarantined_and_the_rest_go_on(env):
    first_id = json.loads((env.source / "night.jsonl").read_text().splitlines()[0])["turns"][1]["text"][:30]
    night = run_night(env, FakeLLM(WORK, fail_on={first_id}), "r1")
    assert night.drafted["waiting_retry"] == 1 and night.drafted["drafted"] == 4  # a timeout: tried again later
    q = env.store.quarantined(run_id="r1")
    assert len(q) == 1 and q[0].stage == "after_call_work" and "TimeoutError" in q[0].reason
    assert "try 1 of 3" in q[0].reason and [r.status for r in env.store.retries()] == ["waiting"]
    assert sum(night.outcomes.values()) == 5  # the outcome does not need the LLM
    assert len(env.crm.notes()) == 4


def test_bad_lines_and_duplicate_ids_are_quarantined(env):
    good = (env.source / "night.jsonl").read_text().splitlines()
    (env.source / "night.jsonl").write_text("\n".join([good[0], "{broken", good[0], *good[1:]]) + "\n")
    night = run_night(env, FakeLLM(WORK), "r1")
    reasons = [q.reason for q in env.store.quarantined(run_id="r1")]
    assert night.pulled.rejected == 2 and len(night.pulled.interactions) == 5
    assert any(r.startswith("malformed JSON") for r in reasons) and any("duplicate id" in r for r in reasons)


def test_an_invented_amount_breaches_and_holds_write_back(env, tmp_path):
    llm = FakeLLM(WORK, summary_for=lambda t: "Refunded $950 to the customer, reference 99887766.")
    night = run_night(env, llm, "r1")
    assert night.report.verdict == "breach"
    assert night.notes == {"held": 5} and all(env.crm.visible(n.interaction_id) is None for n in env.crm.notes())
    ground = next(r for r in night.report.results if r.metric == "groundedness")
    assert not ground.success and "$950" in ground.details["failures"][0]["why"]
    page = night.paths["html"].read_text()
    assert "BREACH" in page and "$950" in page and "groundedness" in page
