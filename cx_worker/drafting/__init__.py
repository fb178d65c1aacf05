"""Drafting: the after-call work one structured LLM call writes per contact (summary, intent, disposition, action
items, CRM note, sentiment, hand-off context), what the model may see of a contact (`prepare`: redacted, fitted
to its context), custom questions, and the Batch API mode."""

from cx_worker.drafting.after_call_work import AcwError, Disposition, load_dispositions, prompt_hash
from cx_worker.drafting.draft import chunk_size, draft, draft_contacts
from cx_worker.drafting.prepare import prepare_contacts
from cx_worker.drafting.questions import load_questions

__all__ = ["AcwError", "Disposition", "chunk_size", "draft", "draft_contacts", "load_dispositions",
           "load_questions", "prepare_contacts", "prompt_hash"]
