"""Ingest: where contacts come from. Sources (folders, fsspec URLs, SQL tables), vendor export adapters, offline
language detection, the public-dataset readers, and the night's pull after the store's watermark."""

from cx_worker.ingest.convert import IngestReport, ingest
from cx_worker.ingest.language import detect_language, with_language
from cx_worker.ingest.pull import Pulled, advance_watermark, input_hash, pull, pull_chunks
from cx_worker.ingest.source import Read, Rejected, read_interactions, source_key, source_names

__all__ = ["IngestReport", "Pulled", "Read", "Rejected", "advance_watermark", "detect_language", "ingest",
           "input_hash", "pull", "pull_chunks", "read_interactions", "source_key", "source_names", "with_language"]
