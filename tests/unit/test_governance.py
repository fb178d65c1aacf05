"""Governance with teeth: an injected bad summary breaches, holds write-back, shows in the report, is released."""

import json
from xml.etree import ElementTree as ET

import pytest

from cx_worker.cli import main
from cx_worker.governance.evaluate import load_suite
from cx_worker.governance.judge import ClaimCheck, FaithfulnessJudgement
from cx_worker.governance.metrics import (
    CrmNoteTone,
    EvalItem,
    Faithfulness,
    RougeL,
    SummaryLength,
    rouge_l,
    tone_problems,
)
from tests.support.fakes import WORK, FakeLLM
from tests.support.night import run_night

BAD = "The agent refunded $480 and emailed the receipt to jane.doe@example.com; the customer was happy."


def _injected(transcript: str) -> str:
    return BAD if "abcd-cust" in transcript or "[EMAIL_1]" in transcript else WORK["summary"]


def test_injected_bad_summary_breaches_is_held_reported_and_released(env, capsys):
    good = run_night(env, FakeLLM(WORK), "r1", limit=2)
    assert good.report.verdict == "pass" and good.notes == {"delivered": 2}

    bad = run_night(env, FakeLLM(WORK, summary_for=lambda t: BAD), "r2")
    assert bad.report.verdict == "breach"
    failed = {r.metric for r in bad.report.results if r.measured and not r.success}
    assert {"groundedness", "pii_leak_rate"} <= failed
    held = env.crm.notes(status="held")
    assert bad.notes == {"held": 3} and len(held) == 3
    assert all(env.crm.visible(n.interaction_id) is None for n in held)

    report = json.loads(bad.paths["json"].read_text())
    assert report["regressions"]["previous_run"] == "r1"
    assert {m["metric"] for m in report["regressions"]["metrics"]} >= {"groundedness", "pii_leak_rate"}
    assert any("$480" in i["why"] for i in report["regressions"]["items"])
    page = bad.paths["html"].read_text()
    worst = page.split('id="worst"', 1)[1]
    assert "$480" in worst and "jane.doe@example.com" in worst and "groundedness" in worst
    assert "BREACH" in page and 'id="regressions"' in page and "pii_leak_rate (0.000 → 1.000)" in page
    junit = ET.fromstring(bad.paths["junit"].read_text())
    assert int(junit.get("failures")) >= 2
    assert {c.get("name") for c in junit.iter("testcase") if c.find("failure") is not None} >= failed

    settings = ["--data-dir", str(env.settings.data_dir)]
    assert main(["release", "r2", "--by", "Gov Lead", "--reason", "false positive checked", *settings]) == 0
    assert all(env.crm.visible(n.interaction_id) is not None for n in held)
    assert env.crm.releases("r2")[0].released_by == "Gov Lead"
    capsys.readouterr()
    assert main(["audit", held[0].interaction_id, "--json", *settings]) == 0
    trail = json.loads(capsys.readouterr().out)
    assert trail["after_call_work"][0]["prompt_hash"] and len(trail["input_hash"]) == 16
    assert any(v["metric"] == "groundedness" and v["this_contact"] == "fail" for v in trail["eval"])
    assert trail["crm_notes"][0]["status"] == "delivered" and trail["releases"][0]["reason"] == "false positive checked"


def test_release_of_an_unknown_run_could_not_run(env):
    assert main(["release", "nope", "--by", "x", "--reason", "y", "--data-dir", str(env.settings.data_dir)]) == 2


def test_suite_errors_are_loud(tmp_path):
    bad = tmp_path / "s.yaml"
    bad.write_text("metrics:\n  made_up_metric: {min: 1}\n")
    with pytest.raises(ValueError, match="unknown metric"):
        load_suite(bad)
    bad.write_text("metrics:\n  pii_leak_rate: {min: 0}\n")
    with pytest.raises(ValueError, match="needs a 'max' threshold"):
        load_suite(bad)


def test_the_report_names_the_suite_version(env):
    night = run_night(env, FakeLLM(WORK), "r1", limit=1)
    report = json.loads(night.paths["json"].read_text())
    assert len(report["thresholds_sha256"]) == 64 and report["thresholds_file"].endswith("suite_test.yaml")
    assert report["thresholds_sha256"][:16] in night.paths["html"].read_text()


def _item(summary="The customer asked about a refund and the agent issued it.", **kw):
    work = {"summary": summary, "crm_note": kw.pop("note", "Refund issued."), "customer_intent": "refund"}
    return EvalItem(interaction_id=kw.pop("iid", "c1"), transcript="customer: refund please", work=work, **kw)


def test_faithfulness_counts_judge_failures_apart_never_as_zero():
    verdicts = iter([FaithfulnessJudgement(claims=[ClaimCheck(claim="a", supported=True),
                                                   ClaimCheck(claim="refund of $480", supported=False)]),
                     RuntimeError("judge timed out")])

    def judge(**_):
        v = next(verdicts)
        if isinstance(v, Exception):
            raise v
        return v

    context = {"judge": judge}
    r = Faithfulness(0.8, context=context).measure([_item(), _item(iid="c2")])
    assert r.measured and r.score == 0.5 and not r.success and r.details["total"] == 1
    assert "refund of $480" in r.details["failures"][0]["why"]
    assert context["unmeasured"]["faithfulness"][0]["id"] == "c2"
    assert not Faithfulness(0.8, context={}).measure([_item()]).measured


def test_rouge_tone_and_length():
    assert rouge_l("the cat sat on the mat", "the cat sat on the mat") == 1.0
    assert 0 < rouge_l("customer asked to DM the team", "The customer was asked to DM") < 1
    r = RougeL(0.2).measure([_item(reference_summaries=("Customer asked for a refund; agent issued it.",))])
    assert r.measured and r.score > 0.4
    assert tone_problems("Customer was rude and STUPID, USELESS call!!") != []
    assert tone_problems("Refund of [AMOUNT] issued; customer satisfied.") == []
    for judging in ("The customer went on a rant about the delay.", "An entitled caller who kept nagging for a refund.",
                    "The customer was being melodramatic about the boots.",
                    "She threw a fit when told to wait."):
        assert any(p.startswith("judges the customer") for p in tone_problems(judging)), judging
    for neutral in ("The customer was frustrated and upset about the delay.",
                    "The customer said a supervisor was rude.",
                    "The customer was angry that the parcel was late; the agent apologised."):
        assert tone_problems(neutral) == [], neutral
    assert not CrmNoteTone(1.0).measure([_item(note="What an idiot.")]).success
    assert not SummaryLength(1.0, min_words=20).measure([_item()]).success


def test_outcome_rates_section_renders_in_the_report(env):
    from cx_worker.governance.verdict import judge_run
    from cx_worker.outcomes.report import outcome_report, outcome_table

    run_night(env, FakeLLM(WORK), "r1")
    section = outcome_report(env.store, "r1")
    _, paths = judge_run("r1", settings=env.settings, store=env.store, crm=env.crm, outcome_report=section)
    page = paths["html"].read_text()
    assert "True resolution" in page or "true resolution" in page.lower()
    assert any(row["group"] == "queue" for row in outcome_table(section))
    for row in outcome_table(section):
        if row["group"] == "channel":
            assert row["key"] in page
