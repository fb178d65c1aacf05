"""Sources: a folder, fsspec URLs (file://, memory://) and a SQLite table; the watermark over whole-file exports."""

import json
import sqlite3

import fsspec
import pytest

from cx_worker.ingest.source import Read, Rejected, read_interactions, source_key, source_names
from tests.support.paths import PROJECT_ROOT

FORMATS = PROJECT_ROOT / "tests" / "fixtures" / "formats"
GOOD = {"id": "c1", "channel": "chat", "turns": [{"speaker": "customer", "text": "hi there"}]}


def _ids(items):
    return [i.interaction.id for i in items if isinstance(i, Read)]


def test_memory_url_reads_canonical_and_vendor_files():
    fs = fsspec.filesystem("memory")
    fs.pipe("/cx5-src/a.jsonl", (json.dumps(GOOD) + "\n").encode())
    fs.pipe("/cx5-src/b.json", (FORMATS / "aws_pca_post_call_analytics_parsed_output.json").read_bytes())
    fs.pipe("/cx5-src/notes.txt", b"ignored")
    try:
        items = list(read_interactions("memory://cx5-src"))
        assert _ids(items) == ["c1", "stereo_std_1.mp3"]
        assert source_names("memory://cx5-src") == ["a.jsonl", "b.json"]
        assert source_key("memory://cx5-src") == "memory://cx5-src"
    finally:
        fs.rm("/cx5-src", recursive=True)


def test_file_url_and_whole_file_watermark(tmp_path):
    (tmp_path / "chat.json").write_bytes((FORMATS / "amazon_connect_contact_lens_chat_analysis.json").read_bytes())
    (tmp_path / "turns.csv").write_bytes((FORMATS / "synthetic_turns.csv").read_bytes())
    items = list(read_interactions(f"file://{tmp_path}"))
    assert _ids(items) == ["b49644f6-672f-445c-b209-f76b36482830", "csv-1", "csv-2"]
    # Whole-file exports: offset 0 until the last item of the file, then the file's size.
    ends = {}
    for item in items:
        ends.setdefault(item.file, []).append(item.end_offset)
    size = (tmp_path / "turns.csv").stat().st_size
    assert ends["turns.csv"] == [0, 0, 0, size] and ends["chat.json"] == [(tmp_path / "chat.json").stat().st_size]
    done = {"chat.json": ends["chat.json"][-1], "turns.csv": size}
    assert list(read_interactions(tmp_path, offsets=done)) == []
    (tmp_path / "turns.csv").write_text((tmp_path / "turns.csv").read_text() + "csv-5,1,customer,New one,,chat,,\n")
    assert "csv-5" in _ids(read_interactions(tmp_path, offsets=done))  # a changed file is read again


def test_sqlite_table_of_turns(tmp_path):
    db = tmp_path / "cc.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE contact_turns (conversation_id TEXT, turn_index INT, speaker TEXT, text TEXT, "
                     "ts TEXT, channel TEXT)")
        conn.executemany("INSERT INTO contact_turns VALUES (?, ?, ?, ?, ?, ?)", [
            ("s-2", 2, "agent", "Sure, done.", "2026-11-20T10:00:05", "chat"),
            ("s-1", 1, "customer", "I need a new invoice copy.", "2026-11-20T09:00:00", "email"),
            ("s-2", 1, "customer", "Please change my delivery slot.", "2026-11-20T10:00:00", "chat"),
            ("s-1", 2, "agent", "Sent to your inbox.", None, "email"),
            ("s-3", 1, "alien", "???", None, "chat"),
        ])
    url = f"sqlite:///{db}#contact_turns"
    items = list(read_interactions(url))
    assert _ids(items) == ["s-1", "s-2"]
    s2 = [i.interaction for i in items if isinstance(i, Read)][1]
    assert [t.text for t in s2.turns] == ["Please change my delivery slot.", "Sure, done."]  # turn_index order
    assert [i.reason for i in items if isinstance(i, Rejected)][0].endswith("unknown speaker 'alien'")
    assert items[-1].end_offset == 5 and source_names(url) == ["contact_turns"]
    assert list(read_interactions(url, offsets={"contact_turns": 5})) == []


def test_sql_source_key_hides_the_password():
    assert source_key("postgresql://cx:s3cret@db.example:5432/cc#turns") == \
        "postgresql+psycopg://cx:***@db.example:5432/cc#turns"


def test_missing_source_folder_is_an_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        list(read_interactions(tmp_path / "nope"))
