"""Guard: prompt injection. What is neutralised on the way in (`inbound`: instructions a customer typed, kept out
of what the classifier reads) and what is checked on the way out (`outbound`: an answer that quotes the system
prompt, leaks another contact, or follows an injected instruction is rejected)."""

from cx_worker.guard.inbound import Neutralised, neutralise, restore_turns
from cx_worker.guard.outbound import batch_identifiers, check_output, identifiers

__all__ = ["Neutralised", "batch_identifiers", "check_output", "identifiers", "neutralise", "restore_turns"]
