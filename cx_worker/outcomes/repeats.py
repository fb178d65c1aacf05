"""Repeat contacts: the same customer back within N days about the same issue means it was not resolved.

Every classified contact goes into a second Chroma collection (`cx_contacts`, beside the exemplars) as its
*issue text* — the customer's opening turns, redacted — with its customer id, start time, channel and run as
metadata. A contact is a repeat of an earlier one when the customer id matches, it started within
`repeat_days` of it (either way: contacts can arrive out of order), and the issue texts are similar
(cosine >= `repeat_similarity`). The collection persists, so a contact tonight finds last week's.

When a pair is found, the EARLIER contact's outcome becomes `unresolved` (its previous label is kept as
`label_before_repeat`; a human correction is never overridden) with a `repeated_by` signal, and the later one
gets `repeat_of`; both are written back through the store. Threshold (`repeat_similarity`, 0.6): over the
ABCD exemplar chats, 61% of pairs with the same subflow (e.g. two "change my delivery" chats) reach 0.6, and
76% of pairs that reach it share the flow, with only 1 pair in 9 sharing it to begin with; a same-customer pair
within a week is far likelier to be about the same issue than that.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime

from cx_worker.models import Interaction, Outcome, render_text
from cx_worker.outcomes.exemplars import open_collection
from cx_worker.redaction.redactor import redact_interaction

COLLECTION = "cx_contacts"
_ISSUE_TURNS = 3
_ISSUE_CHARS = 600
_DAY = 86400.0
_MIN_WORDS = 4
# Redaction placeholders ([NAME_1]), @handles, URLs and anything with a digit (order ids, amounts, dates).
_IDS = re.compile(r"\[[A-Z_]+\d*\]|@\w+|https?://\S+|\S*\d\S*")


def issue_text(interaction: Interaction) -> str:
    """What the contact is about: the customer's first sentences (redacted), or the opening if the customer is silent.

    Placeholders, handles and ids are dropped, and so are turns that are only a name or a number ("Norman
    Bouchard", "AUA7B82QAA"): they say who the customer is, not what about.
    """
    redacted, _ = redact_interaction(interaction)
    said = [_IDS.sub(" ", render_text(t.text)) for t in redacted.turns if t.speaker == "customer"]
    said = [" ".join(s.split()) for s in said if len(s.split()) >= _MIN_WORDS][:_ISSUE_TURNS]
    text = " ".join(said) or " ".join(_IDS.sub(" ", render_text(t.text)) for t in redacted.turns[:2])
    return " ".join(text.split())[:_ISSUE_CHARS]


def open_contacts(path, *, client=None):
    """The past-contacts collection, in the same Chroma store as the exemplars."""
    return open_collection(path, name=COLLECTION, client=client)


def link_repeats(
    interactions: Sequence[Interaction],
    outcomes: Sequence[Outcome],
    *,
    contacts,
    store,
    run_id: str,
    days: float,
    min_similarity: float,
    embeddings: Sequence | None = None,
    texts: Sequence[str] | None = None,
) -> list[dict]:
    """Add the batch to the past-contacts collection and link repeats, in the batch and with earlier nights.

    Outcomes of the batch are changed in place; earlier contacts' stored outcomes are rewritten through
    `store.put_outcome` (keeping their run). Contacts without a customer id or a start time cannot be linked.

    Args:
        interactions: Tonight's contacts.
        outcomes: Their outcomes, same order.
        contacts: The past-contacts collection.
        store: The store holding earlier outcomes.
        run_id: Tonight's run.
        days: Window, either side of a contact's start.
        min_similarity: Cosine similarity of issue texts from which two contacts are about the same issue.
        embeddings: The contacts' issue-text vectors, same order, if already computed (else the collection embeds).
        texts: The contacts' issue texts (`issue_text`), same order, if already computed.

    Returns:
        The links found: {"earlier", "later", "similarity", "days_apart"}.
    """
    given = dict(zip((i.id for i in interactions), embeddings, strict=True)) if embeddings is not None else None
    text_of = dict(zip((i.id for i in interactions), texts, strict=True)) if texts is not None else {}
    batch = {i.id: (i, o) for i, o in zip(interactions, outcomes, strict=True)
             if i.customer_id and i.started_at is not None}
    if not batch:
        return []
    ids = list(batch)
    contacts.upsert(
        ids=ids, documents=[text_of[i] if i in text_of else issue_text(batch[i][0]) for i in ids],
        **({"embeddings": [given[i] for i in ids]} if given is not None else {}),
        metadatas=[{"customer_id": batch[i][0].customer_id, "started_at": _epoch(batch[i][0].started_at),
                    "channel": batch[i][0].channel, "queue": batch[i][0].queue or "", "run_id": run_id}
                   for i in ids],
    )
    if given is not None:
        vector_of = given
    else:  # what the collection embedded
        vectors = contacts.get(ids=ids, include=["embeddings"])
        vector_of = dict(zip(vectors["ids"], vectors["embeddings"]))
    pairs: dict[tuple[str, str], dict] = {}
    for iid in ids:
        interaction = batch[iid][0]
        start = _epoch(interaction.started_at)
        where = {"$and": [{"customer_id": interaction.customer_id}, {"started_at": {"$gte": start - days * _DAY}},
                          {"started_at": {"$lte": start + days * _DAY}}]}
        found = contacts.query(query_embeddings=[vector_of[iid]], where=where, n_results=10,
                               include=["metadatas", "distances"])
        for other, meta, dist in zip(found["ids"][0], found["metadatas"][0], found["distances"][0]):
            similarity = 1.0 - float(dist)
            if other == iid or similarity < min_similarity:
                continue
            earlier, later = (other, iid) if (meta["started_at"], other) < (start, iid) else (iid, other)
            pairs[(earlier, later)] = {"earlier": earlier, "later": later, "similarity": round(similarity, 4),
                                       "days_apart": round(abs(start - meta["started_at"]) / _DAY, 2)}
    links = sorted(pairs.values(), key=lambda p: (p["earlier"], p["later"]))
    for link in links:
        _mark(link["earlier"], "repeated_by", link["later"], link, batch=batch, store=store, unresolve=True)
        _mark(link["later"], "repeat_of", link["earlier"], link, batch=batch, store=store, unresolve=False)
    return links


def _mark(iid: str, key: str, other: str, link: dict, *, batch: dict, store, unresolve: bool) -> None:
    entry = {"id": other, "similarity": link["similarity"], "days_apart": link["days_apart"]}
    if iid in batch:
        outcome: Outcome = batch[iid][1]
        signals = outcome.signals
        _add_link(signals, key, entry)
        if unresolve and "corrected" not in signals:
            signals.setdefault("label_before_repeat", outcome.label)
            outcome.label = "unresolved"
        return
    stored = store.outcome(iid)
    if stored is None:  # in the collection but its outcome is gone from this store: nothing to update
        return
    signals = dict(stored.signals)
    _add_link(signals, key, entry)
    label = stored.label
    if unresolve and "corrected" not in signals:
        signals.setdefault("label_before_repeat", label)
        label = "unresolved"
    store.put_outcome(iid, run_id=stored.run_id, outcome=Outcome(
        label=label, confidence=stored.confidence, evidence=stored.evidence, signals=signals))


def _add_link(signals: dict, key: str, entry: dict) -> None:
    links = [e for e in signals.get(key, []) if e["id"] != entry["id"]]
    signals[key] = sorted([*links, entry], key=lambda e: e["id"])


def _epoch(moment: datetime) -> float:
    return moment.timestamp()
