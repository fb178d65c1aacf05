"""Which language a contact is in, detected offline when the source does not say.

py3langid (BSD-3-Clause, a 4.5 MB naive-Bayes model inside the wheel, no download) over the contact's own words:
URLs, @handles, e-mail addresses and redaction placeholders are removed first, since they are language-neutral and
push short texts toward English. Below `MIN_CHARS` of text or `MIN_CONFIDENCE` the language stays unknown (None):
a wrong language is worse than none. The summary and CRM note are written in `Settings.crm_language` whatever this
says; it is recorded so ops can route and report by language.
"""

from __future__ import annotations

import re
from functools import lru_cache

from py3langid.langid import MODEL_FILE, LanguageIdentifier

from cx_worker.models import Interaction

MIN_CHARS = 20
MIN_CONFIDENCE = 0.8
_NOISE = re.compile(r"https?://\S+|www\.\S+|@\w+|\S+@\S+|\[[A-Z_]+_\d+\]|#\w+|\d+")


@lru_cache(maxsize=1)
def _identifier():
    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def detect_language(text: str) -> tuple[str | None, float]:
    """The ISO 639-1 code of `text` and the detector's confidence; (None, confidence) when unsure or too short."""
    clean = " ".join(_NOISE.sub(" ", text).split())
    if len(clean) < MIN_CHARS:
        return None, 0.0
    code, prob = _identifier().classify(clean)
    return (code if prob >= MIN_CONFIDENCE else None), float(prob)


def with_language(interaction: Interaction) -> Interaction:
    """The interaction with `language` detected from its customer's turns (all turns if the customer says little).

    An interaction that already has a language is returned unchanged.
    """
    if interaction.language:
        return interaction
    customer = " ".join(t.text for t in interaction.turns if t.speaker == "customer")
    text = customer if len(customer) >= 4 * MIN_CHARS else " ".join(t.text for t in interaction.turns)
    code, prob = detect_language(text)
    if code is None:
        return interaction
    detected = {"language_detected": {"code": code, "p": round(prob, 3)}}
    return interaction.model_copy(update={"language": code, "metadata": interaction.metadata | detected})
