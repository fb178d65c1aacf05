"""The outcome report: rates per queue, channel and intent, bot drop-off points, the table and the HTML partial."""

import json

from cx_worker.governance.report import _env
from cx_worker.models import Interaction
from cx_worker.outcomes.report import NO_INTENT, outcome_report, outcome_table, trust
from cx_worker.outcomes.signals import as_evidence, detect
from cx_worker.store import Store
from tests.support.fakes import WORK
from tests.support.paths import PROJECT_ROOT

FIXTURES = PROJECT_ROOT / "tests" / "fixtures"
REAL = [Interaction.model_validate_json(line) for line in (FIXTURES / "night5.jsonl").read_text().splitlines()]

# Synthetic bot flows (no public data here has bot turns): two customers leave after the bot asks for the order
# number, one asks for a person after the same question, one is served by the bot.
_ASK = "Please type your order number (e.g. 123456)."


def _bot(iid: str, *turns: tuple[str, str]) -> Interaction:
    return Interaction(id=iid, channel="chat", queue="orders", customer_id=iid,
                       turns=[{"speaker": s, "text": t} for s, t in turns])


BOT = [
    _bot("bot-1", ("bot", "Hi! What can I help with?"), ("customer", "where is my parcel"), ("bot", _ASK)),
    _bot("bot-2", ("bot", "Hi! What can I help with?"), ("customer", "my parcel is late"), ("bot", _ASK)),
    _bot("bot-3", ("bot", "Hi! What can I help with?"), ("customer", "parcel missing"), ("bot", _ASK),
         ("customer", "I want to speak to a real person"), ("agent", "Hi, I'm Sam, let me look.")),
    _bot("bot-4", ("bot", "Hi! What can I help with?"), ("customer", "change my address"),
         ("bot", "I have updated your address. Anything else?"), ("customer", "no thanks")),
]


def _store(tmp_path) -> Store:
    store = Store(tmp_path / "store.sqlite")
    labels = {"bot-1": "abandoned", "bot-2": "abandoned", "bot-3": "escalated", "bot-4": "resolved"}
    real_labels = ["deflected", "resolved", "resolved", "deflected", "escalated"]
    for interaction, label in [*zip(REAL, real_labels), *((b, labels[b.id]) for b in BOT)]:
        store.put_contact(interaction.id, run_id="r1", input_hash="h", redacted=interaction,
                          pii_counts={}, status="done")
        signals = {**as_evidence(detect(interaction)), "needs_review": interaction.id == REAL[0].id}
        if interaction.id == REAL[1].id:
            signals["repeated_by"] = [{"id": "later", "similarity": 0.8, "days_apart": 2.0}]
        store.put_outcome(interaction.id, run_id="r1",
                          outcome={"label": label, "confidence": 0.8, "evidence": [], "signals": signals})
    for interaction in REAL[:3]:
        store.put_acw(interaction.id, prompt_hash="p", model="m", run_id="r1", usage={},
                      output=WORK | {"disposition": "order_status", "customer_intent": "where is my order"})
    return store


def test_rates_per_queue_channel_and_intent(tmp_path):
    report = outcome_report(_store(tmp_path), "r1")
    assert report["contacts"] == 9 and report["intent_source"] == "after-call work disposition"
    overall = report["overall"]
    assert overall["resolved"] == 3 and overall["true_resolution_rate"] == 3 / 9
    assert overall["deflection_rate"] == 2 / 9 and overall["escalation_rate"] == 2 / 9
    assert overall["repeat_contact_rate"] == 1 / 9 and overall["needs_review"] == 1
    intents = {row["key"]: row for row in report["groups"]["intent"]}
    assert set(intents) == {"order_status", NO_INTENT} and intents["order_status"]["contacts"] == 3
    channels = {row["key"]: row["contacts"] for row in report["groups"]["channel"]}
    assert channels["chat"] == 4 + sum(i.channel == "chat" for i in REAL)
    orders = next(row for row in report["groups"]["queue"] if row["key"] == "orders")
    assert orders["abandonment_rate"] == 0.5 and orders["human_requested_rate"] == 0.25


def test_bot_drop_off_points(tmp_path):
    drops = outcome_report(_store(tmp_path), "r1")["drop_offs"]
    top = drops[0]
    assert top["bot_turn"] == "please type your order number (e.g. #)."
    assert top["reached"] == 3 and top["abandoned"] == 2 and top["asked_for_human"] == 1
    assert top["drop_off_rate"] == 1.0 and top["intents"] == {NO_INTENT: 3}
    assert all("updated your address" not in d["bot_turn"] for d in drops)


def test_table_artifact_rows_and_the_html_partial(tmp_path):
    report = outcome_report(_store(tmp_path), "r1")
    rows = outcome_table(report)
    assert rows[0]["group"] == "overall" and {r["group"] for r in rows} == {"overall", "queue", "channel", "intent"}
    assert json.loads(json.dumps(rows)) == rows and all(isinstance(r["contacts"], int) for r in rows)
    html = _env.get_template("_outcomes.html.j2").render(outcome_report=report)
    assert 'id="outcome-report"' in html and "true resolution" in html and "order_status" in html
    assert 'id="drop-offs"' in html and "please type your order number" in html and "33%" in html
    assert "<script" not in html and "http" not in html  # plain tables, no external assets
    empty = outcome_report(Store(tmp_path / "empty.sqlite"), "none")
    assert 'id="no-drop-offs"' in _env.get_template("_outcomes.html.j2").render(outcome_report=empty)


# A classifier that calls a fifth of resolved contacts deflected and finds every deflection (as the CV shows).
_CONFUSION = {"labels": ["resolved", "deflected", "escalated", "abandoned", "unresolved"],
              "rows_true_cols_predicted": [[80, 20, 0, 0, 0], [0, 50, 0, 0, 0], [0, 5, 45, 0, 0], [0, 0, 0, 10, 0],
                                           [0, 10, 0, 0, 40]]}


def test_trust_per_label():
    t = trust(_CONFUSION)
    by = {r["label"]: r for r in t["per_label"]}
    assert by["resolved"]["precision"] == 1.0 and by["resolved"]["recall"] == 0.8 and by["resolved"]["bias"] == 0.8
    assert by["deflected"]["precision"] == 50 / 85 and by["deflected"]["bias"] == 85 / 50 and t["exemplars"] == 260
    assert trust({"labels": ["resolved", "deflected"], "rows_true_cols_predicted": [[3, 0], [0, 0]]})[
        "per_label"][1] == {"label": "deflected", "exemplars": 0, "precision": None, "recall": None, "bias": None}


def test_the_report_says_how_far_to_trust_its_rates(tmp_path):
    report = outcome_report(_store(tmp_path), "r1", confusion=_CONFUSION)
    html = _env.get_template("_outcomes.html.j2").render(outcome_report=report)
    assert 'id="outcome-trust"' in html
    assert "<td>resolved</td><td>100</td><td>100%</td><td>80%</td><td>0.80</td>" in html
    plain = _env.get_template("_outcomes.html.j2").render(outcome_report=outcome_report(_store(tmp_path / "b"), "r1"))
    assert "is not known for this run" in plain
    older = {k: v for k, v in report.items() if k != "trust"}  # a section stored before `trust` existed
    assert "is not known for this run" in _env.get_template("_outcomes.html.j2").render(outcome_report=older)
