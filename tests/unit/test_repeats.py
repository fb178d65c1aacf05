"""Repeat contacts across nightly runs, on real ABCD contacts of the sample night (same persona, 6 days apart)."""

import uuid
from datetime import timedelta

import chromadb
import pytest

from cx_worker.models import Interaction, Outcome
from cx_worker.outcomes import repeats
from cx_worker.outcomes.classifier import Classifier, embed_contacts
from cx_worker.outcomes.exemplars import add_exemplars, open_collection, read_exemplars
from cx_worker.outcomes.fusion import fit_from_collection
from cx_worker.outcomes.repeats import issue_text, link_repeats
from cx_worker.settings import Settings
from cx_worker.store import Store
from tests.support.paths import PROJECT_ROOT

SAMPLE = {row.id: row for row in map(Interaction.model_validate_json,
                                     (PROJECT_ROOT / "data" / "contacts" / "sample.jsonl").read_text().splitlines())}
# abcd-dev-315 "change the delivery to overnight" and abcd-dev-792 "The delivery time is wrong and I want it
# changed": the same persona (customer id), 5.6 days apart. abcd-dev-284 (subscription status) and 780 (free
# shipping abroad): another persona, different issues.
FIRST, REPEAT = SAMPLE["abcd-dev-315"], SAMPLE["abcd-dev-792"]
OTHER_FIRST, OTHER_LATER = SAMPLE["abcd-dev-284"], SAMPLE["abcd-dev-780"]


@pytest.fixture
def contacts(tmp_path):
    return open_collection(tmp_path, client=chromadb.EphemeralClient(), name=f"contacts_{uuid.uuid4().hex[:8]}")


def _night(store, contacts, run_id, interactions, labels, *, days=7, similarity=0.6):
    outcomes = [Outcome(label=label, confidence=0.9, signals={"vote": {label: 1.0}}) for label in labels]
    links = link_repeats(interactions, outcomes, contacts=contacts, store=store, run_id=run_id, days=days,
                         min_similarity=similarity)
    for interaction, outcome in zip(interactions, outcomes):
        store.put_outcome(interaction.id, run_id=run_id, outcome=outcome.model_dump())
    return links, outcomes


def test_issue_text_keeps_what_the_contact_is_about():
    text = issue_text(FIRST)
    assert "delivery to overnight" in text and "Rodriguez" not in text and "AUA7B82QAA" not in text


def test_a_repeat_next_night_unresolves_the_earlier_contact_and_links_both(tmp_path, contacts):
    store = Store(tmp_path / "store.sqlite")
    assert FIRST.customer_id == REPEAT.customer_id and REPEAT.started_at - FIRST.started_at < timedelta(days=7)
    links, _ = _night(store, contacts, "night-1", [FIRST, OTHER_FIRST], ["resolved", "resolved"])
    assert links == []
    links, tonight = _night(store, contacts, "night-2", [REPEAT, OTHER_LATER], ["deflected", "resolved"])
    assert [(link["earlier"], link["later"]) for link in links] == [(FIRST.id, REPEAT.id)]

    earlier = store.outcome(FIRST.id)
    assert earlier.label == "unresolved" and earlier.run_id == "night-1"
    assert earlier.signals["label_before_repeat"] == "resolved"
    assert [e["id"] for e in earlier.signals["repeated_by"]] == [REPEAT.id]
    assert 0.6 <= earlier.signals["repeated_by"][0]["similarity"] <= 1
    later = store.outcome(REPEAT.id)
    assert later.label == "deflected" and [e["id"] for e in later.signals["repeat_of"]] == [FIRST.id]
    # A different issue of another customer, 6 days apart too, is no repeat.
    assert store.outcome(OTHER_FIRST.id).label == "resolved" and "repeat_of" not in tonight[1].signals

    # Re-running night 2 (after a crash) links once, not twice.
    _night(store, contacts, "night-2", [REPEAT, OTHER_LATER], ["deflected", "resolved"])
    assert len(store.outcome(FIRST.id).signals["repeated_by"]) == 1
    assert store.outcome(FIRST.id).signals["label_before_repeat"] == "resolved"


def test_same_night_out_of_order_outside_the_window_or_another_customer(tmp_path, contacts):
    store = Store(tmp_path / "store.sqlite")
    links, outcomes = _night(store, contacts, "n", [REPEAT, FIRST], ["resolved", "resolved"])
    assert [(link["earlier"], link["later"]) for link in links] == [(FIRST.id, REPEAT.id)]
    assert outcomes[1].label == "unresolved" and outcomes[0].label == "resolved"

    fresh = open_collection(tmp_path, client=chromadb.EphemeralClient(), name=f"c_{uuid.uuid4().hex[:8]}")
    assert _night(store, fresh, "n", [FIRST, REPEAT], ["resolved", "resolved"], days=3)[0] == []
    stranger = REPEAT.model_copy(update={"id": "stranger", "customer_id": "someone-else"})
    fresh = open_collection(tmp_path, client=chromadb.EphemeralClient(), name=f"c_{uuid.uuid4().hex[:8]}")
    assert _night(store, fresh, "n", [FIRST, stranger], ["resolved", "resolved"])[0] == []


