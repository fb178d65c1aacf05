"""Redaction: personal data found (`detectors`) and replaced by consistent placeholders (`redactor`) before anything
reaches an LLM; how well it does (`evaluate`)."""

from cx_worker.redaction.detectors import KINDS, Span, detect
from cx_worker.redaction.redactor import Redactor, customer_names, find_pii, redact_interaction

__all__ = ["KINDS", "Redactor", "Span", "customer_names", "detect", "find_pii", "redact_interaction"]
