"""The nightly audit end to end: a random sample drawn and recorded with its design, people's verdicts recorded
(audited, fed back as exemplars), estimates from them in the next night's summary, and gates on that evidence."""

import json

import pytest

from cx_worker.cli import main
from cx_worker.governance.evaluate import load_suite
from cx_worker.governance.trust import trust_report
from cx_worker.outcomes.exemplars import open_collection
from tests.support.fakes import WORK, FakeLLM
from tests.support.night import run_night

SUITE = """name: evidence-test
metrics:
  schema_valid_rate: {min: 0.9}
  deflected_precision: {min: 0.80, on: lower, min_n: 3}
  summary_error_rate: {max: 0.5, on: upper, min_n: 3, gate: false}
"""


def _opts(env):
    return ["--data-dir", str(env.settings.data_dir), "--exemplars", str(env.settings.exemplars)]


def _second_night(env, prefix: str) -> None:
    """Tomorrow's file: the same real contacts again, under new ids."""
    rows = [json.loads(line) for line in (env.source / "night.jsonl").read_text().splitlines()]
    (env.source / "night2.jsonl").write_text("".join(json.dumps(r | {"id": prefix + r["id"]}) + "\n" for r in rows))


def _listed(env, capsys) -> list[dict]:
    capsys.readouterr()
    assert main(["review", "list", "--json", *_opts(env)]) == 0
    return json.loads(capsys.readouterr().out)


def test_a_night_draws_a_random_audit_sample_with_its_design(env):
    env.settings = env.settings.model_copy(update={"audit_sample": 3})
    run_night(env, FakeLLM(WORK), "r1")
    items = env.store.audit_items(run_id="r1")
    [design] = env.store.audit_nights()
    assert len(items) == 3 and design.sample_size == 3 and sum(design.stratum_sizes.values()) == 5
    for item in items:  # inclusion probability = audits of the stratum / contacts of the stratum
        drawn = sum(1 for i in items if i.stratum == item.stratum)
        assert item.inclusion_probability == pytest.approx(drawn / design.stratum_sizes[item.stratum])
        assert item.segment == env.store.contact(item.interaction_id).redacted.channel
    assert {i.interaction_id for i in items} == {i.interaction_id for i in env.store.audit_items(run_id="r1")}


def test_no_audit_when_the_sample_size_is_zero(env, capsys):
    env.settings = env.settings.model_copy(update={"audit_sample": 0})
    night = run_night(env, FakeLLM(WORK), "r1")
    assert env.store.audit_items() == [] and night.trust.audits == 0
    assert all(i["kind"] == "low_confidence" for i in _listed(env, capsys))


def test_a_verdict_is_recorded_audited_and_fed_back(env, capsys):
    env.settings = env.settings.model_copy(update={"audit_sample": 5})
    run_night(env, FakeLLM(WORK), "r1")
    listed = [i for i in _listed(env, capsys) if i["kind"] == "audit"]
    assert len(listed) == 5 and {"interaction_id", "kind", "predicted_outcome", "run_id"} <= set(listed[0])
    target = listed[0]
    other = next(o for o in ("resolved", "escalated") if o != target["predicted_outcome"])
    code = main(["review", "verdict", target["interaction_id"], "--outcome", other, "--summary", "error",
                 "--errors", "invented,misattributed", "--disposition", "billing_inquiry", "--by", "Dana",
                 "--reason", "refund never happened", *_opts(env)])
    assert code == 0
    [item] = [i for i in env.store.audit_items() if i.interaction_id == target["interaction_id"]]
    assert item.verdict.true_outcome == other and item.verdict.errors == ["invented", "misattributed"]
    assert item.verdict.decided_by == "Dana" and item.stratum == target["predicted_outcome"]  # the draw is kept
    decision = env.store.review_decisions(target["interaction_id"])[-1]
    assert decision.decision == "verdict" and decision.detail["true_outcome"] == other
    assert env.store.outcome(target["interaction_id"]).label == other  # the outcome corrected...
    exemplar = open_collection(env.settings.chroma_path).get(ids=[target["interaction_id"]], include=["metadatas"])
    assert exemplar["metadatas"][0]["label"] == other and exemplar["metadatas"][0]["source"] == "correction"
    note = env.crm.notes(target["interaction_id"])[-1]
    assert note.payload.outcome.label == other and note.revision == 1  # ...and the agent's note with it
    assert target["interaction_id"] not in {i["interaction_id"] for i in _listed(env, capsys) if i["kind"] == "audit"}


@pytest.mark.parametrize("args, why", [
    (["--outcome", "resolved", "--summary", "error"], "say which errors"),
    (["--outcome", "resolved", "--summary", "ok", "--errors", "invented"], "has no errors"),
    (["--outcome", "resolved", "--summary", "error", "--errors", "typo"], "unknown summary error"),
])
def test_a_verdict_that_does_not_add_up_is_refused(env, capsys, args, why):
    run_night(env, FakeLLM(WORK), "r1")
    iid = env.store.audit_items()[0].interaction_id
    capsys.readouterr()
    assert main(["review", "verdict", iid, *args, "--by", "Dana", *_opts(env)]) == 2
    assert why in capsys.readouterr().err and env.store.audit_items()[0].verdict is None


