"""Amazon Transcribe standard batch output (diarization / channel identification) into interactions.

Expected turns are the tables of tests/fixtures/formats/TRANSCRIBE_STANDARD.md (for its four fixtures) and of the
edge-case fixtures described in tests/fixtures/LICENSES.md. All fixtures are synthetic.
"""

import json

import pytest

from cx_worker.ingest.adapters import Failed, Parsed, UnreadableFile, detect, parse_file
from cx_worker.ingest.adapters.transcribe_standard import NAME, NO_LABELS
from cx_worker.settings import Settings
from tests.support.paths import PROJECT_ROOT

FORMATS = PROJECT_ROOT / "tests" / "fixtures" / "formats"
SWAP = {"agent": "customer", "customer": "agent"}

BRIGHTWATER = [  # synthetic_transcribe_speaker_labels.json
    ("agent", "Thank you for calling Brightwater Broadband, this is Priya. How can I help you today?"),
    ("customer", "Hi Priya, my internet has been dropping out every evening since Tuesday."),
    ("agent", "I'm sorry to hear that. Could I take your account number, please?"),
    ("customer", "Sure, it's 48213."),
    ("agent", "Thanks, Tomasz. I can see two short outages logged in your area this week."),
    ("agent", "Let me run a line test on your router now. This takes about 30 seconds."),
    ("customer", "Okay, no problem."),
    ("agent", "The test shows a weak signal on your line, so I'll book an engineer visit for Thursday morning."),
    ("customer", "Thursday works. Will there be a charge for that?"),
    ("agent", "No, the visit is free because the fault is on our side."),
    ("customer", "Great, thanks for your help."),
    ("agent", "You're welcome. Have a good evening."),
]
HARBOURLINE = [  # synthetic_transcribe_speaker_labels_legacy.json
    ("agent", "Good morning, Harbourline Insurance, Daniel speaking."),
    ("customer", "Hello, I need to update the address on my car insurance policy."),
    ("agent", "Of course. Can you confirm your full name and date of birth?"),
    ("customer", "Aisha Okafor, the third of March 1988."),
    ("agent", "Thank you. What is the new address?"),
    ("customer", "It's 27 Willow Lane, Ashford."),
    ("customer", "Oh, and it's flat 2, sorry."),
    ("agent", "No problem. I've updated it to flat 2, 27 Willow Lane, Ashford."),
    ("customer", "Does my premium change?"),
    ("agent", "It stays the same, at 42 pounds a month."),
    ("customer", "Perfect, thank you."),
    ("agent", "You're welcome, goodbye."),
]
CORVID = [  # synthetic_transcribe_channel_labels.json: the customer (ch_1) speaks first
    ("customer", "Hello? Is anyone there?"),
    ("agent", "Yes, sorry about the wait. You're through to Corvid Home Appliances, my name is Marcus."),
    ("customer", "Hi Marcus. My new dishwasher stopped draining after two weeks."),
    ("agent", "That's frustrating, I'm sorry. Can I have the order number?"),
    ("customer", "It's 77105."),
    ("agent", "Thank you. I can see it was delivered 12 days ago."),
    ("agent", "I've arranged a free replacement, and the courier will collect the old one."),
    ("customer", "How long will that take?"),
    ("agent", "Delivery is within 5 working days."),
    ("customer", "That's fine. Thanks, Marcus."),
    ("agent", "Thanks for calling. Goodbye."),
]
LUMEN = [  # synthetic_transcribe_channel_labels_legacy.json
    ("agent", "Lumen Bank card services, Hannah speaking. How can I help?"),
    ("customer", "Hi, I think I lost my debit card this afternoon."),
    ("agent", "I can help with that. I'll block the card straight away."),
    ("agent", "Okay, the card ending 6604 is now blocked."),
    ("customer", "Thank you. Can you send a new one?"),
    ("agent", "Yes, a replacement will arrive in 3 to 5 working days."),
    ("customer", "Great. Were there any payments I didn't make?"),
    ("agent", "No, the last payment was 18 pounds at a pharmacy this morning."),
    ("customer", "Yes, that was me."),
    ("agent", "Then everything looks fine. Is there anything else?"),
    ("customer", "No, that's all. Bye."),
]
FERNLEIGH = [  # synthetic_transcribe_speaker_labels_customer_first.json: outbound, the customer answers first
    ("customer", "Hello?"),
    ("agent", "Hi, this is Jonas calling from Fernleigh Energy about your meter reading. Am I speaking with Ruth "
              "Adeyemi?"),
    ("customer", "Yes, speaking."),
    ("agent", "We received a reading of 5120 on Monday, which is much higher than usual."),
    ("customer", "I think I read the wrong dial. It should be 4120."),
    ("agent", "Thanks, I've corrected it. Your next bill will use 4120."),
    ("agent", "Is there anything else I can help with today?"),
    ("customer", "No, that's everything. Thank you."),
    ("agent", "You're welcome. Goodbye."),
]
SALTMARSH = [  # synthetic_transcribe_speakers_and_channels.json: both features, read by channel
    ("agent", "Good evening, Saltmarsh Rail lost property, this is Owen."),
    ("customer", "Hi, I left a blue rucksack on the evening train to Kingsbridge."),
    ("agent", "Let me check. Yes, a blue rucksack was handed in at Kingsbridge tonight."),
    ("agent", "You can collect it from the station office after 9 tomorrow."),
    ("customer", "Brilliant, thank you so much."),
    ("agent", "You're welcome, goodnight."),
]

