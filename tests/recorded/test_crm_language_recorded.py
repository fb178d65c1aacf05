"""A real Spanish-language contact gets its summary and CRM note in the configured CRM language (English).

Recorded from the embedded Qwen2.5-1.5B server (`CX_RECORD=1 .venv/bin/python -m pytest tests/recorded/
test_crm_language_recorded.py`), replayed otherwise.
"""

import json

import pytest

from cx_worker.drafting.after_call_work import load_dispositions, write_after_call_work
from cx_worker.ingest.adapters import Parsed, parse_file
from cx_worker.ingest.language import detect_language, with_language
from cx_worker.llm.client import build_llm
from cx_worker.redaction.redactor import redact_interaction
from cx_worker.settings import Settings
from tests.support.paths import PROJECT_ROOT

pytestmark = pytest.mark.recorded
FIXTURE = PROJECT_ROOT / "tests" / "fixtures" / "raw_tweetsumm_non_english.jsonl"


def test_spanish_contact_gets_english_after_call_work(cassette, llm_base_url):
    settings = Settings()
    spanish = next(i.interaction for i in parse_file(FIXTURE.name, FIXTURE.read_bytes()) if isinstance(i, Parsed))
    contact, _ = redact_interaction(with_language(spanish))
    assert contact.language == "es"
    result = write_after_call_work(contact, llm=build_llm(settings, base_url=llm_base_url), model=settings.llm_model,
                                   dispositions=load_dispositions(settings.dispositions), method="function_calling",
                                   language="en")
    work = result.work
    assert detect_language(f"{work.summary} {work.crm_note}")[0] == "en"
    body = json.loads(cassette.requests[0].body)
    assert "in English, whatever language the contact was in" in body["messages"][0]["content"]
    assert "Como configuro una VPNGateway" in body["messages"][-1]["content"]
