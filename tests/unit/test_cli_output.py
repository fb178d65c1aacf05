"""What the CLI prints of contacts and files reaches the terminal without control characters, terminal escapes or
bidi overrides (a reason or a file name can carry them: they are data, not instructions to the terminal)."""

import pytest

from cx_worker.cli import main
from cx_worker.store import Store

NASTY = ["\x1b[2J\x1b[31mred", "\x1b]0;owned\x07", "\u202eevil\u202c", "a\x00b\x08c", "\u200bzero", "\x9b31m"]


@pytest.mark.parametrize("nasty", NASTY)
def test_quarantine_list_prints_no_escape_or_bidi(tmp_path, capsys, nasty):
    store = Store(tmp_path / "cx" / "store.sqlite")
    store.quarantine(run_id="r1", interaction_id="c1", origin=f"file{nasty}.jsonl:3", stage="read",
                     reason=f"malformed JSON near {nasty!s}")
    assert main(["quarantine", "list", "--data-dir", str(tmp_path / "cx")]) == 0
    out = capsys.readouterr()
    printed = out.out + out.err
    assert "malformed JSON" in printed and "file" in printed
    for bad in ("\x1b", "\x07", "\x00", "\x08", "\u202e", "\u202c", "\u200b", "\x9b"):
        assert bad not in printed
