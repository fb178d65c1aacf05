"""Nothing a transcript can carry (control characters, terminal escapes, bidi overrides, zero-width characters,
lone surrogates) reaches a CRM note, a webhook payload or the governance report; text of any script does."""

from __future__ import annotations

import json
import re
from xml.etree import ElementTree as ET

import pytest

from cx_worker.delivery.crm import Crm
from cx_worker.delivery.notes import render_note
from cx_worker.delivery.webhook import TEMPLATES, render_payload
from cx_worker.delivery.write_back import write_back
from cx_worker.drafting.after_call_work import load_dispositions, prompt_hash
from cx_worker.drafting.questions import load_questions
from cx_worker.governance.evaluate import GovernanceReport, load_suite
from cx_worker.governance.metrics import MetricResult
from cx_worker.governance.report import write_report
from cx_worker.guard.display import clean_text, clean_value
from cx_worker.models import Interaction, NotePayload
from cx_worker.settings import Settings
from cx_worker.store import Ledger, Store
from tests.support.fakes import WORK
from tests.support.paths import PROJECT_ROOT

# (family, dirty text, what a reader must see instead): one of each way to hide, recolour, reorder or overwrite.
C0 = [chr(c) for c in range(0x20) if chr(c) not in "\t\n\r\x0b\x0c\x1c\x1d\x1e\x1f\x1b"]
INTRODUCERS = (0x85, 0x90, 0x98, 0x9B, 0x9D, 0x9E, 0x9F)  # C1 that open a sequence (or a line): families below
FAMILIES = [
    *[(f"C0 U+{ord(c):04X}", f"ref{c}und", "refund") for c in C0],
    ("DEL", "ref\x7fund", "refund"),
    *[(f"C1 U+{c:04X}", f"ref{chr(c)}und", "refund") for c in range(0x80, 0xA0) if c not in INTRODUCERS],
    *[(f"unterminated C1 U+{c:04X}", f"refund {chr(c)}0;junk\npaid", "refund \npaid") for c in INTRODUCERS[1:]
      if c != 0x9B],
    ("NEL", "ref\x85und", "ref und"), ("VT", "ref\x0bund", "ref und"), ("FF", "ref\x0cund", "ref und"),
    ("CR", "refund\rpaid", "refund\npaid"), ("CRLF", "refund\r\npaid", "refund\npaid"),
    ("CSI colour", "\x1b[31;1mrefund\x1b[0m", "refund"), ("CSI clear screen", "\x1b[2J\x1b[Hrefund", "refund"),
    ("CSI cursor", "refund\x1b[1A\x1b[2K", "refund"), ("8-bit CSI", "\x9b31mrefund", "refund"),
    ("OSC title BEL", "\x1b]0;pwned\x07refund", "refund"),
    ("OSC hyperlink ST", "\x1b]8;;https://evil.example\x1b\\refund\x1b]8;;\x1b\\", "refund"),
    ("8-bit OSC", "\x9d0;x\x9crefund", "refund"), ("DCS", "\x1bPq#0;2;0;0;0\x1b\\refund", "refund"),
    ("APC", "\x1b_payload\x1b\\refund", "refund"), ("two-char escape", "\x1bcrefund\x1b7", "refund"),
    ("charset escape", "\x1b(Brefund", "refund"), ("lone ESC", "refund\x1b", "refund"),
    ("unterminated OSC", "refund \x1b]0;junk\npaid", "refund \npaid"),
    *[(f"bidi U+{ord(c):04X}", f"ref{c}und", "refund") for c in "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068"
      "\u2069\u200e\u200f\u061c"],
    ("RLO trick", "invoice\u202efdp.exe", "invoicefdp.exe"),
    *[(f"zero-width U+{ord(c):04X}", f"ref{c}und", "refund") for c in "\u200b\u200c\u200d\u2060\ufeff\u00ad\u180e"],
    ("tag letters", "refund\U000e0069\U000e0067\U000e006e", "refund"),
    ("lone surrogate", "ref\ud83dund", "refund"), ("noncharacter", "ref\uffffund", "refund"),
]
ORDINARY = ["Café crème, naïve façade, Straße, Øresund", "中文客户服务", "Ελληνικά γράμματα", "Русский текст",
            "emoji 😀👍🏽🎉 👩\u200d💻 👨\u200d👩\u200d👧 🏳\ufe0f\u200d🌈 🇫🇷 "
            "🏴\U000e0067\U000e0062\U000e0065\U000e006e\U000e0067\U000e007f",
            "میخواهم می\u200cخواهم", "हिन्दी पाठ", "עברית", "العربية", "tab\tand\nnew line"]
# What must never be left: controls (but tab and line feed), escapes, bidi controls, invisible characters outside
# an emoji or a script that spells with them, surrogates, noncharacters.
FORBIDDEN = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c\u200b\u2060\ufeff"
                       "\u00ad\u180e\ud800-\udfff\ufdd0-\ufdef\ufffe\uffff]|(?<![\U0001f300-\U0001faff\ufe0f])"
                       "\u200d|(?<=[a-z])\u200c")
