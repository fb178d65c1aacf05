"""The outcome classifier: how did a contact really end — resolved, deflected, escalated, abandoned?

A similarity-weighted k-nearest-neighbour vote over labelled exemplar contacts in the vector store. It needs no
LLM: the label never depends on how good the summarising model is. The evidence (which exemplars, how similar)
travels with the label so a reviewer can see why.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence

from cx_worker.exemplars import document
from cx_worker.models import Evidence, Interaction, Outcome

# Sharpness of the vote: weight = exp(similarity / temperature). Lower trusts the nearest neighbours more.
TEMPERATURE = 0.05


def vote(neighbours: Sequence[tuple[str, str, float]], *, temperature: float = TEMPERATURE) -> Outcome:
    """Similarity-weighted vote over (exemplar_id, label, similarity) neighbours.

    Confidence is the winning label's share of the total weight.
    """
    if not neighbours:
        return Outcome(label="unresolved", confidence=0.0, signals={"reason": "no exemplars to compare with"})
    top = max(sim for _, _, sim in neighbours)
    weights: dict[str, float] = defaultdict(float)
    for _, label, sim in neighbours:
        weights[label] += math.exp((sim - top) / temperature)
    total = sum(weights.values())
    label = max(weights, key=lambda lab: (weights[lab], lab))
    return Outcome(
        label=label,
        confidence=round(weights[label] / total, 4),
        evidence=[Evidence(exemplar_id=i, label=lab, similarity=round(s, 4)) for i, lab, s in neighbours],
        signals={"vote": {lab: round(w / total, 4) for lab, w in sorted(weights.items())}},
    )


def neighbours(
    interactions: Sequence[Interaction], *, collection, k: int
) -> list[list[tuple[str, str, float]]]:
    """The k nearest exemplars of each interaction as (id, label, cosine similarity), never itself."""
    if not interactions:
        return []
    result = collection.query(
        query_texts=[document(i) for i in interactions], n_results=k + 1, include=["metadatas", "distances"]
    )
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


def classify(interactions: Sequence[Interaction], *, collection, k: int = 7) -> list[Outcome]:
    """Classify a batch of contacts against the exemplar collection."""
    return [vote(n) for n in neighbours(interactions, collection=collection, k=k)]