# file, job name, expected turns, labelling, role rule, where the turns come from
CALLS = [
    ("synthetic_transcribe_speaker_labels.json", "synthetic-brightwater-0001", BRIGHTWATER, "speakers",
     "first_speaker=agent", "audio_segments"),
    ("synthetic_transcribe_speaker_labels_legacy.json", "synthetic-harbourline-0002", HARBOURLINE, "speakers",
     "first_speaker=agent", "speaker_labels"),
    ("synthetic_transcribe_channel_labels.json", "synthetic-corvid-0003", CORVID, "channels", "ch_0=agent",
     "audio_segments"),
    ("synthetic_transcribe_channel_labels_legacy.json", "synthetic-lumen-0004", LUMEN, "channels", "ch_0=agent",
     "channel_labels"),
    ("synthetic_transcribe_speakers_and_channels.json", "synthetic-saltmarsh-0008", SALTMARSH, "channels",
     "ch_0=agent", "channel_labels"),
]


def _load(name: str) -> dict:
    return json.loads((FORMATS / name).read_text())


def _parse(name: str, obj: dict | None = None, **options) -> list[Parsed | Failed]:
    data = (FORMATS / name).read_bytes() if obj is None else json.dumps(obj).encode()
    return list(parse_file(name, data, **options))


def _call(name: str, obj: dict | None = None, **options):
    items = _parse(name, obj, **options)
    assert len(items) == 1 and isinstance(items[0], Parsed), items
    return items[0].interaction


def _turns(interaction) -> list[tuple[str, str]]:
    return [(t.speaker, t.text) for t in interaction.turns]


@pytest.mark.parametrize(("name", "job", "expected", "mode", "rule", "source"), CALLS)
def test_each_fixture_gives_exactly_the_expected_turns(name, job, expected, mode, rule, source):
    call = _call(name)
    assert _turns(call) == expected
    assert call.id == job and call.channel == "voice" and call.language is None  # no language in these files
    assert all(t.ts is None for t in call.turns)  # offsets only: no absolute time in the file
    vendor = call.metadata[NAME]
    assert call.metadata["source"] == NAME and call.metadata["source_file"] == name
    assert vendor["labelling"] == mode and vendor[mode] == 2 and vendor["role_rule"] == rule
    assert vendor["turns_from"] == source and set(vendor["roles"].values()) == {"agent", "customer"}
    assert 0.9 < vendor["mean_confidence"] < 1 and vendor["vendor_redacted"] is False
    # Every fixture's transcripts[0] is its turns joined: nothing lost, nothing doubled.
    assert " ".join(t for _, t in expected) == _load(name)["results"]["transcripts"][0]["transcript"]


@pytest.mark.parametrize("name", ["synthetic_transcribe_speaker_labels.json",
                                  "synthetic_transcribe_channel_labels.json"])
def test_newer_files_read_without_audio_segments_give_the_same_turns(name):
    obj = _load(name)
    del obj["results"]["audio_segments"]
    call = _call(name, obj)
    assert _turns(call) == _turns(_call(name))
    assert call.metadata[NAME]["turns_from"] == ("speaker_labels" if "speaker" in name else "channel_labels")


def test_metadata_times_and_confidence_come_from_the_words():
    obj = _load("synthetic_transcribe_speaker_labels_legacy.json")
    words = [i for i in obj["results"]["items"] if i["type"] == "pronunciation"]
    vendor = _call("synthetic_transcribe_speaker_labels_legacy.json").metadata[NAME]
    assert vendor["duration_s"] == float(words[-1]["end_time"])
    mean = sum(float(w["alternatives"][0]["confidence"]) for w in words) / len(words)
    assert vendor["mean_confidence"] == round(mean, 4) and vendor["warnings"] == []


