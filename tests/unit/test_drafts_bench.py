"""The drafts quality bench (`bench/drafts.py`) end to end against the instant endpoint: it prints a row per variant
and the lead, re-runs from its cache, and each variant's requests differ from the baseline's by its lever only."""

import re
import tempfile

import pytest

from bench import drafts
from cx_worker.drafting import after_call_work
from cx_worker.models import Interaction
from tests.support.fault_llm import FaultLLM


@pytest.fixture(autouse=True)
def _scratch_in_tmp_path(tmp_path, monkeypatch):
    """The bench's scratch store (`Bench.open`, a `tempfile.mkdtemp`) inside the test's folder."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))


def _run(endpoint: FaultLLM, tmp_path, variants: str, *, limit: int) -> dict:
    return drafts.main(["--base-url", endpoint.base_url, "--split", "dev", "--limit", str(limit),
                        "--variants", variants, "--cache", str(tmp_path / "cache")])


def _system(request) -> str:
    return request.body["messages"][0]["content"]


def _user(request) -> str:
    return request.body["messages"][1]["content"]


def _properties(request) -> list[str]:
    return list(request.body["tools"][0]["function"]["parameters"]["properties"])


def test_the_bench_prints_each_variant_against_the_lead_and_reruns_from_its_cache(tmp_path, capsys, monkeypatch):
    with FaultLLM() as endpoint:
        results = _run(endpoint, tmp_path, "baseline,example", limit=3)
        out = capsys.readouterr().out
        sent = list(endpoint.requests)

        rows = {line.split()[0] for line in out.splitlines() if line.strip()}
        assert {"lead", "baseline", "example"} <= rows
        for name in ("baseline", "example"):
            figures = results[name]
            assert (figures["n"], figures["valid"]) == (6, 6)  # 3 TweetSumm + 3 ABCD, all answers valid
            assert len(figures["rouge"]) == len(figures["lead"]) == 3  # ROUGE-L on the TweetSumm dialogs only
            assert figures["disposition"][1] == 3  # disposition accuracy on the ABCD chats only
            assert figures["attribution"] is not None
        assert re.search(r"^baseline\s+6/6 1\.00\s+0\.\d{3} \[", out, re.MULTILINE)
        assert "ROUGE-L − lead" in out

        # One request per contact and variant; only the example's system message carries the example.
        assert len(sent) == 12
        with_example = [r for r in sent if "parcel 4471" in _system(r)]
        assert len(with_example) == 6
        assert all("Example (made up" in _system(r) for r in with_example)

        # A re-run computes nothing: every answer comes from the cache. Without the attribution module: "n/a".
        monkeypatch.setattr(drafts, "_attribution_check", lambda: None)
        again = _run(endpoint, tmp_path, "baseline,example", limit=3)
        assert len(endpoint.requests) == 12
        assert again["example"]["rouge"] == results["example"]["rouge"]
        assert re.search(r"^example\s.*\bn/a\b", capsys.readouterr().out, re.MULTILINE)


def test_each_variant_changes_its_lever_and_nothing_else(tmp_path):
    product = (after_call_work.render_parts, after_call_work._delimited, after_call_work.output_model)
    with FaultLLM() as endpoint:
        _run(endpoint, tmp_path, "all", limit=1)
    # The bench restores what it replaced.
    assert (after_call_work.render_parts, after_call_work._delimited, after_call_work.output_model) == product

    # Variants run one after the other, contacts in order (one TweetSumm dialog, one ABCD chat): 2 requests each.
    assert len(endpoint.requests) == 2 * len(drafts.VARIANTS)
    sent = {name: endpoint.requests[2 * n:2 * n + 2] for n, name in enumerate(drafts.VARIANTS)}
    for n, base in enumerate(sent["baseline"]):
        who, ex, last, mark, rp = (sent[v][n] for v in ("who_did_what", "example", "summary_last", "markers",
                                                         "no_repeat_penalty"))
        assert _properties(base)[0] == "summary" and "repeat_penalty" not in base.body
        assert re.search(r"^(customer|agent): ", _user(base), re.MULTILINE)

        assert _system(who).startswith(_system(base)) and "Say who did each thing" in _system(who)
        assert "customer's claim" in _system(who)
        assert "Say who did each thing" not in _system(base)

        assert _system(ex).startswith(_system(base)) and "parcel 4471" in _system(ex)

        assert _properties(last)[-1] == "summary"
        assert sorted(_properties(last)) == sorted(_properties(base))

        assert re.search(r"^\[1\] (Customer|Agent): ", _user(mark), re.MULTILINE)
        assert re.search(r"^\[2\] (Customer|Agent): ", _user(mark), re.MULTILINE)
        assert not re.search(r"^(customer|agent): ", _user(mark), re.MULTILINE)

        assert rp.body["repeat_penalty"] == 1.0

        # Everything but the lever is the baseline's request.
        for variant, differs in ((who, "system"), (ex, "system"), (last, "tools"), (mark, "user"), (rp, "penalty")):
            assert (_user(variant) == _user(base)) is (differs != "user")
            assert (_system(variant) == _system(base)) is (differs != "system")
            assert (variant.body["tools"] == base.body["tools"]) is (differs != "tools")
            assert ("repeat_penalty" in variant.body) is (differs == "penalty")


def test_the_lead_is_the_first_customer_turn_and_the_last_agent_turn():
    contact = Interaction.model_validate({"id": "x", "channel": "chat", "turns": [
        {"speaker": "agent", "text": "Hello, how can I help?"},
        {"speaker": "customer", "text": "My card was charged twice."},
        {"speaker": "agent", "text": "Let me check."}, {"speaker": "customer", "text": "Thanks."},
        {"speaker": "agent", "text": "I refunded the second charge."}]})
    assert drafts.lead(contact) == "My card was charged twice. I refunded the second charge."


def test_an_unknown_variant_stops_the_bench_before_anything_runs():
    with pytest.raises(SystemExit, match="unknown variant"):
        drafts.main(["--variants", "baseline,shorter", "--base-url", "http://127.0.0.1:9/v1"])
