"""What a text reads as, whatever it is written with: the form every injection check looks at.

A keyword check is only as good as the text it sees. "іgnоrе yоur іnstruсtіоns" in Cyrillic lookalikes, 𝐢𝐠𝐧𝐨𝐫𝐞 in
mathematical bold, ｉｇｎｏｒｅ in full width, "ig\u200bnore" with a zero-width space, an ANSI escape in the middle of
a word, base64 or ROT13 all read as "ignore" to a person or a model and to no pattern. `fold` maps a text to one
plain form: compatibility forms decomposed (NFKD), accents and other combining marks dropped, zero-width, bidi and
other format characters, controls and terminal escapes removed, every kind of line break a line feed, invisible tag
letters read as the ASCII they smuggle, decimal digits of any script as ASCII digits, and letters that look like a
Latin letter (Unicode's confusables, TR39: `models.lookalikes`) as that letter. `folded` also says where
each character of the plain form came from, so what a check finds can be cut out of the original text.

`readings` adds what a text says once decoded: base64 blobs (`base64_spans`) and sentences written in ROT13
(`rot13_reading`). A decoded text counts only when it reads as text: base64 that decodes to printable words, ROT13
that decodes to more common words than it had.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import re
import unicodedata
from functools import lru_cache

from cx_worker.guard.display import BIDI, ESCAPE, INVISIBLE
from cx_worker.models import lookalikes

_BREAKS = frozenset("\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")  # every line end str.splitlines() knows, but \n
_TAGS = range(0xE0000, 0xE0080)
_SIMPLE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


@lru_cache(maxsize=65536)
def _fold_char(ch: str) -> str:
    if ch in _BREAKS:
        return "\n"
    if ch in "\t\n":
        return ch
    code = ord(ch)
    if code in _TAGS:
        return chr(code - 0xE0000) if 0x20 <= code - 0xE0000 < 0x7F else ""
    if ch in BIDI or ch in INVISIBLE or unicodedata.category(ch) in ("Cc", "Cf", "Cs"):
        return ""
    table = lookalikes()
    out = []
    for part in unicodedata.normalize("NFKD", ch):
        if unicodedata.combining(part) or unicodedata.category(part) in ("Mn", "Me"):
            continue
        if part in table:
            part = table[part]
        elif unicodedata.category(part) == "Nd" and not part.isascii():
            part = str(unicodedata.digit(part))
        elif unicodedata.category(part) == "Zs":
            part = " "
        out.append(part)
    return "".join(out)


def folded(text: str) -> tuple[str, list[int]]:
    """The plain form of `text` (see the module doc) and, for each of its characters, the index in `text` of the
    character it came from."""
    if text.isascii() and not _SIMPLE.search(text):
        return text, list(range(len(text)))
    dropped = {i for m in ESCAPE.finditer(text) for i in range(m.start(), m.end())}
    chars: list[str] = []
    where: list[int] = []
    for i, ch in enumerate(text):
        if i in dropped:
            continue
        for part in _fold_char(ch):
            chars.append(part)
            where.append(i)
    return "".join(chars), where


def fold(text: str) -> str:
    """The plain form of `text`: what a person or a model reads, in one spelling (see the module doc)."""
    return folded(text)[0]


# Decoding -------------------------------------------------------------------------------------------------------

_B64 = re.compile(r"(?<![\w+/=-])[A-Za-z0-9+/_-]{16,}={0,2}(?![\w+/=-])")
_SENTENCE = re.compile(r"[^.!?\n]+[.!?]*")
_LETTERS = re.compile(r"[A-Za-z]+")
# Words most sentences have (and the few an instruction is made of), in the languages the patterns know: ROT13
# text has almost none of them, its decoding many.
_COMMON = frozenset("""
the a an and or to of in on for is are was be it this that you your my me i we our with as at by not no do all
now from what please say write mark set ignore rules instructions prompt system note summary resolved outcome
disposition customer agent crm output print reveal previous above
le la les et ou de des du un une est sont vous tu ton ta tes vos votre mon ma mes que qui pas dans pour sur avec
der die das und oder ist sind sie du ich nicht mit fur auf dein deine ihre alle bitte
el los las y es son usted tu su sus mi que no en por para con todas
il lo gli e sono lei tuo tua tuoi che non per con tutte
de het een en of is zijn je jij jouw uw niet met voor alle
o os as e ou sao voce seu sua seus que nao em por para com todas
i w z na nie jest sa ty twoje wszystkie prosze
""".split())


def rot13_reading(text: str) -> str | None:
    """`text` with every sentence that reads better in ROT13 decoded (same length, same positions), or None when
    no sentence does. A sentence reads better decoded when it has more common words (`_COMMON`) that way."""
    out, changed = [], False
    for m in _SENTENCE.finditer(text):
        sentence = m.group(0)
        words = _LETTERS.findall(sentence)
        decoded = codecs.encode(sentence, "rot13")
        if len(words) >= 2:
            before = sum(w.lower() in _COMMON for w in words)
            after = sum(w.lower() in _COMMON for w in _LETTERS.findall(decoded))
            if after >= 1 and after > before:
                out.append((m.start(), decoded))
                changed = True
    if not changed:
        return None
    chars = list(text)
    for start, decoded in out:
        chars[start:start + len(decoded)] = decoded
    return "".join(chars)


def base64_spans(text: str) -> list[tuple[int, int, str]]:
    """(start, end, decoded text) of each base64 blob of `text` (16+ characters, standard or URL-safe alphabet) that
    decodes to printable UTF-8 text made mostly of letters."""
    found = []
    for m in _B64.finditer(text):
        decoded = _decode64(m.group(0))
        if decoded is not None:
            found.append((m.start(), m.end(), decoded))
    return found


def _decode64(token: str) -> str | None:
    body = token.rstrip("=")
    if len(body) % 4 == 1:
        return None
    body += "=" * (-len(body) % 4)
    try:
        raw = base64.b64decode(body, altchars=b"-_" if ("-" in body or "_" in body) else None, validate=True)
        text = raw.decode("utf-8")
    except (binascii.Error, ValueError):
        return None
    if len(text) < 4:
        return None
    printable = sum(c.isprintable() or c in "\n\t" for c in text)
    letters = sum(c.isalpha() for c in text)
    words = sum(c.isalnum() for c in text)
    return text if (printable >= 0.95 * len(text) and letters >= 3
                    and words >= 0.6 * len("".join(text.split()))) else None


def readings(text: str, *, depth: int = 2) -> list[str]:
    """Every way `text` reads: its plain form, then (when there are any) its ROT13 decoding and the plain form and
    decodings of each base64 blob in it (a blob inside a blob too, `depth` levels)."""
    plain = fold(text)
    out = [plain]
    rot = rot13_reading(plain)
    if rot is not None:
        out.append(rot)
    if depth > 0:
        for _, _, decoded in base64_spans(plain):
            out.extend(readings(decoded, depth=depth - 1))
    return out