@pytest.mark.parametrize(("name", "expected"), [("synthetic_transcribe_speaker_labels.json", BRIGHTWATER),
                                                ("synthetic_transcribe_speaker_labels_legacy.json", HARBOURLINE)])
def test_first_speaker_setting_swaps_every_role_of_a_diarized_file(name, expected):
    call = _call(name, transcribe_first_speaker="customer")
    assert _turns(call) == [(SWAP[role], text) for role, text in expected]
    assert call.metadata[NAME]["role_rule"] == "first_speaker=customer"
    assert call.metadata[NAME]["roles"] == {"spk_0": "customer", "spk_1": "agent"}


@pytest.mark.parametrize(("name", "expected"), [("synthetic_transcribe_channel_labels.json", CORVID),
                                                ("synthetic_transcribe_channel_labels_legacy.json", LUMEN)])
def test_agent_channel_setting_swaps_every_role_of_a_channel_file(name, expected):
    call = _call(name, transcribe_agent_channel="ch_1")
    assert _turns(call) == [(SWAP[role], text) for role, text in expected]
    assert call.metadata[NAME]["role_rule"] == "ch_1=agent"
    # The other setting does not touch channel files, nor this one diarized files.
    assert _turns(_call(name, transcribe_first_speaker="customer")) == expected
    assert _turns(_call("synthetic_transcribe_speaker_labels.json", transcribe_agent_channel="ch_1")) == BRIGHTWATER


def test_customer_first_diarized_call_needs_the_setting():
    name = "synthetic_transcribe_speaker_labels_customer_first.json"
    default = _call(name)
    # The default rule (first speaker = agent) gets an outbound call backwards, by design: it is a setting.
    assert _turns(default) == [(SWAP[role], text) for role, text in FERNLEIGH]
    assert default.metadata[NAME]["roles"] == {"spk_0": "agent", "spk_1": "customer"}
    call = _call(name, transcribe_first_speaker="customer")
    assert _turns(call) == FERNLEIGH and call.id == "synthetic-fernleigh-0005"
    assert call.metadata[NAME]["turns_from"] == "speaker_labels"  # the AWS docs generation: no audio_segments


def test_both_features_are_read_by_channel_with_a_warning():
    call = _call("synthetic_transcribe_speakers_and_channels.json")
    assert call.metadata[NAME]["warnings"] == ["per-channel speaker_labels ignored: read by channel identification"]
    assert _turns(_call("synthetic_transcribe_speakers_and_channels.json", transcribe_agent_channel="ch_1")) == \
        [(SWAP[role], text) for role, text in SALTMARSH]


@pytest.mark.parametrize(("name", "job", "reason"), [
    ("synthetic_transcribe_no_labels.json", "synthetic-quayside-0006", NO_LABELS),
    ("synthetic_transcribe_empty.json", "synthetic-silent-0007",
     "empty transcript: Transcribe found no words in the recording"),
])
def test_unattributable_and_empty_files_are_rejected_with_their_reason(name, job, reason):
    assert NO_LABELS == "no speaker_labels or channel_labels: cannot tell agent from customer"
    items = _parse(name)
    assert len(items) == 1 and isinstance(items[0], Failed)
    assert items[0].reason == reason and items[0].interaction_id == job and items[0].origin == f"{name}#{job}"


def test_other_rejections_say_why():
    both = _load("synthetic_transcribe_speakers_and_channels.json")
    del both["results"]["channel_labels"]
    [failed] = _parse("x.json", both)
    assert failed.reason == "speaker_labels per channel without channel_labels: unsupported"
    [failed] = _parse("synthetic_transcribe_channel_labels.json", transcribe_agent_channel="ch_2")
    assert failed.reason == "agent channel 'ch_2' is not one of the file's channels ch_0, ch_1: set " \
                            "transcribe_agent_channel"
    bad_time = _load("synthetic_transcribe_channel_labels_legacy.json")
    bad_time["results"]["channel_labels"]["channels"][0]["items"][0]["start_time"] = "soon"
    [failed] = _parse("t.json", bad_time)
    assert failed.reason == "start_time 'soon' is not a number of seconds"
    with pytest.raises(ValueError, match="first_speaker must be"):
        _parse("synthetic_transcribe_speaker_labels.json", transcribe_first_speaker="supervisor")


