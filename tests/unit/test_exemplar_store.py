"""`ensure_exemplars`: the seed exemplar store follows its file and the signal version (real exemplars)."""

import chromadb

from cx_worker.models import Exemplar
from cx_worker.outcomes import exemplars as store
from cx_worker.outcomes.exemplars import add_exemplars, ensure_exemplars, open_collection, read_exemplars, seed_key
from tests.support.paths import PROJECT_ROOT

SMALL = PROJECT_ROOT / "tests" / "fixtures" / "exemplars_small.jsonl"


def _file(path, rows):
    path.write_text("".join(row.model_dump_json(exclude_none=True) + "\n" for row in rows))
    return path


def test_the_seed_store_is_filled_refreshed_on_change_and_corrections_stay(tmp_path, monkeypatch):
    rows = list(read_exemplars(SMALL))[:12]
    seed = _file(tmp_path / "seed.jsonl", rows[:10])
    collection = open_collection(tmp_path, name="ensure_seed", client=chromadb.EphemeralClient())
    assert ensure_exemplars(collection, seed) == 10
    held = collection.get(include=["metadatas"])
    assert {m["seed"] for m in held["metadatas"]} == {seed_key(seed)}

    correction = Exemplar(interaction=rows[11].interaction, label="escalated", source="correction", reason="test")
    recorrected = Exemplar(interaction=rows[2].interaction, label="escalated", source="correction", reason="test")
    add_exemplars([correction, recorrected], collection=collection)
    upserts = []
    monkeypatch.setattr(store, "_upsert", lambda batch, col, key: upserts.append(len(batch)))
    assert ensure_exemplars(collection, seed) == 11 and upserts == []  # unchanged file: nothing re-embedded
    monkeypatch.undo()

    # The file is rebuilt: one exemplar relabelled, one dropped, one added.
    changed = [rows[0].model_copy(update={"label": "deflected"}), *rows[1:9], rows[10]]
    _file(seed, changed)
    assert ensure_exemplars(collection, seed) == 11  # 10 seed + the correction
    got = collection.get(include=["metadatas"])
    by_id = dict(zip(got["ids"], got["metadatas"]))
    assert rows[9].interaction.id not in by_id
    assert by_id[rows[0].interaction.id]["label"] == "deflected"
    assert by_id[rows[11].interaction.id]["source"] == "correction" and "seed" not in by_id[rows[11].interaction.id]
    assert by_id[rows[2].interaction.id]["source"] == "correction"  # a correction of a seed contact stays
