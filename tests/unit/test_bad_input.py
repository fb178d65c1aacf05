"""Bad input: each broken record is quarantined with its reason in the store; every good contact goes on."""

import json
import shutil

from cx_worker.drafting.context_limit import estimate_tokens, fit_transcript
from cx_worker.ingest.pull import pull
from cx_worker.models import Interaction
from cx_worker.settings import Settings
from tests.support.fakes import FakeLLM
from tests.support.night import run_night
from tests.support.paths import PROJECT_ROOT

FIXTURES = PROJECT_ROOT / "tests" / "fixtures"
FORMATS = FIXTURES / "formats"


def _contact(cid, turns, **extra):
    return json.dumps({"id": cid, "channel": "chat", "turns": turns, **extra}).encode()


def _said(cid, text="my parcel is late", **extra):
    return _contact(cid, [{"speaker": "customer", "text": text}, {"speaker": "agent", "text": "sorry, on it"}],
                    **extra)


def _night_of_bad_records(src):
    """A source folder holding one of every class of broken record seen so far, among good contacts."""
    shutil.copy(FIXTURES / "night5.jsonl", src / "a_night.jsonl")
    long_turns = [{"speaker": "customer" if i % 2 else "agent", "text": f"turn {i} " + "words " * 60}
                  for i in range(80)]
    deep = {"id": "deep-meta", "channel": "chat", "turns": [{"speaker": "customer", "text": "hi"}], "metadata": {}}
    node = deep["metadata"]
    for _ in range(100):  # parses (under the parser's limit), but no contact is 100 levels deep
        node["x"] = {}
        node = node["x"]
    (src / "b_broken.jsonl").write_bytes(b"\n".join([
        b"{not json",
        _contact("empty", [{"speaker": "customer", "text": "   "}]),
        b'{"id": "latin1", "channel": "chat", "turns": [{"speaker": "customer", "text": "caf\xe9 au lait"}]}',
        _contact("robot", [{"speaker": "robot", "text": "beep"}]),
        _contact("no-times", [{"speaker": "customer", "text": "my parcel is late"}]),  # fine: timestamps optional
        _contact("bad-time", [{"speaker": "customer", "text": "hi"}], started_at="yesterday"),
        _contact("abcd-dev-61", [{"speaker": "customer", "text": "same id as a good one"}]),
        _contact("long", long_turns),
        # the classes that used to end the night
        b'{"id": "surrogate", "channel": "chat", "turns": [{"speaker": "customer", "text": "a \\ud800 b"}]}',
        b"[" * 50_000 + b"]" * 50_000,
        b'{"id": "huge-int", "channel": "chat", "n": ' + b"9" * 5000 + b', "turns": []}',
        json.dumps(deep).encode(),
        # and the ones found looking for more
        _said("nul", "my parcel\u0000 is late").replace(b"\\u0000", b"\\u0000"),  # a NUL: kept, the NUL removed
        b'{"id": "undefined-bytes", "channel": "chat", "turns": [{"speaker": "customer", "text": "\x81\x8d"}]}',
        b"[1, 2, 3]", b"null", b'"just a string"', b"1e999",
        _said("x" * 300),  # an id longer than any system's
        b'{"id": "nan", "channel": "chat", "turns": [{"speaker": "customer", "text": NaN}]}',
        b'{"id": "over-long", "channel": "chat", "pad": "' + b"z" * (9 * 1024 * 1024) + b'", "turns": []}',
        _said("after-over-long", "still read after the over-long line"),
    ]) + b"\n")
    bom = b"\xef\xbb\xbf" + _said("bom-first", "a file saved with a byte-order mark")
    (src / "b2_bom.jsonl").write_bytes(bom + b"\n")
    (src / "c_latin1.csv").write_bytes(b"conversation_id,speaker,text\nx1,customer,caf\xe9 au lait\n"
                                       b"x2,customer,\x81\x8d unreadable in any Windows encoding\n"
                                       b"x3,customer,fine row\n")
    (src / "d_abridged.json").write_bytes(
        (FORMATS / "amazon_transcribe_call_analytics_output_ABRIDGED_not_valid_json.txt").read_bytes())
    shutil.copy(FORMATS / "aws_pca_post_call_analytics_parsed_output.json", src / "e_pca.json")
    shutil.copy(FORMATS / "genesys_cloud_analytics_conversation_details_query_result.json", src / "f_genesys.json")
    shutil.copy(FORMATS / "synthetic_turns.csv", src / "g_turns.csv")
    (src / "h_deep.json").write_bytes(b"[" * 20_000 + b"]" * 20_000)
    (src / "i_empty.jsonl").write_bytes(b"")
    (src / "j_loop.jsonl").symlink_to(src / "k_loop.jsonl")
    (src / "k_loop.jsonl").symlink_to(src / "j_loop.jsonl")