def test_a_third_speaker_is_kept_with_a_warning():
    obj = _load("synthetic_transcribe_speaker_labels_legacy.json")
    segment = obj["results"]["speaker_labels"]["segments"][6]  # "Oh, and it's flat 2, sorry."
    segment["speaker_label"] = "spk_2"
    call = _call("x.json", obj)
    assert call.turns[6].speaker == "customer" and call.metadata[NAME]["roles"]["spk_2"] == "customer"
    assert call.metadata[NAME]["warnings"] == [
        "3 speakers (spk_0, spk_1, spk_2): only two roles, so first_speaker=agent is a guess for the others"]


def test_words_are_found_by_time_not_by_position():
    obj = _load("synthetic_transcribe_speaker_labels_legacy.json")
    # A word no segment lists (not seen in real files) stays with the utterance before it, and shifts nothing.
    obj["results"]["speaker_labels"]["segments"][0]["items"].pop()
    assert _turns(_call("x.json", obj)) == HARBOURLINE


@pytest.mark.parametrize(("results", "code"), [
    ({"language_code": "en-GB"}, "en"),
    ({"language_identification": [{"score": "0.12", "code": "fr-CA"}, {"score": "0.88", "code": "es-US"}]}, "es"),
    ({"language_codes": [{"language_code": "hi-IN", "duration_in_seconds": 9.1},
                         {"language_code": "en-US", "duration_in_seconds": 40.2}]}, "en"),
])
def test_language_comes_from_the_file_when_present(results, code):
    obj = _load("synthetic_transcribe_channel_labels_legacy.json")
    obj["results"] |= results
    assert _call("x.json", obj).language == code


def test_detection_takes_only_standard_transcribe_files():
    expected = {
        "abcd_sample.json": "abcd",
        "amazon_connect_contact_lens_chat_analysis.json": "amazon_connect_contact_lens",
        "amazon_connect_contact_lens_chat_analysis_redacted.json": "amazon_connect_contact_lens",
        "amazon_connect_contact_lens_voice_analysis.json": "amazon_connect_contact_lens",
        "aws_pca_post_call_analytics_parsed_output.json": "aws_post_call_analytics",
        "genesys_cloud_analytics_conversation_details_query_result.json": "genesys_cloud",
        "synthetic_genesys_transcript_e578dec2.json": "genesys_cloud_transcript",
        "synthetic_tca_completed.json": "amazon_transcribe_call_analytics",
        "synthetic_turns.csv": "csv_turns",
    }
    found = {}
    for path in sorted(FORMATS.iterdir()):
        if path.suffix in (".json", ".csv"):
            found[path.name] = detect(path.name, path.read_bytes())
    ours = {name for name in found if name.startswith("synthetic_transcribe_")}
    assert len(ours) == 8 and all(found[name] == NAME for name in ours)
    assert {name: kind for name, kind in found.items() if name not in ours} == expected
    assert detect("raw_abcd.json", (FORMATS.parent / "raw_abcd.json").read_bytes()) == "abcd"
    with pytest.raises(UnreadableFile, match="abridged"):  # the TCA doc example is still TCA's, still rejected
        detect("a.json", (FORMATS / "amazon_transcribe_call_analytics_output_ABRIDGED_not_valid_json.txt").read_bytes())
    # Not a Transcribe file: results without transcripts and items.
    with pytest.raises(UnreadableFile, match="not a known contact-centre export"):
        detect("r.json", b'{"jobName": "j", "results": {"transcripts": []}}')


def test_settings_defaults_and_environment(monkeypatch):
    monkeypatch.delenv("CX_TRANSCRIBE_FIRST_SPEAKER", raising=False)
    monkeypatch.delenv("CX_TRANSCRIBE_AGENT_CHANNEL", raising=False)
    settings = Settings()
    assert settings.transcribe_first_speaker == "agent" and settings.transcribe_agent_channel == "ch_0"
    monkeypatch.setenv("CX_TRANSCRIBE_FIRST_SPEAKER", "customer")
    monkeypatch.setenv("CX_TRANSCRIBE_AGENT_CHANNEL", "ch_1")
    settings = Settings()
    assert settings.transcribe_first_speaker == "customer" and settings.transcribe_agent_channel == "ch_1"
    monkeypatch.setenv("CX_TRANSCRIBE_AGENT_CHANNEL", "right")
    with pytest.raises(ValueError, match="transcribe_agent_channel"):
        Settings()
