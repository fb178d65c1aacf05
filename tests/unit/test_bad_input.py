"""Bad input: each broken record is quarantined with its reason in the store; every good contact goes on."""

import json
import shutil

from cx_worker.drafting.after_call_work import load_dispositions
from cx_worker.drafting.context_limit import estimate_tokens, fit_transcript
from cx_worker.drafting.draft import draft
from cx_worker.drafting.prepare import prepare_contacts
from cx_worker.ingest.pull import advance_watermark, pull
from cx_worker.models import Interaction
from cx_worker.settings import Settings
from cx_worker.store import Store
from tests.support.fakes import FakeLLM
from tests.support.paths import PROJECT_ROOT

FIXTURES = PROJECT_ROOT / "tests" / "fixtures"
FORMATS = FIXTURES / "formats"


def _contact(cid, turns, **extra):
    return json.dumps({"id": cid, "channel": "chat", "turns": turns, **extra}).encode()


def test_a_batch_mixing_good_and_broken_files_loses_no_good_contact(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    shutil.copy(FIXTURES / "night5.jsonl", src / "a_night.jsonl")
    long_turns = [{"speaker": "customer" if i % 2 else "agent", "text": f"turn {i} " + "words " * 60}
                  for i in range(80)]
    (src / "b_broken.jsonl").write_bytes(b"\n".join([
        b"{not json",
        _contact("empty", [{"speaker": "customer", "text": "   "}]),
        b'{"id": "latin1", "channel": "chat", "turns": [{"speaker": "customer", "text": "caf\xe9"}]}',
        _contact("robot", [{"speaker": "robot", "text": "beep"}]),
        _contact("no-times", [{"speaker": "customer", "text": "my parcel is late"}]),  # fine: timestamps optional
        _contact("bad-time", [{"speaker": "customer", "text": "hi"}], started_at="yesterday"),
        _contact("abcd-dev-61", [{"speaker": "customer", "text": "same id as a good one"}]),
        _contact("long", long_turns),
    ]) + b"\n")
    (src / "c_latin1.csv").write_bytes(b"conversation_id,speaker,text\nx1,customer,caf\xe9 au lait\n")
    (src / "d_abridged.json").write_bytes(
        (FORMATS / "amazon_transcribe_call_analytics_output_ABRIDGED_not_valid_json.txt").read_bytes())
    shutil.copy(FORMATS / "aws_pca_post_call_analytics_parsed_output.json", src / "e_pca.json")
    shutil.copy(FORMATS / "genesys_cloud_analytics_conversation_details_query_result.json", src / "f_genesys.json")
    shutil.copy(FORMATS / "synthetic_turns.csv", src / "g_turns.csv")

    settings = Settings(source=src, data_dir=tmp_path / "cx", llm_model="fake", max_transcript_tokens=1500)
    store = Store(settings.store_path)
    store.start_run("r1", config={})
    pulled = pull(settings, store=store, run_id="r1", limit=None)
    good = ["abcd-dev-61", "tweetsumm-07d8535b2d415be455b4c3b9f0e5a2ce", "abcd-dev-167",
            "tweetsumm-0df2c1c9fb123dffde7fd8cabb69c4ed", "abcd-dev-256", "no-times", "long", "stereo_std_1.mp3",
            "csv-1", "csv-2"]
    assert [i.id for i in pulled.interactions] == good
    redacted = prepare_contacts(pulled.interactions, store=store, run_id="r1", enabled=True,
                             max_tokens=settings.max_transcript_tokens)
    llm = FakeLLM()
    drafted = draft(redacted, llm=llm, settings=settings, dispositions=load_dispositions(settings.dispositions),
                           store=store, run_id="r1")
    assert drafted["drafted"] == len(good)

    reasons = {(q.interaction_id or q.origin): q.reason for q in store.quarantined(run_id="r1")}
    assert reasons["b_broken.jsonl:1"].startswith("malformed JSON")
    assert "transcript has no text" in reasons["empty"]
    assert reasons["b_broken.jsonl:3"].startswith("not UTF-8")
    assert "speaker" in reasons["robot"] and "started_at" in reasons["bad-time"]
    assert reasons["abcd-dev-61"] == "duplicate id 'abcd-dev-61' in this batch"
    assert reasons[str(src / "c_latin1.csv")].startswith("not UTF-8")
    assert reasons[str(src / "d_abridged.json")].startswith("not valid JSON")
    assert "unknown speaker 'robot'" in reasons["csv-3"] and "not ISO 8601" in reasons["csv-4"]
    assert reasons["5773eca4-0874-4617-a6e8-85591aa94609"].startswith("no transcript")
    assert reasons["long"].startswith("processed truncated: transcript ~")
    long_sent = next(t for t in llm.calls if "turn 0 " in t)
    assert "turns omitted here" in long_sent and "turn 79 " in long_sent and "turn 40 " not in long_sent
    assert store.contact("long").redacted.metadata["truncated"]["dropped_turns"] > 0

    # The watermark moves past everything read: the next night reads nothing again.
    advance_watermark(settings, store=store, offsets=pulled.offsets)
    store.start_run("r2", config={})
    again = pull(settings, store=store, run_id="r2", limit=None)
    assert again.interactions == [] and store.quarantined(run_id="r2") == []


def test_fit_transcript_keeps_both_ends_and_says_why():
    turns = [{"speaker": "customer", "text": f"t{i} " + "x" * 300} for i in range(40)]
    contact = Interaction(id="l", channel="voice", turns=turns)
    same, why = fit_transcript(contact, max_tokens=10_000)
    assert same is contact and why is None
    cut, why = fit_transcript(contact, max_tokens=1000)
    assert estimate_tokens(cut.transcript()) <= 1000
    assert cut.turns[0].text.startswith("t0 ") and cut.turns[-1].text.startswith("t39 ")
    assert cut.turns[len(cut.turns) // 2].speaker == "system" and "omitted" in cut.turns[len(cut.turns) // 2].text
    assert "1000-token limit" in why and cut.metadata["truncated"]["dropped_turns"] == 40 - len(cut.turns) + 1
    one, why = fit_transcript(Interaction(id="o", channel="chat", turns=[turns[0] | {"text": "y" * 9000}]),
                              max_tokens=500)
    assert len(one.turns) == 1 and len(one.turns[0].text) < 9000 and why