def test_a_human_correction_is_not_overridden_by_a_repeat(tmp_path, contacts):
    store = Store(tmp_path / "store.sqlite")
    _night(store, contacts, "night-1", [FIRST], ["resolved"])
    stored = store.outcome(FIRST.id)
    corrected = stored.model_copy(update={"signals": {"corrected": {"by": "lead"}}})
    store.put_outcome(FIRST.id, run_id="night-1", outcome=corrected)
    _night(store, contacts, "night-2", [REPEAT], ["resolved"])
    after = store.outcome(FIRST.id)
    assert after.label == "resolved" and after.signals["repeated_by"][0]["id"] == REPEAT.id


def test_the_outcome_stage_links_repeats_and_fills_the_review_list(tmp_path, contacts):
    store = Store(tmp_path / "store.sqlite")
    exemplars = open_collection(tmp_path, client=chromadb.EphemeralClient(), name=f"ex_{uuid.uuid4().hex[:8]}")
    few = tmp_path / "few.jsonl"
    few.write_text("\n".join((PROJECT_ROOT / "tests/fixtures/exemplars_small.jsonl").read_text().splitlines()[:20]))
    add_exemplars(read_exemplars(few), collection=exemplars)
    settings = Settings(data_dir=tmp_path, review_confidence=1.01)  # everything below: all flagged
    classifier = Classifier(collection=exemplars, model=None, contacts=contacts, k=3,
                            review_confidence=settings.review_confidence, repeat_days=settings.repeat_days,
                            repeat_similarity=settings.repeat_similarity)
    classifier.classify_and_store([FIRST], store=store, run_id="night-1")
    classifier.classify_and_store([REPEAT], store=store, run_id="night-2")
    assert store.outcome(FIRST.id).label == "unresolved"
    assert store.outcome(REPEAT.id).signals["repeat_of"][0]["id"] == FIRST.id
    review = store.review_list()
    assert {r.interaction_id for r in review} == {FIRST.id, REPEAT.id}
    assert all(r.status == "open" and "below" in r.reason for r in review)


def test_issue_texts_and_vectors_from_the_chunk_worker_link_as_the_collection_would(tmp_path, monkeypatch):
    night = [FIRST, OTHER_FIRST, REPEAT, OTHER_LATER]
    read = embed_contacts(night)  # what the chunk worker computes: both texts of each contact in one pass
    assert read.issue_texts == [issue_text(i) for i in night] and len(read.issue_vectors) == len(night)
    outcomes = lambda: [Outcome(label="resolved", confidence=0.9) for _ in night]  # noqa: E731
    plain = open_collection(tmp_path, client=chromadb.EphemeralClient(), name=f"p_{uuid.uuid4().hex[:8]}")
    expected = link_repeats(night, outcomes(), contacts=plain, store=Store(tmp_path / "a.sqlite"), run_id="n",
                            days=7, min_similarity=0.6)
    monkeypatch.setattr(repeats, "issue_text", lambda i: pytest.fail("issue text computed again"))
    given = open_collection(tmp_path, client=chromadb.EphemeralClient(), name=f"g_{uuid.uuid4().hex[:8]}")
    links = link_repeats(night, outcomes(), contacts=given, store=Store(tmp_path / "b.sqlite"), run_id="n", days=7,
                         min_similarity=0.6, embeddings=read.issue_vectors, texts=read.issue_texts)
    assert [(x["earlier"], x["later"]) for x in links] == [(x["earlier"], x["later"]) for x in expected] == [
        (FIRST.id, REPEAT.id)]
    assert links[0]["similarity"] == pytest.approx(expected[0]["similarity"], abs=1e-3)
    ids = [i.id for i in night]
    assert given.get(ids=ids)["documents"] == plain.get(ids=ids)["documents"]


def test_the_outcome_stage_stores_the_same_with_what_the_chunk_worker_read(tmp_path):
    few = tmp_path / "few.jsonl"
    few.write_text("\n".join((PROJECT_ROOT / "tests/fixtures/exemplars_small.jsonl").read_text().splitlines()[:30]))
    exemplars = open_collection(tmp_path, client=chromadb.EphemeralClient(), name=f"ex_{uuid.uuid4().hex[:8]}")
    add_exemplars(read_exemplars(few), collection=exemplars)
    model = fit_from_collection(exemplars, k=3)
    assert model is not None and model.word_model is not None
    night = [FIRST, OTHER_FIRST, REPEAT, OTHER_LATER, *list(SAMPLE.values())[:8]]
    stored = []
    for vectors in (None, embed_contacts(night, words=model.word_model)):
        store = Store(tmp_path / f"{uuid.uuid4().hex[:8]}.sqlite")
        contacts = open_collection(tmp_path, client=chromadb.EphemeralClient(), name=f"c_{uuid.uuid4().hex[:8]}")
        classifier = Classifier(collection=exemplars, model=model, contacts=contacts, k=3, review_confidence=0.6)
        counts = classifier.classify_and_store(night, store=store, run_id="n", vectors=vectors)
        stored.append((counts, [store.outcome(i.id) for i in night]))
    (counts, plain), (counts_read, read) = stored
    assert counts == counts_read and store.outcome(FIRST.id).label == "unresolved"
    for a, b in zip(plain, read, strict=True):
        assert (a.label, a.signals.keys(), [e.exemplar_id for e in a.evidence]) == (
            b.label, b.signals.keys(), [e.exemplar_id for e in b.evidence])
        assert a.confidence == pytest.approx(b.confidence, abs=2e-3)
