"""Text that leaves the worker for a person's screen (a CRM note, a webhook payload, the governance report) carries
no control characters, terminal escapes or invisible direction/width tricks.

An answer drafted from a transcript can copy what the customer typed: an ANSI sequence that recolours or clears an
agent's terminal, an OSC hyperlink, a carriage return that overwrites a line, a right-to-left override that makes
"exe.txt" read "txt.exe", zero-width characters that hide text. `clean_text` removes those families and leaves every
printable character of every script as it is (é, ß, 中文, Ελληνικά, emoji, Arabic and Indic text).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from typing import Any

# Terminal escape sequences, 7-bit (ESC ...) and 8-bit (C1 introducers). String sequences (OSC, DCS, SOS, PM, APC)
# run to BEL or ST; one that is never terminated runs to the end of its line (a terminal would swallow that too).
ESCAPE = re.compile(
    r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]"                          # CSI: colours, cursor moves, clear screen
    r"|(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])[^\x07\x1b\x9c\n]*(?:\x07|\x1b\\|\x9c)?"  # OSC, DCS, SOS, PM, APC
    r"|\x1b[ -/]*[0-~]"                                          # two-character escapes: ESC 7, ESC ( B, ESC c
)
# Bidi embeddings, overrides, isolates and marks: they reorder what a reader sees.
BIDI = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c")
# Characters that print nothing: zero-width space and joiners, word joiner, invisible operators, BOM, soft hyphen,
# Mongolian vowel separator, Hangul fillers, interlinear annotation marks.
INVISIBLE = frozenset("\u200b\u200c\u200d\u2060\u2061\u2062\u2063\u2064\u2065\ufeff\u00ad\u180e"
                      "\u115f\u1160\u3164\uffa0\ufff9\ufffa\ufffb")
_SPACE_LIKE = frozenset("\x0b\x0c\x1c\x1d\x1e\x1f\x85")  # controls that separate words: a space, not nothing
_LINE = frozenset("\r\u2028\u2029")  # line ends a note shows as a plain line break
_TAGS = range(0xE0000, 0xE0080)  # invisible "tag" letters (ASCII smuggling); also spell subdivision flags
_BLACK_FLAG = "\U0001f3f4"
_ASCII_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def clean_text(text: str) -> str:
    """`text` without C0/C1 controls (tab and line feed stay; CR, LS and PS become line feeds; VT, FF and the
    separators a space), terminal escape sequences (CSI, OSC, ...), bidi controls, zero-width characters, lone
    surrogates and noncharacters. Printable text of any script is unchanged.

    Zero-width joiners inside an emoji sequence (👩‍💻) and non-joiners between letters of a script that spells with
    them (Persian, Indic) are kept, as are the tag characters of a subdivision flag (🏴 + tags): they are part of
    what is written, not a way to hide it.
    """
    if text.isascii() and not _ASCII_CONTROL.search(text):
        return text
    text = ESCAPE.sub("", text.replace("\r\n", "\n"))
    out: list[str] = []
    for i, ch in enumerate(text):
        if ch in _LINE:
            out.append("\n")
        elif ch in _SPACE_LIKE:
            out.append(" ")
        elif ch in "\t\n":
            out.append(ch)
        elif ch in BIDI:
            continue
        elif ch in INVISIBLE:
            if _joins(text, i):
                out.append(ch)
        elif ord(ch) in _TAGS:
            if _in_flag(text, i):
                out.append(ch)
        elif unicodedata.category(ch) in ("Cc", "Cs") or _noncharacter(ord(ch)):
            continue  # controls (C0, DEL, C1), lone surrogates, noncharacters (U+FFFE: no XML file may hold one)
        else:
            out.append(ch)
    return "".join(out)


def clean_value(value: Any) -> Any:
    """`clean_text` applied to every string of JSON-like data (dict keys too), the structure kept."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, Mapping):
        return {clean_value(k): clean_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [clean_value(v) for v in value]
    if isinstance(value, tuple):
        return tuple(clean_value(v) for v in value)
    return value


def _joins(text: str, i: int) -> bool:
    """A ZWJ between two pictographs (an emoji sequence), or a ZWNJ between two non-Latin letters."""
    ch = text[i]
    before = text[i - 1] if i else ""
    after = text[i + 1] if i + 1 < len(text) else ""
    if ch == "\u200d":
        before = text[i - 2] if before in ("\ufe0f", "") or _skin_tone(before) else before
        return bool(before) and bool(after) and _pictograph(before) and _pictograph(after)
    if ch == "\u200c":
        return (bool(before) and bool(after) and before.isalpha() and after.isalpha()
                and not before.isascii() and not after.isascii() and not _latin(before) and not _latin(after))
    return False


def _noncharacter(code: int) -> bool:
    return 0xFDD0 <= code <= 0xFDEF or (code & 0xFFFE) == 0xFFFE


def _pictograph(ch: str) -> bool:
    return unicodedata.category(ch) == "So" or 0x1F000 <= ord(ch) <= 0x1FAFF


def _skin_tone(ch: str) -> bool:
    return 0x1F3FB <= ord(ch) <= 0x1F3FF


def _latin(ch: str) -> bool:
    return "LATIN" in unicodedata.name(ch, "")


def _in_flag(text: str, i: int) -> bool:
    """A tag character in a run of tags that follows a black flag (🏴 gb-eng ...)."""
    j = i
    while j > 0 and ord(text[j - 1]) in _TAGS:
        j -= 1
    return j > 0 and text[j - 1] == _BLACK_FLAG
