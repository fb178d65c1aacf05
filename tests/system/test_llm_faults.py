"""LLM faults: SDK retries with backoff, one repair re-ask for invalid output, quarantine with the reason.

One contact against scripted faults first (each path pinned to its exact number of requests), then a night of 200
real contacts at a 20% fault rate through the `cx_worker.run` stages: every contact drafted or quarantined, none
lost, none with two notes. The figures are printed (`-s`) and by `bench/faults.py`.
"""

from __future__ import annotations

import json
import threading
import time

import httpx
import openai
import pytest

from cx_worker.drafting.after_call_work import AcwError, build_messages, load_dispositions, write_after_call_work
from cx_worker.guard.outbound import batch_identifiers
from cx_worker.ingest.pull import pull
from cx_worker.llm.client import build_llm
from cx_worker.models import Interaction
from cx_worker.settings import Settings
from cx_worker.store import Store
from tests.support.fault_llm import FAULT_KINDS, FaultLLM
from tests.support.fault_night import run_fault_night
from tests.support.paths import PROJECT_ROOT

DISPOSITIONS = load_dispositions(Settings().dispositions)
CONTACT = Interaction.model_validate_json(
    (PROJECT_ROOT / "tests" / "fixtures" / "night5.jsonl").read_text().splitlines()[0])


def _write(server: FaultLLM, **options):
    settings = Settings(llm_base_url=server.base_url, **({"llm_max_retries": 2, "llm_timeout": 10.0} | options))
    return write_after_call_work(CONTACT, llm=build_llm(settings), model=settings.llm_model,
                                 dispositions=DISPOSITIONS)


def _bodies(server: FaultLLM) -> list[dict]:
    return [r.body for r in server.requests]


@pytest.mark.parametrize("fault, said", [("invalid_json", "not valid JSON"), ("schema_violation", "disposition")])
def test_invalid_output_gets_one_repair_re_ask_with_the_error(fault, said):
    with FaultLLM() as clean:
        _write(clean)
    with FaultLLM(script=[fault]) as server:
        result = _write(server)
    assert result.usage["repaired"] is True and [r.fault for r in server.requests] == [fault, "ok"]
    first, repair = _bodies(server)
    assert first == _bodies(clean)[0]  # the first request is exactly the normal one (the cassettes rely on it)
    assert repair["messages"][:-1] == first["messages"] and repair["messages"][-1]["role"] == "user"
    assert said in repair["messages"][-1]["content"] and "Call AfterCallWork again" in repair["messages"][-1]["content"]


def test_output_still_invalid_after_the_repair_raises_with_both_reasons():
    with FaultLLM(script=["invalid_json", "schema_violation"]) as server:
        with pytest.raises(AcwError, match="after one repair re-ask") as err:
            _write(server)
    assert len(server.requests) == 2 and "not valid JSON" in str(err.value)


def test_cut_off_output_is_not_repaired():
    with FaultLLM(script=["truncated"]) as server:
        with pytest.raises(AcwError, match="finish_reason=length"):
            _write(server)
    assert len(server.requests) == 1  # a re-ask would hit the same max_tokens


def test_rate_limit_is_retried_after_retry_after():
    with FaultLLM(script=["rate_limit", "rate_limit"], retry_after="0.01") as server:
        result = _write(server)
    assert result.usage["repaired"] is False and [r.fault for r in server.requests] == ["rate_limit"] * 2 + ["ok"]


def test_server_errors_are_retried_a_bounded_number_of_times():
    with FaultLLM(script=["server_error"] * 5) as server:
        with pytest.raises(openai.InternalServerError):
            _write(server, llm_max_retries=1)
    assert len(server.requests) == 2  # the first try and one retry, then the error goes up (run.draft quarantines)


def test_a_slow_answer_past_the_timeout_is_retried():
    with FaultLLM(script=["slow"], slow_seconds=2.0) as server:
        result = _write(server, llm_timeout=0.5, llm_max_retries=1)
    assert [r.fault for r in server.requests] == ["slow", "ok"] and result.work.summary


def test_an_output_quoting_the_system_prompt_is_rejected():
    system = build_messages(CONTACT, dispositions=DISPOSITIONS, language="en")[0].content
    rule = next(line for line in system.splitlines() if "Never invent amounts" in line).lstrip("- ")
    with FaultLLM(choose={"crm_note": "My instructions say: " + rule}) as server:
        with pytest.raises(AcwError, match="output rejected: output quotes the system prompt"):
            _write(server)


def test_an_output_with_another_contacts_identifier_is_rejected():
    other = Interaction(id="abcd-other-1", channel="chat", turns=[{"speaker": "customer",
                                                                   "text": "My order ID is 9931775402."}])
    with FaultLLM(choose={"crm_note": "Order 9931775402 was refunded."}) as server:
        settings = Settings(llm_base_url=server.base_url)
        with pytest.raises(AcwError, match="identifiers of other contacts: 9931775402"):
            write_after_call_work(CONTACT, llm=build_llm(settings), model=settings.llm_model,
                                  dispositions=DISPOSITIONS,
                                  known_identifiers=batch_identifiers([CONTACT, other])[1])


def test_two_hundred_contacts_at_a_twenty_percent_fault_rate_lose_and_duplicate_nothing(tmp_path):
    night = run_fault_night(tmp_path, contacts=200, fault_rate=0.2)
    print("\n" + "\n".join(night.lines()))
    assert night.contacts == 200
    assert night.lost == [] and night.both == []  # every contact drafted or quarantined, never both
    assert len(night.with_work) + len(night.quarantined) == 200
    assert night.notes == night.unique_notes == len(night.with_work)  # one note per drafted contact
    assert all(reason.strip() for reason in night.quarantined.values())
    assert set(FAULT_KINDS) <= set(night.faults)  # every kind of fault was met
    assert night.recovered_by_retry > 0 and night.recovered_by_repair > 0
    assert sum(night.drafted.values()) == 200
    # A re-run reads nothing new (watermark) and writes no second note.
    store = Store(tmp_path / "cx" / "store.sqlite")
    settings = Settings(source=tmp_path / "in", data_dir=tmp_path / "cx")
    assert pull(settings, store=store, run_id="again", limit=None).interactions == []
    assert json.loads(json.dumps(night.faults))  # figures are plain data (bench prints them)


def test_latency_and_slots_make_a_provider_that_generates_a_few_answers_at_once():
    with FaultLLM(latency=0.2, slots=2) as server:
        body = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
        started = time.perf_counter()
        threads = [threading.Thread(target=httpx.post, args=(f"{server.base_url}/chat/completions",),
                                    kwargs={"json": body}) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        seconds = time.perf_counter() - started
    assert len(server.requests) == 6 and server.peak_busy == 2  # 2 generated at once, never more
    assert seconds >= 0.6  # 6 answers, 2 at a time, 0.2 s each: the others waited their turn
