"""Reading completed interactions: a folder of canonical JSONL files, one `Interaction` per line.

Reads stream line by line from the store's watermark (a byte offset per file), so a night reads only what is new
and memory does not grow with the file. A line that is not a valid `Interaction` is returned as a `Rejected` with
its reason, never raised: one bad record does not stop a run.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

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


def source_files(folder: Path) -> list[Path]:
    """The JSONL files of a source folder, in name order (a file path is a folder of one)."""
    if folder.is_file():
        return [folder]
    if not folder.is_dir():
        raise FileNotFoundError(f"source folder {folder} does not exist")
    return sorted(p for p in folder.iterdir() if p.suffix == ".jsonl" and p.is_file())


def read_interactions(folder: Path, *, offsets: dict[str, int] | None = None) -> Iterator[Read | Rejected]:
    """Yield every interaction after each file's watermark offset, in file then line order.

    Args:
        folder: a folder of `*.jsonl` files, or one file.
        offsets: byte offset already consumed per file name (from the store's watermark).
    """
    offsets = offsets or {}
    for path in source_files(folder):
        key = path.name
        with path.open("rb") as fh:
            start = offsets.get(key, 0)
            fh.seek(start)
            line_no = _count_lines(path, start) if start else 0
            while raw := fh.readline():
                line_no += 1
                end = fh.tell()
                origin = f"{key}:{line_no}"
                if not raw.strip():
                    continue
                yield _parse(raw, origin=origin, file=key, end=end)


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
        return Read(Interaction.model_validate(data), origin, file, end)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'record'}: {e['msg']}" for e in exc.errors()[:5])
        return Rejected(origin, f"invalid interaction: {problems}", file, end, str(ident) if ident else None)


def _count_lines(path: Path, offset: int) -> int:
    with path.open("rb") as fh:
        return fh.read(offset).count(b"\n")
