"""The body sent to the LLM holds no probe PII: every probe contact through redact -> draft, with a recording fake."""

import json
from types import SimpleNamespace

from cx_worker.drafting.after_call_work import load_dispositions
from cx_worker.drafting.draft import draft
from cx_worker.drafting.prepare import prepare_contacts
from cx_worker.models import Interaction
from cx_worker.redaction.evaluate import PROBE
from cx_worker.settings import Settings
from cx_worker.store import Store

WORK = {"summary": "The customer gave their details and the agent updated the account.", "customer_intent": "update",
        "disposition": "product_question", "action_items": [], "crm_note": "Details updated.",
        "sentiment_start": "neutral", "sentiment_end": "neutral", "emotional_risk": {"flag": False, "reason": ""},
        "handoff_context": ""}


class RecordingChatModel:
    """Records every message it is sent; answers like with_structured_output(include_raw=True)."""

    def __init__(self):
        self.bodies: list[str] = []

    def with_structured_output(self, schema, *, method, include_raw):
        def invoke(messages):
            self.bodies.append("\n".join(m.content for m in messages))
            raw = SimpleNamespace(usage_metadata={"input_tokens": 1, "output_tokens": 1},
                                  response_metadata={"finish_reason": "stop"})
            return {"raw": raw, "parsed": schema.model_validate(WORK), "parsing_error": None}

        return SimpleNamespace(invoke=invoke)


def test_no_probe_value_reaches_the_llm(tmp_path):
    records = [json.loads(line) for line in PROBE.read_text().splitlines()]
    contacts = [Interaction(id=r["id"], channel="chat", turns=r["turns"]) for r in records]
    settings = Settings(data_dir=tmp_path, llm_model="fake")
    store = Store(settings.store_path)
    store.start_run("r1", config={})
    llm = RecordingChatModel()
    redacted = prepare_contacts(contacts, store=store, run_id="r1", enabled=True, max_tokens=2800)
    counts = draft(redacted, llm=llm, settings=settings, dispositions=load_dispositions(settings.dispositions),
                          store=store, run_id="r1")
    assert counts["drafted"] == len(records) and len(llm.bodies) == len(records)
    for record, body in zip(records, llm.bodies, strict=True):
        transcript = body.split("<<<TRANSCRIPT", 1)[1]
        for span in record["spans"]:
            for part in span["value"].split() if span["type"] == "NAME" else [span["value"]]:
                assert part.lower() not in transcript.lower(), (record["id"], span["type"])
        assert f"[{record['spans'][0]['type']}_1]" in transcript