def test_only_random_audits_take_verdicts(env, capsys):
    env.settings = env.settings.model_copy(update={"audit_sample": 0})
    run_night(env, FakeLLM(WORK), "r1")
    iid = env.store.run_contact_ids("r1")[0]
    assert main(["review", "verdict", iid, "--outcome", "resolved", "--summary", "ok", "--by", "D", *_opts(env)]) == 2
    assert "not in an audit sample" in capsys.readouterr().err


def test_estimates_come_from_the_verdicts_recorded_before_the_night(env, capsys):
    env.settings = env.settings.model_copy(update={"audit_sample": 5, "audit_min_n": 3})
    first = run_night(env, FakeLLM(WORK), "r1")
    assert first.trust.audits == 0 and all(e["corrected"] is None for e in first.trust.estimates_json().values())
    for item in env.store.audit_items(run_id="r1"):  # a reviewer answers every audit: deflected was resolved
        true = "resolved" if item.stratum == "deflected" else item.stratum
        assert main(["review", "verdict", item.interaction_id, "--outcome", true, "--summary", "ok", "--by", "D",
                     *_opts(env)]) == 0
    report = trust_report(env.store, "r1", window_days=30, min_n=3)
    estimates = report.estimates_json()
    assert set(estimates) == {"resolution_rate", "deflection_rate", "escalation_rate", "abandonment_rate"}
    assert all(set(e) >= {"raw", "corrected", "low", "high", "n_audits"} for e in estimates.values())
    deflection = estimates["deflection_rate"]
    assert report.audits == 5 and 0 < deflection["n_audits"] <= 5 and deflection["corrected"] is not None
    assert deflection["low"] <= deflection["corrected"] <= deflection["high"]
    if deflection["raw"] > 0:  # every audited "deflected" was truly resolved: the corrected rate is lower
        assert deflection["corrected"] < deflection["raw"]
    strict = trust_report(env.store, "r1", window_days=30, min_n=30)
    assert strict.estimates_json()["deflection_rate"]["corrected"] is None  # fewer audits than the minimum
    precision = strict.labels["resolved"]["precision"]
    assert precision.text() == f"not enough audits ({precision.n} of 30)" and precision.value is None


def test_evidence_gates_pass_breach_or_lack_evidence(env, tmp_path, capsys):
    suite = tmp_path / "suite.yaml"
    suite.write_text(SUITE)
    assert [m.on for m in load_suite(suite).metrics] == ["value", "lower", "upper"]
    env.settings = env.settings.model_copy(update={"audit_sample": 5, "audit_min_n": 3, "thresholds": suite})
    first = run_night(env, FakeLLM(WORK), "r1")
    assert first.report.verdict == "insufficient"  # no verdicts yet: the precision gate cannot decide
    gate = next(r for r in first.report.results if r.metric == "deflected_precision")
    assert not gate.measured and "not enough audits (0 of 3)" in gate.reason
    assert first.notes.get("held", 0) == 0  # insufficient evidence does not hold write-back by default
    assert main(["eval", "--run", "r1", "--no-judge", "--thresholds", str(suite), *_opts(env)]) == 3
    for item in env.store.audit_items(run_id="r1"):  # every audited contact was in truth escalated
        main(["review", "verdict", item.interaction_id, "--outcome", "escalated", "--summary", "error", "--errors",
              "invented", "--by", "D", *_opts(env)])
    _second_night(env, "again-")
    second = run_night(env, FakeLLM(WORK), "r2")
    assert second.pulled.new == 5
    results = {r.metric: r for r in second.report.results}
    if second.trust.labels["deflected"]["precision"].n >= 3:  # enough audited "deflected" to judge precision
        assert results["deflected_precision"].measured and not results["deflected_precision"].success
        assert second.report.verdict == "breach"
    assert results["summary_error_rate"].measured and not results["summary_error_rate"].success  # every one wrong
    assert "upper bound" in results["summary_error_rate"].reason


def test_judges_calls_on_audited_contacts_are_kept(env):
    env.settings = env.settings.model_copy(update={"audit_sample": 5})
    bad = "Refunded $950 to the customer, reference 99887766."  # an amount and an id no transcript holds
    run_night(env, FakeLLM(WORK, summary_for=lambda t: bad), "r1")
    items = env.store.audit_items(run_id="r1")
    assert items and all(i.judges.get("groundedness") is True for i in items)
    assert all("crm_note_tone" in i.judges and i.judges["crm_note_tone"] is False for i in items)


def test_the_report_says_how_far_to_trust_tonight(env, capsys):
    env.settings = env.settings.model_copy(update={"audit_sample": 5, "audit_min_n": 3})
    run_night(env, FakeLLM(WORK), "r1")
    for item in env.store.audit_items(run_id="r1"):
        main(["review", "verdict", item.interaction_id, "--outcome", "resolved", "--summary", "ok", "--by", "D",
              *_opts(env)])
    _second_night(env, "n2-")
    night = run_night(env, FakeLLM(WORK), "r2")
    html = night.paths["html"].read_text()
    section = html.split('id="trust-tonight"', 1)[1]
    assert "How far to trust tonight" in html and "5 audited contacts judged" in section
    assert 'id="trust-chart"' in section and "<polygon" in section  # tonight's corrected rate has a band
    assert section.count("<tr>") >= 5 and "Cohen" in section
    data = json.loads(night.paths["json"].read_text())
    assert data["trust_tonight"]["audits"] == 5 and len(data["trust_tonight"]["history"]) == 1
