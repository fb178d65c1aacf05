"""The attribution check: swaps of who did or said what are flagged, faithful paraphrases are not.

The short dialogs here are synthetic (written for these tests); the dev set (`data/attribution_dev.jsonl`) is real
dialogs from TweetSumm and ABCD with hand-written summaries, see `data/README.md`.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cx_worker.governance.attribution import Attribution, check_attribution, transcript_turns
from cx_worker.governance.metrics import EvalItem
from cx_worker.models import Turn

C, A = "customer", "agent"
DEV_SET = Path(__file__).parent / "data" / "attribution_dev.jsonl"

ROUTER = [(C, "My internet keeps dropping every evening."),
          (A, "Sorry about that! Could you please restart your router and let us know?"),
          (C, "I already restarted my router twice, no change.")]
ASKED_ONLY = [(C, "My internet keeps dropping every evening."),
              (A, "Could you please restart your router and let us know how it goes?"),
              (C, "Ok, I will do it tonight.")]
CRASHES = [(C, "The app keeps crashing."), (A, "Please update the app to the latest version."),
           (C, "Updated it and it works now, thanks!"), (A, "Great, have a nice day!")]
REFUND = [(C, "I need a refund for order 8812345, the item arrived broken."),
          (A, "I'm sorry to hear that. I'll look into the refund for you and get back to you.")]
PARCEL = [(C, "My parcel never arrived and the tracking says delivered."),
          (A, "Can you check with your neighbours and send us the order number?")]


def _flags(turns, summary):
    return check_attribution(turns, summary).findings


def test_an_act_the_customer_reported_is_flagged_when_given_to_the_agent():
    [f] = _flags(ROUTER, "The customer said the internet keeps dropping. The agent restarted the router.")
    assert (f.span, f.named, f.supported, f.turns) == ("The agent restarted the router.", "agent", "customer", (2,))
    assert not _flags(ROUTER, "The customer said the internet keeps dropping and had already restarted the router.")


def test_a_request_is_not_the_act():
    [f] = _flags(ASKED_ONLY, "The customer reported dropping internet. The customer restarted the router.")
    assert (f.named, f.supported, f.turns) == ("customer", "agent", (1,))
    assert "asked the customer" in f.reason
    assert not _flags(ASKED_ONLY, "The customer reported dropping internet. The agent suggested restarting the router.")
    assert not _flags(ASKED_ONLY, "The customer reported dropping internet. The agent asked them to restart it.")


def test_a_request_the_customer_says_they_carried_out_is_their_act():
    done = [*ASKED_ONLY[:2], (C, "Done, still the same.")]
    assert not _flags(done, "The customer reported dropping internet. The customer restarted the router, but it did "
                            "not help.")


def test_a_request_the_customer_refused_is_not_their_act():
    refused = [*ASKED_ONLY[:2], (C, "I'm not restarting it again, it worked fine for months.")]
    [f] = _flags(refused, "The agent asked them to restart the router, and the customer restarted it.")
    assert f.reason.endswith("declined") and f.turns == (1, 2)


def test_the_customers_confirmation_given_to_the_agent_is_flagged():
    [f] = _flags(CRASHES, "The customer said the app kept crashing. The agent asked them to update the app and "
                          "confirmed it works now.")
    assert (f.span, f.supported, f.turns) == ("confirmed it works now.", "customer", (2,))
    assert not _flags(CRASHES, "The customer said the app kept crashing. After updating the app, the customer "
                               "confirmed it works now.")


def test_the_customers_claim_in_the_agents_mouth_is_flagged():
    [f] = _flags(PARCEL, "The agent said the parcel never arrived although tracking shows it delivered.")
    assert (f.named, f.supported, f.turns) == ("agent", "customer", (0,))
    assert not _flags(PARCEL, "The customer said the parcel never arrived although tracking shows it delivered. The "
                              "agent asked them to check with neighbours and send the order number.")


def test_the_customers_demand_in_the_agents_mouth_is_flagged():
    demand = [(C, "I want a refund for the damaged lamp, it arrived in pieces."),
              (A, "Sorry about that. Could you send us a photo of the damage?")]
    [f] = _flags(demand, "The agent demanded a refund for the damaged lamp.")
    assert (f.named, f.supported) == ("agent", "customer")
    assert not _flags(demand, "The customer demanded a refund for the damaged lamp, and the agent asked for a photo "
                              "of the damage.")


def test_an_agents_question_given_to_the_customer_is_flagged():
    probe = [(C, "Spotify keeps skipping songs."), (A, "Which version of the Spotify app are you using?"),
             (C, "8.4.26")]
    [f] = _flags(probe, "The customer asked which version of the Spotify app they are using.")
    assert (f.named, f.supported, f.turns) == ("customer", "agent", (1,))


def test_a_refund_promised_is_not_a_refund_processed():
    [f] = _flags(REFUND, "The customer asked for a refund for a broken item. The agent processed the refund.")
    assert (f.named, f.supported) == ("agent", "neither")
    assert "look into it" in f.reason


def test_a_negated_act_claims_nothing():
    result = check_attribution(REFUND, "The agent did not refund the order and said they would look into it.")
    assert result.findings == [] and result.verdict == "consistent"
    assert not _flags(ROUTER, "The agent never restarted the router.")


def test_an_apology_given_to_the_wrong_side_is_flagged():
    hold = [(C, "Two hours on hold, ridiculous."), (A, "We're really sorry for the wait. What can we help with?")]
    [f] = _flags(hold, "The customer apologised for the long hold.")
    assert f.reason == "only the agent apologised"
    assert not _flags(hold, "The customer complained about a two-hour hold and the agent apologised for the wait.")


def test_a_pronoun_carries_the_last_subject():
    lights = [(C, "My router's lights are red."), (A, "Which lights are red? Is it the internet light?"),
              (C, "Yes. I did a power reset and it came back.")]
    [f] = _flags(lights, "The agent asked which router lights are red. He then did a power reset, which fixed it.")
    assert (f.span, f.named, f.supported) == ("He then did a power reset", "agent", "customer")
    assert not _flags(lights, "The customer was asked which router lights are red. She then did a power reset.")


def test_a_pronoun_after_the_other_party_as_object_is_not_judged():
    lights = [(C, "My router's lights are red."), (A, "Which lights are red?"),
              (C, "All of them. I did a power reset and it came back.")]
    assert not _flags(lights, "The agent asked the customer about the lights. They did a power reset.")


@pytest.mark.parametrize("turns, summary", [
    ([(C, "Can't connect to Xbox Live on my Xbox 1S, error 0x80a40019."),
      (A, "Please send us a DM with your gamertag.")],
     "The customer cannot connect to Xbox Live on an Xbox One S. The agent asked them to DM their gamertag."),
    ([(C, "I can only be home at 1300 on Friday."), (A, "Noted, the driver will come at 13:00 on Friday.")],
     "The customer said they will be home at 13:00."),
    ([(C, "Is there a train to Swindon for half six?"), (A, "The 18.03 from Bristol Parkway arrives at 18.28.")],
     "The customer asked about trains to Swindon. The agent said the 18:03 from Bristol Parkway arrives at 18:28."),
    ([(C, "My order 8812345 never came."), (A, "Please send us a DM with your order number and email address.")],
     "The customer reported a missing order. The agent asked them to DM the order number and email address."),
])
def test_faithful_paraphrases_are_not_flagged(turns, summary):
    result = check_attribution(turns, summary)
    assert result.findings == [] and result.verdict == "consistent"


def test_turns_in_every_shape_and_an_unchecked_summary():
    as_dicts = [{"speaker": s, "text": t} for s, t in ROUTER]
    as_roles = [{"role": s, "text": t} for s, t in ROUTER]
    as_models = [Turn(speaker=s, text=t) for s, t in ROUTER]
    summary = "The agent restarted the router."
    assert all(len(check_attribution(turns, summary).findings) == 1 for turns in (as_dicts, as_roles, as_models))
    unchecked = check_attribution(ROUTER, "Internet dropping; router restarted twice.")
    assert unchecked.verdict == "unchecked" and unchecked.checked == 0


def _item(iid: str, turns, summary: str) -> EvalItem:
    transcript = "\n".join(f"{s}: {t}" for s, t in turns)
    return EvalItem(interaction_id=iid, transcript=transcript, work={"summary": summary})


def test_the_metric_scores_the_share_of_summaries_without_a_swap_and_counts_unchecked_apart():
    assert transcript_turns("customer: hi\nagent: a: b\nnoise") == [("customer", "hi"), ("agent", "a: b")]
    context: dict = {"crm_language": "en"}
    items = [_item("ok", ROUTER, "The customer said they had already restarted the router."),
             _item("swap", ROUTER, "The agent restarted the router."),
             _item("bare", ROUTER, "Router restarted twice."),
             EvalItem(interaction_id="failed", transcript="customer: hi", work=None, error="no output")]
    r = Attribution(0.9, context=context).measure(items)
    assert r.measured and r.score == 0.5 and not r.success
    assert [f["id"] for f in r.details["failures"]] == ["swap"]
    assert "the customer reported doing this" in r.details["failures"][0]["why"]
    assert [u["id"] for u in context["unmeasured"]["attribution"]] == ["bare"]
    assert not Attribution(0.9).measure([items[2]]).measured


def _dev_figures() -> tuple[int, int, int, int]:
    """(swaps found, swaps, faithful summaries flagged, faithful summaries) over the dev set."""
    found = swaps = alarms = faithful = 0
    for line in DEV_SET.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        findings = check_attribution(record["turns"], record["summary"]).findings
        if not record["misattributed"]:
            faithful += 1
            alarms += bool(findings)
            continue
        swaps += 1
        at = record["summary"].find(record["span"])
        found += any(0 <= (start := record["summary"].find(f.span)) < at + len(record["span"])
                     and at < start + len(f.span) for f in findings)
    return found, swaps, alarms, faithful


def test_the_dev_set_figures_hold():
    found, swaps, alarms, faithful = _dev_figures()
    assert (swaps, faithful) == (80, 102)
    assert alarms == 0, f"{alarms} false alarms on faithful summaries"
    assert found / swaps >= 0.85, f"found {found} of {swaps} swaps"
