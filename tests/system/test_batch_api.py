"""Cost mode: after-call work through the OpenAI Batch API, against a fake of its documented shapes.

Real contacts (data/contacts/sample.jsonl, redacted), a real store; the fake API on 127.0.0.1 answers each request
line with a forced tool call built from the request's own tool schema, or with the fault a test names.
"""

from __future__ import annotations

import json
import logging
import re

import openai
import pytest

from cx_worker.drafting import batch_api
from cx_worker.drafting.after_call_work import load_dispositions, prompt_hash, write_after_call_work
from cx_worker.drafting.batch_api import draft_batch, openai_client, request_body
from cx_worker.llm.client import build_llm
from cx_worker.models import Interaction
from cx_worker.redaction.redactor import redact_interaction
from cx_worker.settings import Settings
from cx_worker.store import Store
from tests.support.fake_batch_api import FakeBatchAPI
from tests.support.fault_llm import FaultLLM
from tests.support.paths import PROJECT_ROOT

KEY = "cx-test-key-batch-7f3a9c"  # fake: must never reach the store or the logs
DISPOSITIONS = load_dispositions(Settings().dispositions)
HASH = prompt_hash(DISPOSITIONS)
CONTACTS = [redact_interaction(Interaction.model_validate_json(line))[0]
            for line in (PROJECT_ROOT / "data" / "contacts" / "sample.jsonl").read_text().splitlines()[:8]]


class Crash(BaseException):
    """The process dies here (not an Exception: nothing may catch it)."""


def _settings(api, tmp_path, **options) -> Settings:
    return Settings(llm_base_url=api.base_url, llm_api_key=KEY, llm_mode="batch", data_dir=tmp_path / "cx",
                    llm_max_retries=0, **options)


def _store(settings: Settings, contacts=CONTACTS) -> Store:
    store = Store(settings.store_path)
    for c in contacts:
        store.put_contact(c.id, run_id="r1", input_hash="h", redacted=c, pii_counts={},
                          status="pending")
    return store


def _draft(api, settings, store, contacts=CONTACTS, **options):
    return draft_batch(contacts, client=openai_client(settings), settings=settings, dispositions=DISPOSITIONS,
                       store=store, run_id="r1", **({"sleep": lambda s: None} | options))


def _reasons(store: Store) -> dict[str, str]:
    """Each quarantined contact's reason, without the retry note a request-level failure carries."""
    return {q.interaction_id: RETRY_NOTE.sub("", q.reason) for q in store.quarantined()
            if q.stage == "after_call_work"}


RETRY_NOTE = re.compile(r" \(try \d+ of \d+; retried by the first run after [^)]*\)$")


