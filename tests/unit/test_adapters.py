"""Every vendor format of ../shared/data/formats (copied to tests/fixtures/formats) into canonical interactions."""

import json

import pytest

from cx_worker.cli import main
from cx_worker.ingest.adapters import Failed, Parsed, UnreadableFile, detect, parse_file
from tests.support.paths import PROJECT_ROOT

FORMATS = PROJECT_ROOT / "tests" / "fixtures" / "formats"
FIXTURES = PROJECT_ROOT / "tests" / "fixtures"


def _parse(name: str, *, folder=FORMATS):
    return list(parse_file(name, (folder / name).read_bytes()))


def _one(name: str):
    items = _parse(name)
    assert len(items) == 1 and isinstance(items[0], Parsed), items
    return items[0].interaction


def test_contact_lens_chat_keeps_messages_and_vendor_findings():
    chat = _one("amazon_connect_contact_lens_chat_analysis.json")
    assert chat.id == "b49644f6-672f-445c-b209-f76b36482830" and chat.channel == "chat" and chat.language == "en"
    assert len(chat.turns) == 31 and {t.speaker for t in chat.turns} == {"system", "agent", "customer"}
    assert chat.turns[3].text.startswith("Hello, thanks for reaching Example Corp") and chat.turns[3].ts
    assert chat.started_at.isoformat().startswith("2022-10-27T03:31:53")
    vendor = chat.metadata["amazon_connect"]
    assert vendor["categories"] == ["agent-intro"] and vendor["vendor_redacted"] is False
    assert any("refunding" in o for o in vendor["outcomes"]) and vendor["issues"]
    assert chat.metadata["customer_name"] == "John"


def test_contact_lens_redacted_chat_and_voice():
    redacted = _one("amazon_connect_contact_lens_chat_analysis_redacted.json")
    assert redacted.metadata["amazon_connect"]["vendor_redacted"] is True
    assert "customer_name" not in redacted.metadata  # DisplayName is "[PII]"
    voice = _one("amazon_connect_contact_lens_voice_analysis.json")
    assert voice.channel == "voice" and len(voice.turns) == 10 and voice.started_at is None
    assert [t.speaker for t in voice.turns[:3]] == ["agent", "customer", "agent"]
    vendor = voice.metadata["amazon_connect"]
    assert vendor["issues"] == ["I need to cancel. I want to cancel my plan subscription"]
    assert vendor["action_items"] and vendor["overall_sentiment"] == {"AGENT": 0, "CUSTOMER": 3.1}
    # No contact id in the file: a stable one from the file name and content.
    assert voice.id == _one("amazon_connect_contact_lens_voice_analysis.json").id


def test_post_call_analytics_uses_the_vendor_speaker_labels_and_times():
    call = _one("aws_pca_post_call_analytics_parsed_output.json")
    assert call.id == "stereo_std_1.mp3" and call.channel == "voice" and len(call.turns) == 12
    assert call.turns[1].speaker == "customer" and call.turns[1].text.startswith("Thank you for calling Networks abc")
    assert call.started_at.isoformat() == "2021-11-25T18:35:14.215558+00:00"  # New York local time -> UTC
    assert call.turns[-1].ts > call.turns[0].ts
    assert call.metadata["aws_pca"]["entities"] == {"ORGANIZATION": 1, "DATE": 1, "QUANTITY": 1}


def test_abridged_transcribe_example_is_rejected_with_the_file_and_why():
    name = "amazon_transcribe_call_analytics_output_ABRIDGED_not_valid_json.txt"
    with pytest.raises(UnreadableFile) as err:
        _parse(name)
    message = str(err.value)
    assert message.startswith(name + ": not valid JSON") and "line 14" in message and "abridged" in message


def test_completed_transcribe_output_ingests():
    call = _one("synthetic_tca_completed.json")
    assert detect("x.json", (FORMATS / "synthetic_tca_completed.json").read_bytes()) == \
        "amazon_transcribe_call_analytics"
    assert call.id == "synthetic-tca-recipe-cancel" and len(call.turns) == 7 and call.turns[1].speaker == "customer"
    vendor = call.metadata["amazon_transcribe"]
    assert vendor["issues"] == ["would like to cancel my recipe subscription"]  # AWS's offsets, as given
    assert vendor["categories"] == ["positive-resolution"] and vendor["vendor_redacted"] is True


def test_genesys_details_without_transcripts_are_metadata_only():
    items = _parse("genesys_cloud_analytics_conversation_details_query_result.json")
    assert len(items) == 25 and all(isinstance(i, Failed) and i.record for i in items)
    first = items[0]
    assert first.reason.startswith("no transcript") and "ININ-OUTBOUND-PREVIEW-SKIPPED" in first.reason
    meta = first.record["metadata"]["genesys"]
    assert meta["wrap_up_codes"] == ["ININ-OUTBOUND-PREVIEW-SKIPPED"] and meta["queue_ids"]
    assert meta["disconnect_types"]["agent"] == "client" and first.record["turns"] == []


