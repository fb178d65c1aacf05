"""`cx-worker ingest`: any supported export (or folder, fsspec URL, SQL table) into canonical interaction JSONL.

Reads through `cx_worker.ingest.source`, exactly as the nightly run does, so what ingest accepts the night accepts.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from cx_worker.ingest.source import Read, ReadOptions, read_interactions, source_files
from cx_worker.ingest.sql_source import is_sql_url


@dataclass
class IngestReport:
    """What one ingest wrote and what it could not read."""

    written: int = 0
    metadata_only: int = 0
    problems: list[str] = field(default_factory=list)  # "origin: reason", one per unreadable file or record


def ingest(paths: list[str], *, output: Path, metadata_output: Path, options: ReadOptions | None = None
           ) -> IngestReport:
    """Write every interaction of `paths` to `output` (one JSON object a line), in path then file order.

    Records that are not broken but have no transcript (Genesys analytics details) go to `metadata_output`.
    A repeated interaction id keeps its first occurrence; later ones are reported.
    """
    report, seen = IngestReport(), set()
    listed = {p: ([] if is_sql_url(p) else source_files(_local(p))) for p in paths}
    output.parent.mkdir(parents=True, exist_ok=True)
    side = None
    with output.open("w", encoding="utf-8") as out:
        for path in paths:
            others = [f for q, files in listed.items() if q != path for f in files]
            for item in read_interactions(_local(path), companions=others, options=options or ReadOptions()):
                if isinstance(item, Read):
                    iid = item.interaction.id
                    if iid in seen:
                        report.problems.append(f"{item.origin}: duplicate id {iid!r} (first occurrence kept)")
                        continue
                    seen.add(iid)
                    out.write(item.interaction.model_dump_json(exclude_none=True) + "\n")
                    report.written += 1
                elif item.record is not None:
                    if side is None:
                        metadata_output.parent.mkdir(parents=True, exist_ok=True)
                        side = metadata_output.open("w", encoding="utf-8")
                    side.write(json.dumps(item.record | {"reason": item.reason}) + "\n")
                    report.metadata_only += 1
                else:
                    report.problems.append(f"{item.origin}: {item.reason}")
    if side is not None:
        side.close()
    return report


def _local(path: str) -> Path | str:
    return path if "://" in path else Path(path)
