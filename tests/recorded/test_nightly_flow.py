"""The nightly flow end to end under Prefect's test harness, on 5 real contacts, LLM traffic replayed."""

import json
import shutil

import pytest
from prefect.testing.utilities import prefect_test_harness

from cx_worker.delivery.crm import Crm
from cx_worker.redaction.redactor import find_pii
from cx_worker.store import Ledger, Store
from tests.support.paths import PROJECT_ROOT

pytestmark = pytest.mark.recorded
FIXTURES = PROJECT_ROOT / "tests" / "fixtures"


@pytest.fixture(scope="module")
def harness():
    with prefect_test_harness(server_startup_timeout=120):
        yield


def test_nightly_flow_on_five_contacts(harness, cassette, llm_base_url, tmp_path, monkeypatch):
    source = tmp_path / "in"
    source.mkdir()
    shutil.copy(FIXTURES / "night5.jsonl", source / "night.jsonl")
    monkeypatch.setenv("CX_LLM_BASE_URL", llm_base_url)
    monkeypatch.setenv("CX_SOURCE", str(source))
    monkeypatch.setenv("CX_DATA_DIR", str(tmp_path / "cx"))
    monkeypatch.setenv("CX_EXEMPLARS", str(FIXTURES / "exemplars_small.jsonl"))
    from flows.nightly import nightly

    summary = nightly(limit=None, all_contacts=True)

    assert summary["read"] == 5 and summary["new"] == 5 and summary["quarantined"] == 0
    assert sum(summary["outcomes"].values()) == 5
    assert summary["eval"]["verdict"] in ("pass", "breach")
    assert set(summary["eval"]) >= {"schema_valid_rate", "pii_leak_rate", "groundedness", "outcome_accuracy"}
    crm = Crm(Ledger(tmp_path / "cx" / "crm.sqlite"))
    notes = crm.notes()
    assert len(notes) == summary["written"] == 5
    assert len({n.interaction_id for n in notes}) == 5
    status = "held" if summary["eval"]["verdict"] == "breach" else "delivered"
    assert {n.status for n in notes} == {status}
    report = json.loads((tmp_path / "cx" / "reports" / summary["run_id"] / "report.json").read_text())
    assert report["verdict"] == summary["eval"]["verdict"] and len(report["thresholds_sha256"]) == 64
    html = (tmp_path / "cx" / "reports" / summary["run_id"] / "report.html").read_text()
    assert "<strong>" + report["verdict"].upper() in html
    assert '<table id="outcome-trust">' in html  # the fitted model's out-of-fold confusion reached the report
    store = Store(tmp_path / "cx" / "store.sqlite")
    for n in notes:  # nothing the LLM saw, nor any note, holds the contacts' personal data
        assert find_pii(n.payload.work.model_dump_json()) == []
        assert store.outcome(n.interaction_id).label == n.payload.outcome.label

    # The watermark: a second night reads nothing new and writes no second note.
    again = nightly(limit=None, all_contacts=True)
    assert again["read"] == 0 and again["written"] == 0
    assert len(Crm(Ledger(tmp_path / "cx" / "crm.sqlite")).notes()) == 5
