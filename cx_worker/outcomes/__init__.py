"""Outcomes: how each contact really ended (resolved, deflected, escalated, abandoned, unresolved), with no LLM: a
kNN vote over labelled exemplars, signals read from the turns, outcome words, a fitted fusion of the three; repeat
contacts; people's corrections; the outcome report and the classifier's evaluation."""

from cx_worker.outcomes.classifier import Classifier, ContactVectors, embed_contacts
from cx_worker.outcomes.corrections import CorrectionError, correct_outcome
from cx_worker.outcomes.report import outcome_report, outcome_table

__all__ = ["Classifier", "ContactVectors", "CorrectionError", "correct_outcome", "embed_contacts", "outcome_report",
           "outcome_table"]
