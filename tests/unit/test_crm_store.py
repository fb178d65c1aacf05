import json

from cx_worker.cli import main
from cx_worker.delivery.crm import Crm
from cx_worker.delivery.notes import note_key
from cx_worker.models import NotePayload
from cx_worker.settings import Settings
from cx_worker.store import Ledger, Store
from tests.support.fakes import WORK


def _payload(iid="c1", run="r1", summary="Customer asked for a refund of $40; refund issued.") -> NotePayload:
    return NotePayload.model_validate({
        "interaction_id": iid, "run_id": run, "channel": "chat", "queue": "billing", "customer_id": "u1",
        "model": "m", "prompt_hash": "p",
        "work": {"summary": summary, "customer_intent": "refund", "disposition": "refund_or_credit",
                 "action_items": [{"description": "check refund posted", "owner": "customer", "due": None}],
                 "crm_note": "Refund issued.", "sentiment_start": "negative", "sentiment_end": "positive",
                 "emotional_risk": {"flag": False, "reason": ""}, "handoff_context": ""},
        "outcome": {"label": "resolved", "confidence": 0.9, "evidence": [], "signals": {}},
    })


def test_rewriting_a_note_never_duplicates_it(store_targets):
    crm = Crm(Ledger(store_targets.ledger))
    assert crm.write(_payload(), hold=False) == "pending"
    assert crm.visible("c1") is None  # recorded, not yet delivered
    assert crm.deliver_pending() == {"delivered": 1}
    assert crm.write(_payload(run="r2"), hold=False) == "delivered"
    assert crm.deliver_pending() == {}
    notes = crm.notes("c1")
    assert len(notes) == 1 and notes[0].note_key == note_key("c1", prompt_hash="p", model="m")
    body = crm.visible("c1").body
    assert "refund of $40" in body and "Outcome: resolved" in body and "[customer] check refund posted" in body


def test_held_notes_are_invisible_until_released_and_release_is_audited(store_targets):
    crm = Crm(Ledger(store_targets.ledger))
    assert crm.write(_payload(), hold=True) == "held"
    assert crm.visible("c1") is None
    assert crm.release("r1", by="gov lead", reason="checked the breach") == 1
    assert crm.visible("c1") is not None
    assert crm.releases("r1")[0].released_by == "gov lead"
    assert crm.notes("c1")[0].sink == "sqlite"
    # a delivered note is not pulled back by a later held write of the same key
    assert crm.write(_payload(run="r2"), hold=True) == "delivered"


def test_store_upserts_and_watermark(store_targets):
    store = Store(store_targets.store)
    store.start_run("r1", config={})
    store.put_acw("c1", prompt_hash="p", model="m", run_id="r1", output=WORK, usage={"seconds": 1.0})
    store.put_acw("c1", prompt_hash="p", model="m", run_id="r1", output=WORK | {"summary": "Second."}, usage={})
    assert store.acw("c1", prompt_hash="p", model="m").output.summary == "Second."
    assert store.acw("c1", prompt_hash="other", model="m") is None
    assert store.watermark("f") == 0
    store.set_watermark("f", 120)
    store.set_watermark("f", 240)
    assert store.watermark("f") == 240
    store.quarantine(run_id="r1", interaction_id=None, origin="a.jsonl:2", stage="read", reason="bad")
    store.quarantine(run_id="r1", interaction_id=None, origin="a.jsonl:2", stage="read", reason="bad")
    assert len(store.quarantined(run_id="r1")) == 1


def test_crm_show_json_is_one_object_with_the_contract_fields_held_notes_included(tmp_path, capsys):
    data = tmp_path / "cx"
    crm = Crm(Ledger(Settings(data_dir=data).ledger_target))
    crm.write(_payload("held-1", summary="Customer asked for a refund of $40; refund issued."), hold=True)
    crm.write(_payload("sent-1", run="r2", summary="Customer changed the delivery address."), hold=False)
    crm.deliver_pending()
    crm.ledger.engine.dispose()

    def shown(iid: str) -> tuple[int, dict]:
        code = main(["crm", "show", iid, "--json", "--data-dir", str(data)])
        lines = capsys.readouterr().out.strip().splitlines()
        assert len(lines) == 1  # one JSON object, nothing else on stdout
        return code, json.loads(lines[0])

    code, held = shown("held-1")
    assert code == 1 and held["status"] == "held" and held["held"] is True
    assert held["interaction_id"] == "held-1" and held["summary"].startswith("Customer asked for a refund")
    assert held["outcome"]["label"] == "resolved" and "Refund issued." in held["note"]
    code, sent = shown("sent-1")
    assert code == 0 and sent["status"] == "delivered" and sent["held"] is False
    assert sent["note"] == crm.visible("sent-1").body
    assert main(["crm", "show", "nobody", "--json", "--data-dir", str(data)]) == 1
