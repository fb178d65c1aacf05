"""Reading completed interactions: a folder (or any fsspec URL, e.g. `s3://bucket/contacts/`, `memory://x`) of
canonical JSONL files, one `Interaction` per line, and of vendor exports that `cx_worker.ingest.adapters` converts; or a
SQL table of turns (`cx_worker.ingest.sql_source`).

Canonical JSONL streams line by line from the store's watermark (a byte offset per file), so a night reads only
what is new and memory does not grow with the file. A vendor export is read whole: its watermark is 0 until it has
been read to the end, then its size. A line, record or file that cannot be read is returned as a `Rejected` with
its reason, never raised: one bad record does not stop a run. Contacts without a language get a detected one.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import fsspec
from fsspec.implementations.local import LocalFileSystem
from pydantic import ValidationError

from cx_worker.ingest.adapters import SUFFIXES, Batch, Failed, UnreadableFile, is_adapted_jsonl, parse_file
from cx_worker.ingest.language import with_language
from cx_worker.ingest.records import MAX_RECORD_BYTES, Problem, decode, has_unreadable, load_record
from cx_worker.ingest.sql_source import display, is_sql_url, read_table
from cx_worker.models import Interaction
from cx_worker.settings import Settings

SEEN_EMPTY = -1  # the watermark of an empty or unreadable entry already reported: not reported again until it changes


@dataclass(frozen=True)
class ReadOptions:
    """How to read a source's files (each a setting): their text encoding, and who speaks first in a diarized
    Amazon Transcribe file / which channel is the agent's."""

    encoding: str = "auto"
    transcribe_first_speaker: str = "agent"
    transcribe_agent_channel: str = "ch_0"

    @classmethod
    def of(cls, settings: Settings) -> ReadOptions:
        return cls(encoding=settings.source_encoding, transcribe_first_speaker=settings.transcribe_first_speaker,
                   transcribe_agent_channel=settings.transcribe_agent_channel)


@dataclass(frozen=True)
class Read:
    """A valid interaction and where it came from."""

    interaction: Interaction
    origin: str  # "file.jsonl:LINE"
    file: str
    end_offset: int


@dataclass(frozen=True)
class Rejected:
    """A line that could not be read as an interaction, and why."""

    origin: str
    reason: str
    file: str
    end_offset: int
    interaction_id: str | None = None
    record: dict | None = None  # a metadata-only record (no transcript), for `cx-worker ingest`'s side output


@dataclass(frozen=True)
class SourceFile:
    """One file of a source, on any fsspec file system."""

    name: str  # the watermark key: the file's name within the source
    path: str
    size: int
    fs: Any

    def open(self):
        return self.fs.open(self.path, "rb")

    def read(self) -> bytes:
        with self.open() as fh:
            return fh.read()


@dataclass(frozen=True)
class Unreadable:
    """An entry of a source folder that cannot be read as a file (a symbolic-link loop, a broken link, no
    permission), and why."""

    name: str
    path: str
    reason: str


def source_entries(folder: Path | str) -> tuple[list[SourceFile], list[Unreadable]]:
    """The readable files (`*.jsonl`, `*.json`, `*.csv`) of a folder or fsspec URL, in name order, and the entries
    with those suffixes that cannot be read. A file path is a folder of one (any suffix: an explicit file is always
    tried)."""
    if isinstance(folder, str) and "://" in folder:
        fs, root = fsspec.core.url_to_fs(folder)
    else:
        fs, root = fsspec.filesystem("file"), str(Path(folder).resolve())
    if fs.isfile(root):
        return [SourceFile(root.rstrip("/").rsplit("/", 1)[-1], root, fs.size(root), fs)], []
    if not fs.isdir(root):
        raise FileNotFoundError(f"source folder {folder} does not exist")
    if isinstance(fs, LocalFileSystem):
        return _local_entries(root, fs)
    entries = [e for e in fs.ls(root, detail=True) if e.get("type") == "file"]
    files = [SourceFile(e["name"].rstrip("/").rsplit("/", 1)[-1], e["name"], int(e.get("size") or 0), fs)
             for e in entries]
    return sorted((f for f in files if f.name.endswith(SUFFIXES)), key=lambda f: f.name), []


