"""`cx-worker label ID LABEL`: an audited correction that the next run's classifier uses."""

import json

from cx_worker.cli import main
from cx_worker.models import Interaction
from cx_worker.outcomes.classify import classify
from cx_worker.outcomes.exemplars import open_collection
from cx_worker.outcomes.fusion import MODEL_FILE, load_model
from cx_worker.store import Store
from tests.support.paths import PROJECT_ROOT

FIXTURES = PROJECT_ROOT / "tests" / "fixtures"


def test_label_stores_an_audited_correction_and_the_next_run_uses_it(tmp_path, capsys):
    data = tmp_path / "cx"
    few = tmp_path / "few.jsonl"
    few.write_text("\n".join((FIXTURES / "exemplars_small.jsonl").read_text().splitlines()[:24]) + "\n")
    common = ["--data-dir", str(data), "--exemplars", str(few)]
    assert main(["exemplars", "build", *common]) == 0
    model_before = load_model(data / "models" / MODEL_FILE)
    assert model_before is not None

    # A contact a run has read (real: the first contact of the sample night), stored as resolved, under review.
    contact = Interaction.model_validate_json((FIXTURES / "night5.jsonl").read_text().splitlines()[0])
    store = Store(data / "store.sqlite")
    store.put_contact(contact.id, run_id="night-1", input_hash="h", redacted=contact,
                      pii_counts={}, status="done")
    store.put_outcome(contact.id, run_id="night-1", outcome={"label": "resolved", "confidence": 0.41,
                                                             "evidence": [], "signals": {"needs_review": True}})
    store.flag_for_review(contact.id, run_id="night-1", label="resolved", confidence=0.41, reason="low")

    code = main(["label", contact.id, "escalated", "--by", "gov-lead", "--reason", "manager was notified", *common])
    assert code == 0 and "resolved -> escalated by gov-lead" in capsys.readouterr().out

    audit = store.corrections(contact.id)
    assert len(audit) == 1 and audit[0].old_label == "resolved" and audit[0].new_label == "escalated"
    assert audit[0].corrected_by == "gov-lead" and audit[0].reason == "manager was notified"
    assert audit[0].created_at
    stored = store.outcome(contact.id)
    assert stored.label == "escalated" and stored.run_id == "night-1"
    assert stored.signals["corrected"]["from"] == "resolved" and stored.signals["needs_review"] is False
    assert store.review_list() == [] and store.review_list(status="closed")[0].closed_by == "gov-lead"

    collection = open_collection(data / "chroma")
    got = collection.get(ids=[contact.id], include=["metadatas"])
    assert got["metadatas"][0]["label"] == "escalated" and got["metadatas"][0]["source"] == "correction"
    model_after = load_model(data / "models" / MODEL_FILE)
    assert sum(model_after.trained_on.values()) == sum(model_before.trained_on.values()) + 1

    # The next run: the same conversation coming in again under another id finds the correction first.
    again = contact.model_copy(update={"id": "next-night-copy"})
    outcome, = classify([again], collection=collection, k=3, model=model_after)
    assert outcome.evidence[0].exemplar_id == contact.id and outcome.evidence[0].label == "escalated"
    assert outcome.evidence[0].similarity > 0.99


def test_label_refuses_unknown_contacts(tmp_path, capsys):
    code = main(["label", "nobody", "resolved", "--data-dir", str(tmp_path / "cx")])
    assert code == 2 and "no contact 'nobody' in the store" in capsys.readouterr().err
    assert json.loads(json.dumps(Store(tmp_path / "cx" / "store.sqlite").corrections())) == []
