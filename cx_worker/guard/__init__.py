"""Guard: untrusted text on the way in and out. What is neutralised on the way in (`inbound`: instructions a
customer typed, in eight languages, in lookalike letters, base64 or ROT13, and forged speaker lines, kept out of what
the classifier reads), what is checked on the way out (`outbound`: an answer that quotes the system prompt, leaks
another contact, or follows an injected instruction is rejected), the one form every check reads (`normalise`), and
what is stripped from text shown to people (`display`: controls, terminal escapes, bidi and zero-width tricks)."""

from cx_worker.guard.display import clean_text, clean_value
from cx_worker.guard.inbound import Neutralised, find, neutralise, restore_turns
from cx_worker.guard.normalise import fold, readings
from cx_worker.guard.outbound import batch_identifiers, check_output, identifiers

__all__ = ["Neutralised", "batch_identifiers", "check_output", "clean_text", "clean_value", "find", "fold",
           "identifiers", "neutralise", "readings", "restore_turns"]