def _local_entries(root: str, fs: Any) -> tuple[list[SourceFile], list[Unreadable]]:
    files, unreadable = [], []
    for entry in os.scandir(root):
        if not entry.name.endswith(SUFFIXES):
            continue
        try:
            info = os.stat(entry.path)  # follows links: a loop or a dangling link fails here
        except OSError as exc:
            unreadable.append(Unreadable(entry.name, entry.path, _os_reason(exc)))
            continue
        if stat.S_ISREG(info.st_mode):
            files.append(SourceFile(entry.name, entry.path, info.st_size, fs))
    return sorted(files, key=lambda f: f.name), sorted(unreadable, key=lambda u: u.name)


def _os_reason(exc: OSError) -> str:
    known = {errno.ELOOP: "a symbolic-link loop", errno.ENOENT: "a broken symbolic link (its target is gone)",
             errno.EACCES: "permission denied"}
    return f"unreadable: {known.get(exc.errno, exc.strerror or type(exc).__name__)}"


def source_files(folder: Path | str) -> list[SourceFile]:
    """The readable files of a source (see `source_entries`)."""
    return source_entries(folder)[0]


def source_names(source: Path | str) -> list[str]:
    """The watermark keys of a source: its file names (readable or not), or a SQL source's table."""
    if is_sql_url(source):
        return [display(source).rsplit("#", 1)[1]]
    files, unreadable = source_entries(source)
    return [f.name for f in files] + [u.name for u in unreadable]


def source_key(source: Path | str) -> str:
    """A stable name of the source itself (no password), the prefix of its watermark origins."""
    if is_sql_url(source):
        return display(source)
    return source if isinstance(source, str) and "://" in source else str(Path(source).resolve())


def read_interactions(
    folder: Path | str, *, offsets: dict[str, int] | None = None, companions: list[SourceFile] = (),
    options: ReadOptions | None = None,
) -> Iterator[Read | Rejected]:
    """Yield every interaction after each file's watermark offset, in file then line order.

    Nothing raises for one record or one file: whatever cannot be read comes back as a `Rejected` with its reason.
    An empty file, or an entry that cannot be read at all (a symbolic-link loop), is reported once: its watermark
    becomes `SEEN_EMPTY` and it is passed over until it changes.

    Args:
        folder: a folder or fsspec URL of files, one file, or a SQL URL (`sqlite:///x.db#table`).
        offsets: offset already consumed per file name (from the store's watermark).
        companions: files read elsewhere whose records may join this source's (Genesys details and transcripts).
        options: how to read the files (`ReadOptions`): their encoding (`auto` reads UTF-8, and a file or line
            that is not UTF-8 in the legacy encoding it most likely is: `records.decode`), the Transcribe roles.
    """
    offsets, options = offsets or {}, options or ReadOptions()
    if is_sql_url(folder):
        for item, table, end in read_table(folder, offset=offsets.get(display(folder).rsplit("#", 1)[1], 0)):
            yield _adapted(item, file=table, end=end)
        return
    files, unreadable = source_entries(folder)
    for entry in unreadable:
        if offsets.get(entry.name) != SEEN_EMPTY:
            yield Rejected(entry.path, entry.reason, entry.name, SEEN_EMPTY)
    batch = Batch((f.name, f.read) for f in [*files, *companions])
    for f in files:
        key, start = f.name, offsets.get(f.name, 0)
        if f.size == 0:
            if start != SEEN_EMPTY:
                yield Rejected(f.path, "empty file (0 bytes): nothing to read; read again once it has content",
                               key, SEEN_EMPTY)
            continue
        start = max(start, 0)
        try:
            yield from _read_file(f, start=start, batch=batch, options=options)
        except Exception as exc:  # a file system error mid-file: the file, not the night
            yield Rejected(f.path, f"could not be read: {type(exc).__name__}: {str(exc)[:200]}", key, start)


