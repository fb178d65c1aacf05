"""The outcome classifier against a real Chroma server (`chroma run`, `CX_CHROMA_URL`): the same outcomes as with
the embedded Chroma files, vectors embedded on our side by our own MiniLM function (Chroma's default would download
its model and fails offline), nothing of Chroma's in the data dir, and the collections shared by every client of
the server."""

from __future__ import annotations

import numpy as np
import pytest

from cx_worker.models import Interaction
from cx_worker.outcomes import exemplars as exemplar_store
from cx_worker.outcomes.classifier import Classifier
from cx_worker.outcomes.embeddings import shared_embedding
from cx_worker.outcomes.exemplars import chroma_client, document, read_exemplars
from cx_worker.outcomes.repeats import COLLECTION as CONTACTS
from cx_worker.settings import Settings
from cx_worker.store import Store
from tests.support.paths import FIXTURES


@pytest.fixture
def night(tmp_path):
    exemplars = tmp_path / "exemplars.jsonl"
    exemplars.write_text("\n".join((FIXTURES / "exemplars_small.jsonl").read_text().splitlines()[::8]) + "\n")
    contacts = [Interaction.model_validate_json(line) for line in (FIXTURES / "night5.jsonl").read_text().splitlines()]
    return exemplars, contacts


def _classified(settings: Settings, contacts: list[Interaction]) -> dict:
    store = Store(settings.store_target)
    try:
        Classifier.open(settings).classify_and_store(contacts, store=store, run_id="r1")
        return {o.interaction_id: (o.label, round(o.confidence, 6), o.evidence) for o in store.run_outcomes("r1")}
    finally:
        store.close()


def test_a_night_classifies_against_a_chroma_server(tmp_path, night, chroma_server, monkeypatch):
    exemplars, contacts = night
    served = Settings(data_dir=tmp_path / "served", exemplars=exemplars, chroma_url=chroma_server.url)
    embedded = Settings(data_dir=tmp_path / "embedded", exemplars=exemplars)

    on_server = _classified(served, contacts)
    assert on_server == _classified(embedded, contacts)  # label, confidence and the neighbours behind them
    assert len(on_server) == len(contacts)
    assert not served.chroma_path.exists() and embedded.chroma_path.exists()

    # What the server holds: our vectors, computed on this side; tonight's contacts for the repeat links.
    client = chroma_client(served)
    collection = client.get_collection("cx_exemplars")
    assert collection.configuration_json["embedding_function"]["name"] == shared_embedding().name()
    first = next(read_exemplars(exemplars))
    stored = collection.get(ids=[first.interaction.id], include=["embeddings"])["embeddings"][0]
    assert np.allclose(stored, shared_embedding()([document(first.interaction)])[0], atol=1e-6)
    past = client.get_collection(CONTACTS).get(include=["metadatas"])
    assert len(past["ids"]) == len(contacts)  # each has a customer id and a start time
    assert {m["run_id"] for m in past["metadatas"]} == {"r1"}

    # Another client of the server (another process, another machine) finds the exemplars there: none embedded again.
    upserts = []
    monkeypatch.setattr(exemplar_store, "_upsert", lambda batch, col, key: upserts.append(len(batch)))
    assert Classifier.open(served).collection.count() == collection.count() and upserts == []


def test_the_chroma_url_must_be_http(tmp_path):
    with pytest.raises(ValueError, match="http://HOST:PORT"):
        chroma_client(Settings(data_dir=tmp_path, chroma_url="tcp://chroma:8000"))
