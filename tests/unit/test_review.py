"""The review queue end to end from the command line: list, approve, edit, relabel — audited and fed back."""

import json

from cx_worker.cli import main
from cx_worker.governance.review import review_queue
from cx_worker.outcomes.exemplars import open_collection
from tests.support.fakes import WORK, FakeLLM
from tests.support.night import run_night

RISKY = {**WORK, "emotional_risk": {"flag": True, "reason": "says they will cancel"}}


def test_review_flow_from_the_command_line(env, capsys):
    run_night(env, FakeLLM(RISKY), "r1", limit=3)
    opts = ["--data-dir", str(env.settings.data_dir), "--exemplars", str(env.settings.exemplars)]
    capsys.readouterr()
    assert main(["review", "--json", *opts]) == 0
    listed = json.loads(capsys.readouterr().out)
    audits = [i for i in listed if i["kind"] == "audit"]  # a night of 3: all drawn into the audit sample
    queue = [i for i in listed if i["kind"] == "low_confidence"]
    assert len(audits) == 3 and all(i["predicted_outcome"] and i["run_id"] == "r1" for i in audits)
    assert len(queue) == 3 and all(any("emotional risk" in r for r in i["reasons"]) for i in queue)
    first, second, third = (i["interaction_id"] for i in queue)

    assert main(["review", "approve", first, "--by", "Sam", "--reason", "spoke to the customer", *opts]) == 0
    assert main(["review", "edit", second, "--by", "Sam", "--summary", "Customer asked about X; agent fixed it.",
                 *opts]) == 0
    assert main(["review", "relabel", third, "escalated", "--by", "Ana", "--reason", "handed to a manager",
                 *opts]) == 0
    assert [i.interaction_id for i in review_queue(env.store) if i.kind == "low_confidence"] == []
    audit = env.store.review_decisions()
    assert [d.decision for d in audit] == ["approve", "edit", "relabel"]
    assert audit[1].detail["before"]["summary"] == WORK["summary"]
    assert env.store.outcome(third).label == "escalated" and env.store.corrections(third)[0].corrected_by == "Ana"

    edited = env.crm.visible(second)
    assert "Customer asked about X; agent fixed it." in edited.body and edited.revision == 1
    relabelled = env.crm.visible(third)
    assert "Outcome: escalated" in relabelled.body
    # the relabelled contact is now an exemplar (source: correction) in the store the next run classifies with
    stored = open_collection(env.settings.chroma_path).get(ids=[third], include=["metadatas"])
    assert stored["ids"] == [third] and stored["metadatas"][0]["label"] == "escalated"


def test_review_needs_an_id_and_a_reviewer(env):
    assert main(["review", "approve", "--data-dir", str(env.settings.data_dir)]) == 2


def test_review_item_shows_the_words_that_favoured_the_label(env):
    outcome = {
        "label": "deflected", "confidence": 0.41,
        "evidence": [{"exemplar_id": "e1", "label": "deflected", "similarity": 0.8}],
        "signals": {"words": {"probabilities": {"deflected": 0.7, "resolved": 0.3}, "telling": ["a:dm_us", "a:dm"]}},
    }
    env.store.put_outcome("c-1", run_id="r1", outcome=outcome)
    env.store.flag_for_review("c-1", run_id="r1", label="deflected", confidence=0.41,
                              reason="confidence 0.41 below 0.50")
    item = next(i for i in review_queue(env.store) if i.interaction_id == "c-1")
    assert item.outcome.telling_words == ["a:dm_us", "a:dm"]
    assert [e.model_dump() for e in item.outcome.evidence] == outcome["evidence"]