def test_genesys_transcript_is_joined_to_its_details(tmp_path):
    from cx_worker.ingest.source import Read, Rejected, read_interactions

    for name in ("genesys_cloud_analytics_conversation_details_query_result.json",
                 "synthetic_genesys_transcript_e578dec2.json"):
        (tmp_path / name).write_bytes((FORMATS / name).read_bytes())
    items = list(read_interactions(tmp_path))
    reads = [i for i in items if isinstance(i, Read)]
    assert len(reads) == 1 and len([i for i in items if isinstance(i, Rejected)]) == 24
    chat = reads[0].interaction
    assert chat.id == "e578dec2-ad56-4a45-bd72-e0b6b6e0b21a" and chat.channel == "chat"
    assert [t.speaker for t in chat.turns[:2]] == ["customer", "agent"]
    genesys = chat.metadata["genesys"]
    assert genesys["joined_details"] and genesys["wrap_up_codes"] == ["7fb334b0-0e9e-11e4-9191-0800200c9a66"]
    assert genesys["disconnect_types"] == {"customer": "system", "agent": "system"}
    assert chat.started_at.isoformat().startswith("2016-")  # the details' conversationStart wins


def test_csv_turns_grouped_with_bad_rows_rejected():
    items = _parse("synthetic_turns.csv")
    good = {i.interaction.id: i.interaction for i in items if isinstance(i, Parsed)}
    bad = {i.interaction_id: i.reason for i in items if isinstance(i, Failed)}
    assert list(good) == ["csv-1", "csv-2"]
    assert [t.text[:5] for t in good["csv-1"].turns] == ["Hi, I", "Sorry", "I hav"]  # non-adjacent rows joined
    assert good["csv-1"].channel == "voice" and good["csv-1"].queue == "billing"
    assert good["csv-1"].metadata["customer_name"] == "Maria Lopez"
    assert good["csv-2"].started_at is None and good["csv-2"].turns[0].ts is None  # missing timestamps are fine
    assert "unknown speaker 'robot'" in bad["csv-3"] and "synthetic_turns.csv:7" in bad["csv-3"]
    assert "not ISO 8601" in bad["csv-4"]


def test_tweetsumm_and_abcd_never_carry_labels_or_act_lines():
    tweets = _parse("raw_tweetsumm.jsonl", folder=FIXTURES)
    assert len(tweets) == 6 and all(isinstance(t, Parsed) for t in tweets)
    assert all("abstractive_summaries" not in t.interaction.metadata for t in tweets)
    chats = _parse("raw_abcd.json", folder=FIXTURES) + _parse("abcd_sample.json")
    assert len(chats) == 11 and all(isinstance(c, Parsed) for c in chats)
    raw = json.loads((FIXTURES / "raw_abcd.json").read_text())
    acts = {line[4:].strip() for text, _ in raw.values() for line in text.splitlines() if line.startswith("ACT:")}
    full = json.loads((FORMATS / "abcd_sample.json").read_text())
    acts |= {text for c in full for role, text in c["original"] if role == "action"}
    assert acts and not any(t.text in acts or t.text.startswith("ACT:") for c in chats for t in c.interaction.turns)
    sample = [c.interaction for c in chats if c.interaction.id == "abcd-3592"][0]
    assert sample.metadata["customer_name"] == "crystal minh" and sample.queue == "product_defect"


def test_unknown_json_and_non_utf8_are_unreadable():
    with pytest.raises(UnreadableFile, match=r"^x.json: not a known contact-centre export \(top-level keys"):
        list(parse_file("x.json", b'{"hello": 1}'))
    with pytest.raises(UnreadableFile, match=r"^y.json: not UTF-8 nor cp1252: bytes neither can read"):
        list(parse_file("y.json", b'{"caf\x81": 1}'))
    with pytest.raises(UnreadableFile, match="empty file"):
        list(parse_file("z.json", b"  \n"))


def test_cli_ingest_folder_and_bad_file(tmp_path, capsys):
    out = tmp_path / "out.jsonl"
    code = main(["ingest", str(FORMATS), "--output", str(out), "--data-dir", str(tmp_path / "cx")])
    err = capsys.readouterr().err
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    ids = [rec["id"] for rec in lines]
    # chat, voice, PCA, TCA, Genesys chat, 3 ABCD, 2 CSV, 6 standard Transcribe calls: once each
    assert len(ids) == len(set(ids)) == 16
    assert "b49644f6-672f-445c-b209-f76b36482830" in ids and "e578dec2-ad56-4a45-bd72-e0b6b6e0b21a" in ids
    assert {i for i in ids if i.startswith("synthetic-") and not i.startswith("synthetic-tca")} == {
        "synthetic-brightwater-0001", "synthetic-harbourline-0002", "synthetic-corvid-0003", "synthetic-lumen-0004",
        "synthetic-fernleigh-0005", "synthetic-saltmarsh-0008"}
    # Standard Transcribe files that cannot be attributed or have no words are rejected, not guessed.
    assert "synthetic-quayside-0006: no speaker_labels or channel_labels: cannot tell agent from customer" in err
    assert "synthetic-silent-0007: empty transcript" in err and "not a known contact-centre export" not in err
    side = (tmp_path / "out.metadata.jsonl").read_text().splitlines()
    assert len(side) == 24 and all(json.loads(s)["reason"].startswith("no transcript") for s in side)
    assert code == 1 and "unknown speaker 'robot'" in err and "duplicate id" in err  # redacted twin of the chat
    bad = FORMATS / "amazon_transcribe_call_analytics_output_ABRIDGED_not_valid_json.txt"
    code = main(["ingest", str(bad), "--output", str(tmp_path / "o2.jsonl")])
    err = capsys.readouterr().err
    assert code == 1 and f"{bad}: not valid JSON" in err and (tmp_path / "o2.jsonl").read_text() == ""
    assert main(["ingest", str(tmp_path / "missing"), "--output", str(tmp_path / "o3.jsonl")]) == 2
    assert "does not exist" in capsys.readouterr().err
