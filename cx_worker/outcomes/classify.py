"""The outcome classifier: how did a contact really end — resolved, deflected, escalated, abandoned, unresolved?

Three parts, none of them an LLM, so the label never depends on how good the summarising model is:

1. a similarity-weighted k-nearest-neighbour vote over labelled exemplar contacts in the vector store;
2. deterministic signals read from the turns (`signals.py`): a hand-off to DM or a link with no fix made, the
   agent waiting for a customer who left, a confirmation that it worked, an escalation;
3. a small fitted model (`fusion.py`) that weighs the two, plus the class probabilities of an outcome-words model
   learnt from the exemplars (`text_model.py`), into the label and a calibrated confidence. Without a fitted
   model the plain vote decides (and the signals are still reported).

The evidence travels with the label: the exemplars that voted (with their similarity), the signals that fired
(with the turns that fired them) and the words that most favoured the label (`a:` said by the agent or bot, `c:` by
the customer). A contact below the review confidence is flagged `needs_review`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from cx_worker.guard.inbound import neutralise, restore_turns
from cx_worker.models import Evidence, Interaction, Outcome
from cx_worker.outcomes.exemplars import document
from cx_worker.outcomes.fusion import TEMPERATURE, FusionModel, features, vote_shares
from cx_worker.outcomes.signals import as_evidence, detect
from cx_worker.outcomes.words import TextModel, terms


def vote(neighbours: Sequence[tuple[str, str, float]], *, temperature: float = TEMPERATURE) -> Outcome:
    """Similarity-weighted vote over (exemplar_id, label, similarity) neighbours.

    Confidence is the winning label's share of the total weight.
    """
    if not neighbours:
        return Outcome(label="unresolved", confidence=0.0, signals={"reason": "no exemplars to compare with"})
    shares = vote_shares(neighbours, temperature=temperature)
    label = max(shares, key=lambda lab: (shares[lab], lab))
    return Outcome(
        label=label,
        confidence=round(shares[label], 4),
        evidence=[Evidence(exemplar_id=i, label=lab, similarity=round(s, 4)) for i, lab, s in neighbours],
        signals={"vote": {lab: round(w, 4) for lab, w in shares.items()}},
    )


def neighbours(
    interactions: Sequence[Interaction], *, collection, k: int, embeddings: Sequence | None = None
) -> list[list[tuple[str, str, float]]]:
    """The k nearest exemplars of each interaction as (id, label, cosine similarity), never itself.

    Args:
        interactions: The contacts.
        collection: The exemplar collection.
        k: Neighbours per contact.
        embeddings: The contacts' document vectors if already computed (else the collection embeds them).
    """
    if not interactions:
        return []
    query = ({"query_embeddings": [np.asarray(e, dtype=np.float32) for e in embeddings]} if embeddings is not None
             else {"query_texts": [document(i) for i in interactions]})
    result = collection.query(**query, n_results=k + 1, include=["metadatas", "distances"])
    out = []
    for interaction, ids, metas, dists in zip(
        interactions, result["ids"], result["metadatas"], result["distances"], strict=True
    ):
        rows = [
            (eid, meta["label"], 1.0 - float(dist))
            for eid, meta, dist in zip(ids, metas, dists, strict=True)
            if eid != interaction.id
        ]
        out.append(rows[:k])
    return out


@dataclass
class ContactEvidence:
    """What a contact's outcome needs besides its neighbours, read from the contact alone: no exemplars, no store,
    so it is computed where the contact is drafted (a chunk worker), and the flow only queries and fuses.

    Attributes:
        fired: The signals that fired, in `signals.FEATURES` order (the fusion's flags).
        evidence: Those signals with their turns (turn indexes of the contact as given), and `injection_attempt`
            when customer text tried to instruct the AI.
        words: The outcome-words model's class probabilities; None without a word model.
        telling: Per label, the contact's words that most favour it (the one decided is shown); None without one.
    """

    fired: tuple[str, ...]
    evidence: dict
    words: dict[str, float] | None = None
    telling: dict[str, list[str]] | None = None


def read_contact(interaction: Interaction, *, words: TextModel | None = None, text: str | None = None
                 ) -> ContactEvidence:
    """Signals and outcome words of one contact (see `ContactEvidence`).

    Args:
        interaction: The contact.
        words: The fusion model's outcome-words model (`FusionModel.word_model`), or None.
        text: The contact's document (`exemplars.document`) if already computed.
    """
    clean = neutralise(interaction)  # instructions typed by the customer do not count as what happened
    fired = detect(clean.interaction)
    evidence = restore_turns(as_evidence(fired), clean.kept)
    if clean.turns:
        evidence["injection_attempt"] = clean.evidence()
    if words is None:
        return ContactEvidence(fired=tuple(fired), evidence=evidence)
    found = terms(text if text is not None else document(interaction))  # split once: probabilities, telling words
    return ContactEvidence(fired=tuple(fired), evidence=evidence, words=words.shares_of(found),
                           telling=words.telling_by_label(found))


def decide(
    interaction: Interaction,
    nearest: Sequence[tuple[str, str, float]],
    *,
    model: FusionModel | None = None,
    review_confidence: float = 0.0,
    text: str | None = None,
) -> Outcome:
    """The outcome of one contact from its neighbours and its signals (fused by `model`, or the plain vote).

    Args:
        interaction: The contact (its turns give the signals).
        nearest: Its (exemplar_id, label, similarity) neighbours.
        model: A fitted fusion model; None falls back to the similarity-weighted vote.
        review_confidence: Below this confidence the outcome is flagged `needs_review`.
        text: The contact's document (`exemplars.document`) if already computed.
    """
    words = model.word_model if model is not None else None
    return decide_from(read_contact(interaction, words=words, text=text), nearest, model=model,
                       review_confidence=review_confidence)


def decide_from(
    read: ContactEvidence,
    nearest: Sequence[tuple[str, str, float]],
    *,
    model: FusionModel | None = None,
    review_confidence: float = 0.0,
) -> Outcome:
    """`decide` for a contact already read (`read_contact`, with `model`'s word model): the vote and the fusion."""
    outcome = vote(nearest)
    evidence = {"vote": outcome.signals.get("vote", {}), **read.evidence}
    if model is not None and nearest:
        shares = outcome.signals["vote"]
        x = features(shares, max(s for _, _, s in nearest), read.fired, read.words)
        labels, confidence, proba = model.predict(x)
        outcome.label, outcome.confidence = labels[0], round(float(confidence[0]), 4)
        evidence["probabilities"] = {c: round(float(p), 4) for c, p in zip(model.classes, proba[0])}
        if read.words is not None:
            evidence["words"] = {"probabilities": {c: round(p, 4) for c, p in read.words.items()},
                                 "telling": (read.telling or {}).get(outcome.label, [])}
        evidence["model"] = f"fusion {model.fitted_at}"
    else:
        evidence["model"] = "vote"
    evidence["needs_review"] = bool(outcome.confidence < review_confidence)
    outcome.signals = evidence if nearest else outcome.signals | evidence
    return outcome


def classify(
    interactions: Sequence[Interaction],
    *,
    collection,
    k: int = 7,
    model: FusionModel | None = None,
    review_confidence: float = 0.0,
    embeddings: Sequence | None = None,
    documents: Sequence[str] | None = None,
    read: Sequence[ContactEvidence] | None = None,
) -> list[Outcome]:
    """Classify a batch of contacts against the exemplar collection (see `decide`); `documents`, `embeddings` and
    `read` are the contacts' documents, their vectors and their `read_contact` evidence, if already computed.
    Evidence read without outcome words while `model` has a word model is read again."""
    found = neighbours(interactions, collection=collection, k=k, embeddings=embeddings)
    words = model.word_model if model is not None else None
    if read is None or any((r.words is None) != (words is None) for r in read):
        texts = documents if documents is not None else [None] * len(interactions)
        read = [read_contact(i, words=words, text=t) for i, t in zip(interactions, texts, strict=True)]
    return [decide_from(r, n, model=model, review_confidence=review_confidence)
            for r, n in zip(read, found, strict=True)]