def _read_file(f: SourceFile, *, start: int, batch: Batch, options: ReadOptions) -> Iterator[Read | Rejected]:
    key = f.name
    with f.open() as fh:
        head = fh.read(65536)
        if key.endswith(".jsonl") and not is_adapted_jsonl(head):
            fh.seek(start)
            line_no = _count_lines(f, start) if start else 0
            legacy: list[str] = []  # the legacy encoding of this file's non-UTF-8 lines, found once
            while raw := fh.readline(MAX_RECORD_BYTES + 1):
                if len(raw) > MAX_RECORD_BYTES and not raw.endswith(b"\n"):
                    while (more := fh.readline(1 << 20)) and not more.endswith(b"\n"):
                        pass  # skip the rest of an over-long line without holding it
                    raw += b"..."
                line_no += 1
                if raw.strip():
                    yield _parse(raw, origin=f"{key}:{line_no}", file=key, end=fh.tell(), encoding=options.encoding,
                                 legacy=legacy)
            return
    if start and start == f.size:
        return  # a whole-file export already read to its end
    yield from _read_whole(f, batch, options)


def _read_whole(f: SourceFile, batch: Batch, options: ReadOptions) -> Iterator[Read | Rejected]:
    try:
        items = list(parse_file(f.name, f.read(), batch=batch, encoding=options.encoding,
                                transcribe_first_speaker=options.transcribe_first_speaker,
                                transcribe_agent_channel=options.transcribe_agent_channel))
    except UnreadableFile as exc:
        yield Rejected(f.path, str(exc).removeprefix(f"{f.name}: "), f.name, f.size)
        return
    except Exception as exc:  # an adapter meeting a shape it did not expect: this file is set aside, not the night
        yield Rejected(f.path, f"could not be read: {type(exc).__name__}: {str(exc)[:200]}", f.name, f.size)
        return
    for i, item in enumerate(items):
        yield _adapted(item, file=f.name, end=f.size if i == len(items) - 1 else 0)


def _adapted(item, *, file: str, end: int) -> Read | Rejected:
    if isinstance(item, Failed):
        return Rejected(item.origin, item.reason, file, end, item.interaction_id, item.record)
    try:
        return Read(with_language(item.interaction), item.origin, file, end)
    except Exception as exc:
        return Rejected(item.origin, f"could not be read: {type(exc).__name__}: {str(exc)[:200]}", file, end,
                        item.interaction.id)


def _parse(raw: bytes, *, origin: str, file: str, end: int, encoding: str = "auto",
           legacy: list[str] | None = None) -> Read | Rejected:
    if len(raw) > MAX_RECORD_BYTES:
        return Rejected(origin, f"line over the {MAX_RECORD_BYTES:,}-byte limit for one contact", file, end)
    data = load_record(raw, encoding="utf-8" if encoding == "auto" else encoding)
    used = None
    if isinstance(data, Problem) and encoding == "auto" and data.reason.startswith("not UTF-8"):
        if legacy is not None and not legacy:
            legacy.append(decode(raw)[1])  # the first line that is not UTF-8 decides the file's legacy encoding
        used = legacy[0] if legacy else decode(raw)[1]
        text, _ = decode(raw, encoding=used)
        data = (Problem(f"not UTF-8, nor {used}: bytes neither can read") if has_unreadable(text)
                else load_record(text))
    if isinstance(data, Problem):
        return Rejected(origin, data.reason, file, end)
    ident = data.get("id") if isinstance(data, dict) else None
    if used is not None and isinstance(data, dict) and isinstance(data.get("metadata", {}), dict):
        data["metadata"] = {**data.get("metadata", {}), "decoded_as": used}
    try:
        return Read(with_language(Interaction.model_validate(data)), origin, file, end)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'record'}: {e['msg']}" for e in exc.errors()[:5])
        return Rejected(origin, f"invalid interaction: {problems}", file, end, str(ident)[:200] if ident else None)
    except Exception as exc:  # anything else one record can do: that record, not the night
        return Rejected(origin, f"could not be read: {type(exc).__name__}: {str(exc)[:200]}", file, end,
                        str(ident)[:200] if ident else None)


def _count_lines(path: SourceFile, offset: int) -> int:
    with path.open() as fh:
        return fh.read(offset).count(b"\n")
