"""Reading completed interactions: a folder (or any fsspec URL, e.g. `s3://bucket/contacts/`, `memory://x`) of
canonical JSONL files, one `Interaction` per line, and of vendor exports that `cx_worker.ingest.adapters` converts; or a
SQL table of turns (`cx_worker.ingest.sql_source`).

Canonical JSONL streams line by line from the store's watermark (a byte offset per file), so a night reads only
what is new and memory does not grow with the file. A vendor export is read whole: its watermark is 0 until it has
been read to the end, then its size. A line, record or file that cannot be read is returned as a `Rejected` with
its reason, never raised: one bad record does not stop a run. Contacts without a language get a detected one.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from cx_worker.ingest.adapters import SUFFIXES, Batch, Failed, UnreadableFile, is_adapted_jsonl, parse_file
from cx_worker.ingest.language import with_language
from cx_worker.ingest.sql_source import display, is_sql_url, read_table
from cx_worker.models import Interaction


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


def source_files(folder: Path | str) -> list[SourceFile]:
    """The readable files (`*.jsonl`, `*.json`, `*.csv`) of a folder or fsspec URL, in name order.

    A file path is a folder of one (any suffix: an explicit file is always tried).
    """
    import fsspec

    if isinstance(folder, str) and "://" in folder:
        fs, root = fsspec.core.url_to_fs(folder)
    else:
        fs, root = fsspec.filesystem("file"), str(Path(folder).resolve())
    if fs.isfile(root):
        return [SourceFile(root.rstrip("/").rsplit("/", 1)[-1], root, fs.size(root), fs)]
    if not fs.isdir(root):
        raise FileNotFoundError(f"source folder {folder} does not exist")
    entries = [e for e in fs.ls(root, detail=True) if e.get("type") == "file"]
    files = [SourceFile(e["name"].rstrip("/").rsplit("/", 1)[-1], e["name"], int(e.get("size") or 0), fs)
             for e in entries]
    return sorted((f for f in files if f.name.endswith(SUFFIXES)), key=lambda f: f.name)


def source_names(source: Path | str) -> list[str]:
    """The watermark keys of a source: its file names, or a SQL source's table."""
    return [display(source).rsplit("#", 1)[1]] if is_sql_url(source) else [f.name for f in source_files(source)]


def source_key(source: Path | str) -> str:
    """A stable name of the source itself (no password), the prefix of its watermark origins."""
    if is_sql_url(source):
        return display(source)
    return source if isinstance(source, str) and "://" in source else str(Path(source).resolve())


def read_interactions(
    folder: Path | str, *, offsets: dict[str, int] | None = None, companions: list[SourceFile] = ()
) -> Iterator[Read | Rejected]:
    """Yield every interaction after each file's watermark offset, in file then line order.

    Args:
        folder: a folder or fsspec URL of files, one file, or a SQL URL (`sqlite:///x.db#table`).
        offsets: offset already consumed per file name (from the store's watermark).
        companions: files read elsewhere whose records may join this source's (Genesys details and transcripts).
    """
    offsets = offsets or {}
    if is_sql_url(folder):
        for item, table, end in read_table(folder, offset=offsets.get(display(folder).rsplit("#", 1)[1], 0)):
            yield _adapted(item, file=table, end=end)
        return
    files = source_files(folder)
    batch = Batch((f.name, f.read) for f in [*files, *companions])
    for f in files:
        key, start = f.name, offsets.get(f.name, 0)
        with f.open() as fh:
            head = fh.read(65536)
            if key.endswith(".jsonl") and not is_adapted_jsonl(head):
                fh.seek(start)
                line_no = _count_lines(f, start) if start else 0
                while raw := fh.readline():
                    line_no += 1
                    end = fh.tell()
                    origin = f"{key}:{line_no}"
                    if not raw.strip():
                        continue
                    yield _parse(raw, origin=origin, file=key, end=end)
                continue
        if start and start == f.size:
            continue  # a whole-file export already read to its end
        yield from _read_whole(f, batch)


def _read_whole(f: SourceFile, batch: Batch) -> Iterator[Read | Rejected]:
    try:
        items = list(parse_file(f.name, f.read(), batch=batch))
    except UnreadableFile as exc:
        yield Rejected(f.path, str(exc).removeprefix(f"{f.name}: "), f.name, f.size)
        return
    for i, item in enumerate(items):
        yield _adapted(item, file=f.name, end=f.size if i == len(items) - 1 else 0)


def _adapted(item, *, file: str, end: int) -> Read | Rejected:
    if isinstance(item, Failed):
        return Rejected(item.origin, item.reason, file, end, item.interaction_id, item.record)
    return Read(with_language(item.interaction), item.origin, file, end)


def _parse(raw: bytes, *, origin: str, file: str, end: int) -> Read | Rejected:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return Rejected(origin, f"not UTF-8: {exc.reason} at byte {exc.start}", file, end)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        return Rejected(origin, f"malformed JSON: {exc.msg} at column {exc.colno}", file, end)
    ident = data.get("id") if isinstance(data, dict) else None
    try:
        return Read(with_language(Interaction.model_validate(data)), origin, file, end)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'record'}: {e['msg']}" for e in exc.errors()[:5])
        return Rejected(origin, f"invalid interaction: {problems}", file, end, str(ident) if ident else None)


def _count_lines(path: SourceFile, offset: int) -> int:
    with path.open() as fh:
        return fh.read(offset).count(b"\n")