DIRTY = " ".join(dirty for _, dirty, _ in FAMILIES)


def _strings(value) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in (*_strings(k), *_strings(v))]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


@pytest.mark.parametrize("family, dirty, seen", FAMILIES, ids=[f[0] for f in FAMILIES])
def test_every_family_is_removed(family, dirty, seen):
    assert clean_text(dirty) == seen
    assert not FORBIDDEN.search(clean_text(f"« {dirty} » {ORDINARY[0]}"))


@pytest.mark.parametrize("text", ORDINARY)
def test_text_of_any_script_survives(text):
    assert clean_text(text) == text
    assert not FORBIDDEN.search(text)  # the check itself lets every ordinary text through


def test_nested_values_are_cleaned_and_keep_their_shape():
    assert clean_value({"a\x1b[1m": ["x\u202ey", ("z\x00", 3)], "n": None, "f": 1.5}) == \
        {"a": ["xy", ("z", 3)], "n": None, "f": 1.5}


def _work() -> dict:
    dirty = DIRTY[:300]
    return WORK | {"summary": f"{ORDINARY[0]} {dirty}"[:600], "crm_note": f"{ORDINARY[4]} {dirty}"[:400],
                   "customer_intent": "refund\x1b[5m", "handoff_context": f"{ORDINARY[1]} {dirty}"[:400],
                   "action_items": [{"description": "call\u202e back", "owner": "agent", "due": "mon\x00day"}],
                   "emotional_risk": {"flag": True, "reason": "angry\x07!"}}


def test_a_crm_note_body_holds_none_of_it():
    payload = NotePayload.model_validate({
        "interaction_id": "c1", "run_id": "r1", "channel": "chat", "queue": "bill\x1b[31ming", "model": "m",
        "prompt_hash": "p", "work": _work(), "outcome": {"label": "resolved", "confidence": 0.9}})
    body = render_note(payload)
    assert not FORBIDDEN.search(body)
    assert ORDINARY[0] in body and ORDINARY[4] in body and ORDINARY[1] in body and "queue billing" in body


def test_the_stored_note_and_every_webhook_payload_hold_none_of_it(tmp_path):
    settings = Settings(data_dir=tmp_path / "cx")
    dispositions = load_dispositions(settings.dispositions)
    store, crm = Store(settings.store_target), Crm(Ledger(settings.ledger_target))
    store.start_run("r1", config={})
    contact = Interaction(id="c1", channel="chat", queue="billing\u200b", turns=[{"speaker": "customer", "text": "hi"}],
                          metadata={"ticket\x1b[0m": "Z\u202e-1", "tags": ["vip\x00", ORDINARY[2]]})
    store.put_acw("c1", prompt_hash=prompt_hash(dispositions, questions=load_questions(settings.questions)),
                  model=settings.llm_model, run_id="r1", output=_work(), usage={})
    assert write_back([contact], store=store, crm=crm, run_id="r1", settings=settings, dispositions=dispositions,
                      hold=False) == {"delivered": 1}
    note = crm.notes("c1")[0]
    stored = note.payload.model_dump(mode="json")
    assert not any(FORBIDDEN.search(s) for s in [note.body, *_strings(stored)])
    assert stored["metadata"] == {"ticket": "Z-1", "tags": ["vip", ORDINARY[2]]}
    assert stored["interaction_id"] == "c1" and ORDINARY[4] in stored["work"]["crm_note"]
    for template in TEMPLATES:
        sent = json.loads(render_payload(template, note))
        strings = _strings(sent)
        assert strings and not any(FORBIDDEN.search(s) for s in strings), template
        assert any(ORDINARY[0] in s for s in strings), template


def test_the_governance_report_holds_none_of_it(tmp_path):
    dirty = f"{ORDINARY[3]} {DIRTY}"
    failure = {"id": "c\x1b[1m1", "why": f"invented amount: {dirty}"}
    report = GovernanceReport(
        run_id="r1", verdict="breach", suite=load_suite(PROJECT_ROOT / "tests" / "fixtures" / "suite_test.yaml"),
        results=[MetricResult(metric="groundedness", score=0.5, threshold=0.8, direction="min", success=False,
                              measured=True, reason=f"1 of 2: {dirty}", details={"failures": [failure]})],
        outcomes={"resolved": 1}, contacts=1, run={"note": dirty},
        items=[{"id": "c1", "transcript": f"customer: {dirty}", "work": {"summary": dirty, "crm_note": dirty},
                "outcome": None, "reference": None, "failures": [f"groundedness: {dirty}"]}])
    paths = write_report(report, tmp_path / "report", store=Store(tmp_path / "s.sqlite"))
    page = paths["html"].read_text()
    assert not FORBIDDEN.search(page) and ORDINARY[3] in page and "refund" in page
    data = json.loads(paths["json"].read_text())
    assert not any(FORBIDDEN.search(s) for s in _strings(data))
    junit = paths["junit"].read_text()
    assert not FORBIDDEN.search(junit)
    assert ET.fromstring(junit).find("testcase/failure") is not None  # well-formed XML (controls would break it)