def test_a_night_is_drafted_in_one_batch_with_usage_and_the_key_stays_out_of_store_and_logs(tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    progress = []
    with FakeBatchAPI() as api:
        settings = _settings(api, tmp_path)
        store = _store(settings)
        counts = _draft(api, settings, store, on_progress=lambda: progress.append(1))
    assert counts == {"drafted": len(CONTACTS)} and len(progress) == len(CONTACTS)
    assert len(api.batches) == 1 and len(api.uploads()) == 1 and len(api.uploads()[0]) == len(CONTACTS)
    for contact in CONTACTS:
        acw = store.acw(contact.id, prompt_hash=HASH, model=settings.llm_model)
        assert acw is not None and acw.output.summary and acw.run_id == "r1"
        assert acw.prompt_tokens > 0 and acw.completion_tokens > 0
    [row] = store.llm_batches(prompt_hash=HASH, model=settings.llm_model, open_only=False)
    assert row.batch_id in api.batches and row.status == "collected"
    assert sorted(row.custom_ids.values()) == sorted(c.id for c in CONTACTS)
    assert api.batches[row.batch_id]["metadata"]["run_id"] == "r1"
    assert api.authorizations == {f"Bearer {KEY}"}
    store.close()
    for path in settings.data_dir.iterdir():  # the SQLite file and its WAL
        assert KEY.encode() not in path.read_bytes(), path
    assert KEY not in caplog.text


def test_a_re_run_sends_nothing_again(tmp_path):
    with FakeBatchAPI() as api:
        settings = _settings(api, tmp_path)
        store = _store(settings)
        _draft(api, settings, store)
        calls = len(api.log)
        again = _draft(api, settings, store)
    assert again == {"reused": len(CONTACTS)}
    assert len(api.log) == calls and len(api.batches) == 1  # not even a status check


def test_a_crash_while_the_batch_is_in_flight_polls_it_instead_of_paying_twice(tmp_path):
    def crash(seconds):
        raise Crash

    with FakeBatchAPI(polls=3) as api:
        settings = _settings(api, tmp_path)
        with pytest.raises(Crash):
            _draft(api, settings, _store(settings), sleep=crash)
        [batch_id] = api.batches
        assert api.batches[batch_id]["status"] != "completed"  # still in flight when the process died
        counts = _draft(api, settings, Store(settings.store_path))  # a new process: a fresh connection
    assert counts == {"drafted": len(CONTACTS)}
    assert list(api.batches) == [batch_id] and len(api.uploads()) == 1


def test_a_crash_between_create_and_record_finds_the_batch_by_its_tag(tmp_path, monkeypatch):
    def crash(*args, **kwargs):
        raise Crash

    with FakeBatchAPI() as api:
        settings = _settings(api, tmp_path)
        with monkeypatch.context() as patch:
            patch.setattr(Store, "put_llm_batch", crash)
            with pytest.raises(Crash):
                _draft(api, settings, _store(settings))
        assert len(api.batches) == 1
        counts = _draft(api, settings, Store(settings.store_path))
    assert counts == {"drafted": len(CONTACTS)} and len(api.batches) == 1


def test_a_batch_created_although_its_answer_was_lost_is_found_not_created_twice(tmp_path):
    with FakeBatchAPI(lost_creates=1) as api:
        settings = _settings(api, tmp_path).model_copy(update={"llm_max_retries": 2})
        counts = _draft(api, settings, _store(settings))
    assert counts == {"drafted": len(CONTACTS)} and len(api.batches) == 1
    assert [m for m, path, _ in api.log if path == "/v1/batches"] == ["POST"]  # no second create


FAULTS = {1: ("invalid_json", "arguments are not valid JSON"), 2: ("schema_violation", "disposition"),
          3: ("truncated", "finish_reason=length"), 4: ("leak_prompt", "output quotes the system prompt"),
          5: ("error", "request_timeout"), 6: ("server_error", "HTTP 500")}
REQUEST_FAULTS = {5, 6}  # the request failed, not the answer: the contact waits for another night


def test_faulty_lines_are_quarantined_with_reasons_naming_the_fault_and_the_good_ones_kept(tmp_path):
    with FakeBatchAPI(faults={n: kind for n, (kind, _) in FAULTS.items()}) as api:
        settings = _settings(api, tmp_path)
        store = _store(settings)
        counts = _draft(api, settings, store)
    assert counts == {"drafted": len(CONTACTS) - len(FAULTS), "failed": len(FAULTS) - len(REQUEST_FAULTS),
                      "waiting_retry": len(REQUEST_FAULTS)}
    [lines] = api.uploads()
    [row] = store.llm_batches(prompt_hash=HASH, model=settings.llm_model, open_only=False)
    reasons = _reasons(store)
    for n, line in enumerate(lines):
        iid = row.custom_ids[line["custom_id"]]
        has_work = store.acw(iid, prompt_hash=HASH, model=settings.llm_model) is not None
        if n in FAULTS:
            status = "awaiting_retry" if n in REQUEST_FAULTS else "acw_failed"
            assert FAULTS[n][1] in reasons[iid] and not has_work and store.contact(iid).status == status
        else:
            assert iid not in reasons and has_work and store.contact(iid).status == "pending"


def test_an_invalid_answer_gets_one_synchronous_repair_re_ask_when_an_llm_is_given(tmp_path):
    with FakeBatchAPI(faults={0: "schema_violation"}) as api, FaultLLM() as sync:
        settings = _settings(api, tmp_path)
        store = _store(settings)
        llm = build_llm(settings, base_url=sync.base_url)
        counts = _draft(api, settings, store, llm=llm)
    assert counts == {"repaired": 1, "drafted": len(CONTACTS) - 1}
    [repair] = sync.requests
    assert repair.repair and "Call AfterCallWork again" in repair.body["messages"][-1]["content"]
    assert "disposition" in repair.body["messages"][-1]["content"]  # the batch answer's validation error
    assert _reasons(store) == {}


def test_an_expired_batch_keeps_its_answers_and_quarantines_the_rest(tmp_path):
    with FakeBatchAPI(finish="expired", answered=3) as api:
        settings = _settings(api, tmp_path)
        store = _store(settings)
        counts = _draft(api, settings, store)
    assert counts == {"drafted": 3, "waiting_retry": len(CONTACTS) - 3} and api.cancelled == []
    [batch_id] = api.batches
    assert set(_reasons(store).values()) == {f"batch {batch_id} expired before this request ran"}


def test_a_batch_past_max_wait_is_cancelled_and_its_contacts_quarantined_without_killing_the_run(tmp_path):
    slept = []
    with FakeBatchAPI(finish="stall", answered=2, cancelling_polls=3) as api:
        settings = _settings(api, tmp_path, batch_poll_seconds=60, batch_max_wait=180)
        store = _store(settings)
        counts = _draft(api, settings, store, sleep=slept.append)
    [batch_id] = api.batches
    assert api.cancelled == [batch_id] and api.batches[batch_id]["status"] == "cancelled"
    assert counts == {"drafted": 2, "waiting_retry": len(CONTACTS) - 2}  # answers finished before the cancel are kept
    reasons = _reasons(store)
    assert len(reasons) == len(CONTACTS) - 2
    assert set(reasons.values()) == {f"batch {batch_id} not finished within batch_max_wait (180 s): cancelled"}
    assert set(slept) == {60} and len(slept) == 3 + 3  # to the deadline, then until the cancel has ended


def test_a_cancel_that_never_ends_is_given_up_after_a_bounded_number_of_polls(tmp_path, monkeypatch):
    monkeypatch.setattr(batch_api, "CANCEL_POLLS", 4)
    slept = []
    with FakeBatchAPI(finish="stall", cancelling_polls=10**6) as api:
        settings = _settings(api, tmp_path, batch_poll_seconds=60, batch_max_wait=120)
        store = _store(settings)
        counts = _draft(api, settings, store, sleep=slept.append)
    [batch_id] = api.batches
    assert counts == {"waiting_retry": len(CONTACTS)} and api.batches[batch_id]["status"] == "cancelling"
    assert set(_reasons(store).values()) == {
        f"batch {batch_id} not finished within batch_max_wait (120 s), not cancelled in time"}
    assert len(slept) == 2 + 4 + 1
    assert store.llm_batches(prompt_hash=HASH, model=settings.llm_model) == []  # closed: not polled again


def test_a_batch_that_fails_validation_quarantines_its_contacts_with_the_api_errors(tmp_path, monkeypatch):
    monkeypatch.setattr(batch_api, "MAX_REQUESTS", 100)
    with FakeBatchAPI(max_requests=3) as api:
        settings = _settings(api, tmp_path)
        store = _store(settings)
        counts = _draft(api, settings, store)
    assert counts == {"waiting_retry": len(CONTACTS)}
    assert all("failed: too_many_requests: more than 3 requests" in r for r in _reasons(store).values())


def test_an_endpoint_without_the_batch_api_quarantines_every_contact(tmp_path):
    with FaultLLM() as server:  # like the embedded llama.cpp server: chat completions only
        settings = _settings(server, tmp_path)
        store = _store(settings)
        counts = _draft(server, settings, store)
    assert counts == {"failed": len(CONTACTS)}
    assert all(r.startswith("could not submit the batch: NotFoundError") for r in _reasons(store).values())


@pytest.mark.parametrize("method", ["function_calling", "json_schema", "json_mode"])
def test_request_lines_have_the_documented_shape_and_the_synchronous_body(tmp_path, method):
    with FakeBatchAPI() as api:
        settings = _settings(api, tmp_path, llm_structured_output=method)
        _draft(api, settings, _store(settings), contacts=CONTACTS[:3])
    [lines] = api.uploads()
    assert [set(line) for line in lines] == [{"custom_id", "method", "url", "body"}] * 3
    assert {(line["method"], line["url"]) for line in lines} == {("POST", "/v1/chat/completions")}
    ids = [line["custom_id"] for line in lines]
    assert len(set(ids)) == 3 and not any(c.id in cid for c in CONTACTS for cid in ids)
    systems = {line["body"]["messages"][0]["content"] for line in lines}
    assert len(systems) == 1 and [m["role"] for m in lines[0]["body"]["messages"]] == ["system", "user"]
    for contact, line in zip(CONTACTS, lines):
        assert contact.turns[-1].text.replace("<<<", "‹‹‹")[:40] in line["body"]["messages"][-1]["content"]
    with FaultLLM() as sync:  # what the synchronous path sends for the same contact
        try:
            write_after_call_work(CONTACTS[0], llm=build_llm(settings, base_url=sync.base_url),
                                  model=settings.llm_model, dispositions=DISPOSITIONS, method=method)
        except Exception:  # the fault endpoint answers only tool calls well; the request is what counts here
            pass
    expected = {k: v for k, v in sync.requests[0].body.items() if k != "stream"}
    assert lines[0]["body"] == expected
    if method == "function_calling":
        assert lines[0]["body"]["tool_choice"] == {"type": "function", "function": {"name": "AfterCallWork"}}
    assert request_body(CONTACTS[0], settings=settings, dispositions=DISPOSITIONS) == expected


@pytest.mark.parametrize("limit, sizes", [({"MAX_REQUESTS": 3}, [3, 3, 2]), ({"MAX_BYTES": 1}, [1] * 8)])
def test_a_night_over_the_per_file_limit_is_split_into_several_batches(tmp_path, monkeypatch, limit, sizes):
    for name, value in limit.items():
        monkeypatch.setattr(batch_api, name, value)
    with FakeBatchAPI(max_requests=limit.get("MAX_REQUESTS", 50_000)) as api:
        settings = _settings(api, tmp_path)
        store = _store(settings)
        counts = _draft(api, settings, store)
    assert [len(lines) for lines in api.uploads()] == sizes and len(api.batches) == len(sizes)
    assert counts == {"drafted": len(CONTACTS)}
    assert sorted(line["custom_id"] for lines in api.uploads() for line in lines) == sorted(
        cid for row in store.llm_batches(prompt_hash=HASH, model=settings.llm_model, open_only=False)
        for cid in row.custom_ids)


def test_the_fake_api_rejects_malformed_input_files_like_the_real_one():
    lines = [{"custom_id": "a", "method": "POST", "url": "/v1/chat/completions", "body": {"model": "m"}},
             {"custom_id": "a", "method": "POST", "url": "/v1/chat/completions", "body": {"model": "m"}},
             {"custom_id": "b", "url": "/v1/chat/completions", "body": {"model": "m"}}]
    with FakeBatchAPI() as api:
        client = openai.OpenAI(base_url=api.base_url, api_key=KEY, max_retries=0)
        upload = client.files.create(file=("in.jsonl", "".join(json.dumps(x) + "\n" for x in lines).encode()),
                                     purpose="batch")
        assert upload.object == "file" and upload.purpose == "batch" and upload.bytes > 0
        batch = client.batches.create(input_file_id=upload.id, endpoint="/v1/chat/completions",
                                      completion_window="24h")
        assert batch.status == "validating"
        batch = client.batches.retrieve(batch.id)
    assert batch.status == "failed"
    assert [(e.line, e.code) for e in batch.errors.data] == [(2, "duplicate_custom_id"), (3, "invalid_request")]


def test_the_nightly_flow_drafts_a_night_in_one_batch_and_batch_mode_needs_an_endpoint(tmp_path):
    """`CX_LLM_MODE=batch cx-worker nightly`: one batch for the night, one note per contact; no endpoint: a clear
    error before anything runs."""
    import subprocess

    from tests.system.test_scale_out import CLI, _env
    from tests.system.test_scale_out import CONTACTS as NIGHT

    with FakeBatchAPI() as api:
        env = _env(tmp_path, api.base_url, CX_LLM_MODE="batch", CX_BATCH_POLL_SECONDS="0.05", CX_LLM_API_KEY=KEY)
        run = subprocess.run([str(CLI), "nightly", "--all", "--json"], env=env, cwd=tmp_path, capture_output=True,
                             text=True, timeout=600)
        assert run.returncode in (0, 1), run.stderr[-3000:]
        summary = json.loads(run.stdout.strip().splitlines()[-1])
        assert len(api.uploads()) == 1 and len(api.uploads()[0]) == NIGHT  # the whole night in one batch file
    assert summary["drafted"] == {"drafted": NIGHT} and summary["written"] == NIGHT
    store = Store(tmp_path / "cx" / "store.sqlite")
    assert len(store.llm_batches(prompt_hash=HASH, model=Settings().llm_model, open_only=False)) == 1
    store.close()
    del env["CX_LLM_BASE_URL"]
    refused = subprocess.run([str(CLI), "nightly", "--all"], env=env, cwd=tmp_path, capture_output=True, text=True,
                             timeout=120)
    assert refused.returncode != 0 and "llm_mode=batch needs llm_base_url" in refused.stderr
