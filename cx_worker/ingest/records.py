"""One record's bytes into data, or the reason it cannot be read — never an exception that ends the night.

Every way a single line of an export has been seen to break a reader is a class handled here: bytes that are not
the declared encoding, JSON that does not parse, JSON nested deeper than a record can be (a parser's recursion
limit), numbers thousands of digits long (Python's int limit), escaped lone surrogates (they parse, then break
every encoder downstream), NUL characters (a database server's text type refuses them), and records too large to
be one contact. `load_record` returns the data or a `Problem`; callers turn a problem into a quarantined record.
"""

from __future__ import annotations

import codecs
import json
import re
from dataclasses import dataclass
from typing import Any

import charset_normalizer

MAX_RECORD_BYTES = 8 * 1024 * 1024  # one contact's record; a longer line is not read into memory
MAX_DEPTH = 64  # a contact is a few levels deep (record → turns → turn → metadata …)
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")


@dataclass(frozen=True)
class Problem:
    """Why a record cannot be read, in words an ops person can act on."""

    reason: str


def load_record(raw: bytes | str, *, encoding: str = "utf-8", max_bytes: int | None = MAX_RECORD_BYTES
                ) -> Any | Problem:
    """Parse one JSON record (bytes in `encoding`, or text), or say why it cannot be one. `max_bytes`: None for a
    whole export file (many contacts)."""
    if max_bytes is not None and len(raw) > max_bytes:
        return Problem(f"record of {len(raw):,} bytes is over the {max_bytes:,}-byte limit for one contact")
    if isinstance(raw, bytes):
        try:
            text = raw.decode(encoding)
        except UnicodeDecodeError as exc:
            return Problem(f"not {_name(encoding)}: {exc.reason} at byte {exc.start}")
        except LookupError:
            return Problem(f"unknown encoding {encoding!r}")
    else:
        text = raw
    text = text.removeprefix("\ufeff")  # a byte-order mark in front of the first record
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        return Problem(f"malformed JSON: {exc.msg} at column {exc.colno}")
    except RecursionError:
        return Problem(f"JSON nested deeper than a contact can be (over {MAX_DEPTH} levels)")
    except ValueError as exc:  # e.g. "Exceeds the limit (4300 digits) for integer string conversion"
        return Problem(f"unreadable JSON value: {str(exc)[:160]}")
    return check_data(data, escapes=bool(_SURROGATE_ESCAPE.search(text)), nul="\x00" in text or "\\u0000" in text)


def check_data(data: Any, *, escapes: bool = True, nul: bool = True) -> Any | Problem:
    """`data` with NUL characters removed from its strings, or the problem with it (too deep, a lone surrogate).

    `escapes` / `nul`: whether the source text could hold a surrogate escape / a NUL at all (skips the string walk
    for the common record that cannot)."""
    depth = _depth(data)
    if depth > MAX_DEPTH:
        return Problem(f"JSON nested more than {MAX_DEPTH} levels deep, deeper than a contact can be")
    if not (escapes or nul):
        return data
    try:
        return _strings(data, nul=nul)
    except UnicodeEncodeError as exc:
        return Problem(f"text holds a lone surrogate (U+{ord(exc.object[exc.start]):04X}): not valid Unicode")


def _depth(data: Any) -> int:
    deepest, stack = 0, [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict | list):
            deepest = max(deepest, depth)
            if depth > MAX_DEPTH:
                return depth
            stack.extend((v, depth + 1) for v in (value.values() if isinstance(value, dict) else value))
    return deepest


def _strings(value: Any, *, nul: bool) -> Any:
    if isinstance(value, str):
        value.encode("utf-8")  # raises on a lone surrogate
        return value.replace("\x00", "") if nul else value
    if isinstance(value, list):
        return [_strings(v, nul=nul) for v in value]
    if isinstance(value, dict):
        return {_strings(k, nul=nul): _strings(v, nul=nul) for k, v in value.items()}
    return value


_MARK = "\U0010fffd"  # stands in for bytes that are not valid in the encoding (a private-use code point)
LEGACY = ("cp1252", "cp1250", "iso8859_15", "cp1251")  # what Windows-era exports are written in



def _mark(exc: UnicodeDecodeError) -> tuple[str, int]:
    return _MARK * (exc.end - exc.start), exc.end


codecs.register_error("cx-mark", _mark)


def decode(data: bytes, *, encoding: str = "auto") -> tuple[str, str]:
    """A file's text and the encoding it was read in; bytes the encoding cannot read become `unreadable` marks
    (see `has_unreadable`), so the records holding them are set aside and the rest is kept.

    `auto`: UTF-8 (with or without a byte-order mark) when it reads as such (a few bad bytes in an otherwise UTF-8
    file stay marks); otherwise the legacy encoding charset-normalizer finds likeliest among `LEGACY` (a Windows
    export), cp1252 when it cannot tell. Any other value is used as given.
    """
    if encoding != "auto":
        return data.decode(encoding, errors="cx-mark").removeprefix("\ufeff"), encoding
    text = data.decode("utf-8", errors="cx-mark").removeprefix("\ufeff")
    bad = text.count(_MARK)
    if not bad:
        return text, "utf-8"
    wide = sum(1 for ch in text if ord(ch) > 127) - bad
    if wide and bad <= max(3, wide // 10):  # UTF-8 text with a few broken bytes: keep UTF-8
        return text, "utf-8"
    # Bytes cp1252 leaves undefined are left out of the guess, so a few of them (corruption) cannot pull it to an
    # encoding that happens to define them; in the text they stay unreadable marks.
    sample = data.translate(None, b"\x81\x8d\x8f\x90\x9d")
    matches = list(charset_normalizer.from_bytes(sample, cp_isolation=list(LEGACY)))
    legacy = "cp1252"  # the Western European default, unless another encoding reads clearly better
    if matches:
        best = min(matches, key=lambda m: m.chaos)
        windows = next((m for m in matches if m.encoding == "cp1252"), None)
        if windows is not None:
            legacy = best.encoding if best.chaos + 0.05 < windows.chaos else "cp1252"
        elif sample.decode("cp1252", errors="cx-mark") != str(best):  # cp1252 reads it differently (and worse)
            legacy = best.encoding
    return data.decode(legacy, errors="cx-mark"), legacy


def has_unreadable(text: str) -> bool:
    """Whether decoded text holds bytes its encoding could not read."""
    return _MARK in text


def _name(encoding: str) -> str:
    return "UTF-8" if encoding.lower().replace("-", "").replace("_", "") in ("utf8", "utf8sig") else encoding
