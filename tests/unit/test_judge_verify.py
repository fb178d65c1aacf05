"""The judge's quotes are checked by code: a claim whose content no turn holds, or only the other speaker's turns
hold, is unsupported whatever the model said; a real quote, lightly trimmed, stands; and a true claim the small
judge quoted from the wrong turn still stands when its speaker's own turn holds it."""

from cx_worker.governance.judge import JudgedClaim, JudgedSummary, verify

TRANSCRIPT = "\n".join([
    "customer: My router keeps dropping the connection since Monday.",
    "agent: Sorry about that! Could you please restart the router and tell me if the light turns green?",
    "customer: Done, the light is green now and it works.",
    "agent: Great, I have also added a $10 credit to your account for the trouble.",
])


def _one(claim: str, speaker: str, evidence: str, supported: bool = True):
    return verify(JudgedSummary(claims=[JudgedClaim(claim=claim, speaker=speaker, evidence=evidence,
                                                    supported=supported)]), TRANSCRIPT).claims[0]


def test_a_real_quote_of_the_right_speaker_supports_the_claim():
    assert _one("The customer's router drops the connection", "customer",
                "My router keeps dropping the connection since Monday").supported
    assert _one("The agent added a $10 credit", "agent", "I have also added a $10 credit to your account").supported
    # trimmed, case and punctuation changed, one word left out
    assert _one("The agent asked for a restart", "agent", "could you restart the router and tell me if").supported


def test_what_only_the_other_speaker_said_is_not_this_speakers():
    check = _one("The agent confirmed it works now", "agent", "Done, the light is green now and it works")
    assert not check.supported and check.problem == "said by the customer, not the agent"
    check = _one("The customer confirmed a credit was added", "customer", "I have also added a $10 credit")
    assert not check.supported and "said by the agent" in check.problem


def test_a_made_up_quote_or_no_quote_supports_nothing():
    check = _one("The agent issued a refund", "agent", "I have refunded the full amount to your card")
    assert not check.supported and check.problem == "nothing in the transcript says it"
    check = _one("The issue was resolved", "nobody", "")
    assert not check.supported and check.problem.startswith("no evidence quoted")
    assert check.judge_supported  # the model's own verdict is kept beside the checked one


def test_a_true_claim_quoted_from_the_wrong_turn_stands():
    check = _one("The agent added a credit to the account", "agent", "Done, the light is green now")
    assert check.supported and check.problem == ""
    check = _one("The router kept dropping the connection", "customer", "please restart the router")
    assert check.supported


def test_the_judges_own_no_stands_and_says_so():
    check = _one("The agent promised a callback", "agent", "", supported=False)
    assert not check.supported and check.problem == "the judge found no support"


def test_a_claim_of_both_or_nobody_needs_the_quote_but_not_a_speaker():
    assert _one("The router works again", "nobody", "the light is green now and it works").supported
    assert _one("They restarted the router together", "both", "please restart the router").supported