GOOD = ["abcd-dev-61", "tweetsumm-07d8535b2d415be455b4c3b9f0e5a2ce", "abcd-dev-167",
        "tweetsumm-0df2c1c9fb123dffde7fd8cabb69c4ed", "abcd-dev-256", "bom-first", "latin1", "no-times", "long", "nul",
        "after-over-long", "x1", "x3", "stereo_std_1.mp3", "csv-1", "csv-2"]


def test_a_night_holding_one_of_each_bad_record_writes_every_good_contact(env):
    src = env.source
    (src / "night.jsonl").unlink()
    _night_of_bad_records(src)
    env.settings = Settings(source=src, data_dir=env.settings.data_dir, llm_model="fake", max_transcript_tokens=1500,
                            thresholds=env.settings.thresholds)
    llm = FakeLLM()
    night = run_night(env, llm, "r1")
    assert [i.id for i in night.pulled.interactions] == GOOD
    assert night.drafted["drafted"] == len(GOOD) and sum(night.outcomes.values()) == len(GOOD)
    assert {n.interaction_id for n in env.crm.notes()} == set(GOOD), "every good contact gets its note"

    quarantined = env.store.quarantined(run_id="r1")
    reasons = {q.origin: q.reason for q in quarantined} | {q.interaction_id: q.reason for q in quarantined
                                                             if q.interaction_id}
    assert reasons["b_broken.jsonl:1"].startswith("malformed JSON")
    assert "transcript has no text" in reasons["empty"]
    assert "speaker" in reasons["robot"] and "started_at" in reasons["bad-time"]
    assert reasons["abcd-dev-61"] == "duplicate id 'abcd-dev-61' in this batch"
    assert "lone surrogate" in reasons["b_broken.jsonl:9"]
    assert "nested deeper" in reasons["b_broken.jsonl:10"] and "more than 64 levels" in reasons["b_broken.jsonl:12"]
    assert "4300 digits" in reasons["b_broken.jsonl:11"]
    assert reasons["b_broken.jsonl:14"].startswith("not UTF-8, nor cp1252")
    assert all("invalid interaction" in reasons[f"b_broken.jsonl:{n}"] for n in (15, 16, 17, 18, 20))
    assert "id: String should have at most 200 characters" in reasons["b_broken.jsonl:19"]
    assert "byte limit" in reasons["b_broken.jsonl:21"]
    assert "encoding cannot read" in reasons["x2"]
    assert reasons[str(src / "d_abridged.json")].startswith("not valid JSON")
    assert "nested deeper" in reasons[str(src / "h_deep.json")]
    assert "unknown speaker 'robot'" in reasons["csv-3"] and "not ISO 8601" in reasons["csv-4"]
    assert reasons["5773eca4-0874-4617-a6e8-85591aa94609"].startswith("no transcript")
    assert reasons[str(src / "i_empty.jsonl")].startswith("empty file")
    assert "symbolic-link loop" in reasons[str(src / "j_loop.jsonl")]
    assert reasons["long"].startswith("processed truncated: transcript ~")
    assert env.store.contact("nul").redacted.turns[0].text == "my parcel is late"
    assert env.store.contact("latin1").redacted.metadata["decoded_as"] == "cp1252"
    long_sent = next(t for t in llm.calls if "turn 0 " in t)
    assert "turns omitted here" in long_sent and "turn 79 " in long_sent and "turn 40 " not in long_sent
    assert env.store.contact("long").redacted.metadata["truncated"]["dropped_turns"] > 0

    # The watermark moves past everything read: the next night reads nothing again, and what was set aside
    # (the empty file, the link loop) is not reported a second time.
    env.store.start_run("r2", config={})
    again = pull(env.settings, store=env.store, run_id="r2", limit=None)
    assert again.interactions == [] and again.rejected == 0 and env.store.quarantined(run_id="r2") == []


def test_fit_transcript_keeps_both_ends_and_says_why():
    turns = [{"speaker": "customer", "text": f"t{i} " + "x" * 300} for i in range(40)]
    contact = Interaction(id="l", channel="voice", turns=turns)
    same, why = fit_transcript(contact, max_tokens=10_000)
    assert same is contact and why is None
    cut, why = fit_transcript(contact, max_tokens=1000)
    assert estimate_tokens(cut.transcript()) <= 1000
    assert cut.turns[0].text.startswith("t0 ") and cut.turns[-1].text.startswith("t39 ")
    marker = next(i for i, t in enumerate(cut.turns) if t.speaker == "system")
    assert "omitted" in cut.turns[marker].text
    assert marker < len(cut.turns) - marker - 1, "the ending (what decides the outcome) gets the larger share"
    assert "1000-token limit" in why and cut.metadata["truncated"]["dropped_turns"] == 40 - len(cut.turns) + 1
    one, why = fit_transcript(Interaction(id="o", channel="chat", turns=[turns[0] | {"text": "y" * 9000}]),
                              max_tokens=500)
    assert len(one.turns) == 1 and len(one.turns[0].text) < 9000 and why
