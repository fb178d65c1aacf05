"""After-call work from real model traffic (recorded from the embedded Qwen2.5-1.5B server, replayed)."""

import json

import pytest

from cx_worker.drafting.after_call_work import load_dispositions, write_after_call_work
from cx_worker.llm.client import build_llm
from cx_worker.models import Interaction
from cx_worker.redaction.redactor import find_pii, redact_interaction
from cx_worker.settings import Settings
from tests.support.paths import PROJECT_ROOT

pytestmark = pytest.mark.recorded
SAMPLE = [Interaction.model_validate_json(line) for line in
          (PROJECT_ROOT / "tests" / "fixtures" / "night5.jsonl").read_text().splitlines()]


@pytest.mark.parametrize("index", [0, 1])
def test_real_contact_gets_valid_after_call_work(index, cassette, llm_base_url):
    settings = Settings()
    dispositions = load_dispositions(settings.dispositions)
    contact, _ = redact_interaction(SAMPLE[index])
    result = write_after_call_work(contact, llm=build_llm(settings, base_url=llm_base_url), model=settings.llm_model,
                                   dispositions=dispositions, method="function_calling", language="en")
    work = result.work
    assert work.disposition in {d.code for d in dispositions}
    assert 20 < len(work.summary) <= 600 and work.crm_note
    assert find_pii(json.dumps(work.model_dump())) == []
    assert result.usage["prompt_tokens"] > 100 and result.usage["completion_tokens"] > 20
    # The request really carried the redacted transcript and a forced tool call.
    body = json.loads(cassette.requests[0].body)
    assert body["tool_choice"]["function"]["name"] == "AfterCallWork"
    assert contact.turns[0].text in body["messages"][-1]["content"]
