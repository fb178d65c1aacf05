"""The nightly stages without Prefect: fakes at the edges (LLM), real store, CRM, Chroma (ephemeral)."""

import json
import shutil
from types import SimpleNamespace

import chromadb
import pytest

from cx_worker.delivery.crm import SqliteCrm
from cx_worker.delivery.write_back import write_back
from cx_worker.drafting.after_call_work import load_dispositions
from cx_worker.drafting.draft import draft
from cx_worker.drafting.prepare import prepare_contacts
from cx_worker.governance.verdict import judge_run
from cx_worker.ingest.pull import advance_watermark, pull
from cx_worker.outcomes.classifier import Classifier
from cx_worker.outcomes.exemplars import add_exemplars, open_collection, read_exemplars
from cx_worker.settings import Settings
from cx_worker.store import Store
from tests.support.paths import PROJECT_ROOT

FIXTURES = PROJECT_ROOT / "tests" / "fixtures"


class FakeLLM:
    """Answers every call with the given after-call work (or raises), like with_structured_output(include_raw)."""

    def __init__(self, work: dict | None = None, *, fail_on: set[str] = frozenset(), summary_for=None):
        self.work, self.fail_on, self.calls, self.summary_for = work, fail_on, [], summary_for

    def with_structured_output(self, schema, *, method, include_raw):
        assert include_raw and method == "function_calling"

        def invoke(messages):
            transcript = messages[-1].content
            self.calls.append(transcript)
            if any(f in transcript for f in self.fail_on):
                raise TimeoutError("request timed out")
            work = dict(self.work)
            if self.summary_for:
                work["summary"] = self.summary_for(transcript)
            raw = SimpleNamespace(usage_metadata={"input_tokens": 500, "output_tokens": 90},
                                  response_metadata={"finish_reason": "stop"})
            return {"raw": raw, "parsed": schema.model_validate(work), "parsing_error": None}

        return SimpleNamespace(invoke=invoke)


WORK = {"summary": "The customer asked for help and the agent answered.", "customer_intent": "help",
        "disposition": "product_question", "action_items": [], "crm_note": "Answered the question.",
        "sentiment_start": "neutral", "sentiment_end": "positive",
        "emotional_risk": {"flag": False, "reason": ""}, "handoff_context": ""}


@pytest.fixture(scope="module")
def collection(tmp_path_factory):
    """The exemplar collection is only read by these tests: embed it once."""
    col = open_collection(tmp_path_factory.mktemp("chroma"), client=chromadb.EphemeralClient(), name="run_stages")
    add_exemplars(read_exemplars(FIXTURES / "exemplars_small.jsonl"), collection=col)
    return col


@pytest.fixture
def env(tmp_path, collection):
    source = tmp_path / "in"
    source.mkdir()
    shutil.copy(FIXTURES / "night5.jsonl", source / "night.jsonl")
    settings = Settings(source=source, data_dir=tmp_path / "cx", thresholds=FIXTURES / "suite_test.yaml")
    store = Store(settings.store_path)
    return SimpleNamespace(settings=settings, store=store, collection=collection, source=source,
                           crm=SqliteCrm(tmp_path / "cx" / "crm.sqlite"),
                           dispositions=load_dispositions(settings.dispositions))


def _night(e, llm, run_id, *, limit=None):
    e.store.start_run(run_id, config={})
    pulled = pull(e.settings, store=e.store, run_id=run_id, limit=limit)
    redacted = prepare_contacts(pulled.interactions, store=e.store, run_id=run_id, enabled=True)
    drafted = draft(redacted, llm=llm, settings=e.settings, dispositions=e.dispositions, store=e.store,
                           run_id=run_id)
    outcomes = Classifier(collection=e.collection, model=None, contacts=None, k=5).classify_and_store(
        redacted, store=e.store, run_id=run_id)
    report, paths = judge_run(run_id, settings=e.settings, store=e.store, crm=e.crm, llm=None)
    notes = write_back(redacted, store=e.store, crm=e.crm, run_id=run_id, settings=e.settings,
                              dispositions=e.dispositions, hold=report.verdict != "pass")
    advance_watermark(e.settings, store=e.store, offsets=pulled.offsets)
    return SimpleNamespace(pulled=pulled, drafted=drafted, outcomes=outcomes, report=report, notes=notes,
                           paths=paths)


