"""Redaction: personal data found (`detectors`: `phones`, `banking`, `national_ids`, `dates`, `addresses`, read with
the words around it, `context`) and replaced by consistent placeholders (`redactor`) before anything reaches an LLM;
how well it does (`evaluate`)."""

from cx_worker.redaction.detectors import DEFAULT_REGIONS, KINDS, Span, detect, parse_regions
from cx_worker.redaction.redactor import Redactor, customer_names, find_pii, redact_interaction

__all__ = ["DEFAULT_REGIONS", "KINDS", "Redactor", "Span", "customer_names", "detect", "find_pii", "parse_regions",
           "redact_interaction"]
