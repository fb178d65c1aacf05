"""The one fake LLM of the unit tests (the `fake_llm` fixture in `tests/conftest.py` hands it out)."""

from __future__ import annotations

from types import SimpleNamespace

# A valid after-call work answer: what the fake LLM answers unless a test says otherwise.
WORK = {"summary": "The customer asked for help and the agent answered.", "customer_intent": "help",
        "disposition": "product_question", "action_items": [], "crm_note": "Answered the question.",
        "sentiment_start": "neutral", "sentiment_end": "positive",
        "emotional_risk": {"flag": False, "reason": ""}, "handoff_context": ""}


class FakeLLM:
    """The unit tests' LLM: answers every structured-output call with `work` (or raises for a transcript holding
    one of `fail_on`), like LangChain's `with_structured_output(include_raw=True)`; records what it was sent."""

    def __init__(self, work: dict | None = None, *, fail_on: frozenset[str] | set[str] = frozenset(),
                 summary_for=None):
        self.work, self.fail_on, self.calls, self.summary_for = dict(work or WORK), fail_on, [], summary_for

    def with_structured_output(self, schema, *, method, include_raw):
        assert include_raw, "the drafting code reads the raw answer (usage, finish reason)"

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