def test_a_night_writes_one_note_per_contact_and_the_llm_sees_no_pii(env):
    llm = FakeLLM(WORK)
    night = _night(env, llm, "r1")
    assert night.pulled.read == 5 and len(night.pulled.interactions) == 5
    assert night.drafted["drafted"] == 5 and sum(night.outcomes.values()) == 5
    assert night.report.verdict == "pass" and night.notes == {"delivered": 5}
    assert len(env.crm.notes()) == 5
    raw = (env.source / "night.jsonl").read_text()
    emails = [w.strip('.,') for w in raw.split() if "@email.com" in w]
    assert emails, "the fixture should hold personal data to redact"
    assert not any(e in call for call in llm.calls for e in emails)


def test_the_watermark_and_limit_read_each_contact_once(env):
    first = _night(env, FakeLLM(WORK), "r1", limit=2)
    second = _night(env, FakeLLM(WORK), "r2", limit=None)
    third = _night(env, FakeLLM(WORK), "r3", limit=None)
    ids = [i.id for i in first.pulled.interactions] + [i.id for i in second.pulled.interactions]
    assert len(first.pulled.interactions) == 2 and len(ids) == len(set(ids)) == 5
    assert third.pulled.read == 0 and len(env.crm.notes()) == 5


def test_a_rerun_after_a_lost_watermark_reuses_work_and_duplicates_nothing(env):
    _night(env, FakeLLM(WORK), "r1")
    env.store.db.execute("DELETE FROM watermark")
    env.store.db.execute("UPDATE contacts SET status = 'pending'")  # as if the run died before finishing
    llm = FakeLLM(WORK)
    again = _night(env, llm, "r2")
    assert llm.calls == [] and again.drafted["reused"] == 5
    assert len(env.crm.notes()) == 5


def test_a_failing_call_is_quarantined_and_the_rest_go_on(env):
    first_id = json.loads((env.source / "night.jsonl").read_text().splitlines()[0])["turns"][1]["text"][:30]
    night = _night(env, FakeLLM(WORK, fail_on={first_id}), "r1")
    assert night.drafted["failed"] == 1 and night.drafted["drafted"] == 4
    q = env.store.quarantined(run_id="r1")
    assert len(q) == 1 and q[0]["stage"] == "after_call_work" and "TimeoutError" in q[0]["reason"]
    assert sum(night.outcomes.values()) == 5  # the outcome does not need the LLM
    assert len(env.crm.notes()) == 4


def test_bad_lines_and_duplicate_ids_are_quarantined(env):
    good = (env.source / "night.jsonl").read_text().splitlines()
    (env.source / "night.jsonl").write_text("\n".join([good[0], "{broken", good[0], *good[1:]]) + "\n")
    night = _night(env, FakeLLM(WORK), "r1")
    reasons = [q["reason"] for q in env.store.quarantined(run_id="r1")]
    assert night.pulled.rejected == 2 and len(night.pulled.interactions) == 5
    assert any(r.startswith("malformed JSON") for r in reasons) and any("duplicate id" in r for r in reasons)


def test_an_invented_amount_breaches_and_holds_write_back(env, tmp_path):
    llm = FakeLLM(WORK, summary_for=lambda t: "Refunded $950 to the customer, reference 99887766.")
    night = _night(env, llm, "r1")
    assert night.report.verdict == "breach"
    assert night.notes == {"held": 5} and all(env.crm.visible(n["interaction_id"]) is None for n in env.crm.notes())
    ground = next(r for r in night.report.results if r.metric == "groundedness")
    assert not ground.success and "$950" in ground.details["failures"][0]["why"]
    page = night.paths["html"].read_text()
    assert "BREACH" in page and "$950" in page and "groundedness" in page
