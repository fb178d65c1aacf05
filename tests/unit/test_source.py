import json

from cx_worker.ingest.source import Read, Rejected, read_interactions

GOOD = {"id": "c1", "channel": "chat", "turns": [{"speaker": "customer", "text": "hi"}]}


def _write(path, lines: list[bytes]):
    path.write_bytes(b"".join(line + b"\n" for line in lines))


def test_bad_lines_are_rejected_with_reasons_and_good_ones_kept(tmp_path):
    _write(tmp_path / "a.jsonl", [
        json.dumps(GOOD).encode(),
        b"{not json",
        json.dumps({**GOOD, "id": "c2", "channel": "fax"}).encode(),
        json.dumps({**GOOD, "id": "c3", "turns": []}).encode(),
        b'{"id": "c4", "channel": "chat", "turns": [{"speaker": "customer", "text": "caf\xe9"}]}',
        json.dumps({**GOOD, "id": "c5", "turns": [{"speaker": "robot", "text": "x"}]}).encode(),
        json.dumps({**GOOD, "id": "c6"}).encode(),
        b'{"id": "c7", "channel": "chat", "turns": [{"speaker": "customer", "text": "\x81\x8d\x90"}]}',
    ])
    items = list(read_interactions(tmp_path))
    read = {i.interaction.id: i.interaction for i in items if isinstance(i, Read)}
    # c4 is Windows-1252 ("caf\xe9"), not UTF-8: read in its encoding, and the record says so
    assert list(read) == ["c1", "c4", "c6"] and read["c4"].turns[0].text == "café"
    assert read["c4"].metadata["decoded_as"] == "cp1252" and "decoded_as" not in read["c1"].metadata
    reasons = {i.origin: i.reason for i in items if isinstance(i, Rejected)}
    assert reasons["a.jsonl:2"].startswith("malformed JSON")
    assert "channel" in reasons["a.jsonl:3"]
    assert "turns" in reasons["a.jsonl:4"]
    assert reasons["a.jsonl:8"].startswith("not UTF-8, nor cp1252")
    assert "speaker" in reasons["a.jsonl:6"]


def test_offsets_resume_after_the_watermark(tmp_path):
    lines = [json.dumps({**GOOD, "id": f"c{n}"}).encode() for n in range(5)]
    _write(tmp_path / "a.jsonl", lines)
    first = list(read_interactions(tmp_path))
    third_end = first[2].end_offset
    rest = list(read_interactions(tmp_path, offsets={"a.jsonl": third_end}))
    assert [r.interaction.id for r in rest] == ["c3", "c4"]
    assert rest[0].origin == "a.jsonl:4"


def test_files_are_read_in_name_order_and_other_files_ignored(tmp_path):
    _write(tmp_path / "b.jsonl", [json.dumps({**GOOD, "id": "b"}).encode()])
    _write(tmp_path / "a.jsonl", [json.dumps({**GOOD, "id": "a"}).encode()])
    (tmp_path / "notes.txt").write_text("ignore me")
    assert [r.interaction.id for r in read_interactions(tmp_path)] == ["a", "b"]
