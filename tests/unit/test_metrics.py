from cx_worker.governance.metrics import (
    EvalItem,
    Groundedness,
    OutcomeAccuracy,
    PiiLeakRate,
    SchemaValidRate,
    ungrounded_facts,
)

TRANSCRIPT = "customer: I was charged $40 twice on order 8812345\nagent: I refunded $40 to your card today."


def _item(iid="c1", summary="Refunded $40 for order 8812345.", **kw):
    work = {"summary": summary, "crm_note": "ok", "handoff_context": "", "customer_intent": "refund",
            "emotional_risk": {"flag": False, "reason": ""}, "action_items": []}
    return EvalItem(interaction_id=iid, transcript=TRANSCRIPT, work=work, **kw)


def test_invented_amount_and_id_are_ungrounded():
    assert ungrounded_facts("Refunded $40 for order 8812345.", TRANSCRIPT) == []
    assert ungrounded_facts("Refunded $400 and promised a $25 credit.", TRANSCRIPT) == ["$25", "$400"]
    assert ungrounded_facts("See ticket AB99172.", TRANSCRIPT) == ["AB99172"]


def test_groundedness_fails_the_invented_summary():
    r = Groundedness(0.9).measure([_item(), _item("c2", summary="We refunded $150.")])
    assert r.score == 0.5 and not r.success and r.details["failures"][0]["id"] == "c2"


def test_pii_leak_rate_counts_outputs_with_pii():
    r = PiiLeakRate(0.0).measure([_item(), _item("c2", summary="Mail sent to jo@example.com")])
    assert r.score == 0.5 and not r.success and "EMAIL" in r.details["failures"][0]["why"]


def test_schema_valid_rate_counts_failures_as_invalid():
    bad = EvalItem(interaction_id="c3", transcript="", work=None, error="output cut off")
    r = SchemaValidRate(0.9).measure([_item(), _item("c2"), bad])
    assert round(r.score, 3) == 0.667 and not r.success


def test_not_measured_is_apart_and_not_a_failure():
    r = OutcomeAccuracy(0.8).measure([_item(outcome="resolved")])
    assert not r.measured and r.score is None and r.success
    r = OutcomeAccuracy(0.8).measure([_item(outcome="resolved", reference_outcome="deflected"),
                                      _item("c2", outcome="deflected", reference_outcome="deflected")])
    assert r.measured and r.score == 0.5 and not r.success


def test_an_error_is_a_failure():
    broken = EvalItem(interaction_id="c1", transcript="x", work=["not", "a", "dict"])  # type: ignore[arg-type]
    r = Groundedness(0.5).measure([broken])
    assert r.measured and not r.success and r.reason.startswith("error while measuring")


def test_summary_language_compares_the_detected_language_with_the_crm_language():
    from cx_worker.governance.metrics import SummaryLanguage

    english = _item(summary="The customer asked for a refund of the double charge and the agent issued it today.")
    spanish = _item("c2", summary="El cliente pidió el reembolso del cargo doble y el agente lo emitió hoy mismo.")
    r = SummaryLanguage(0.95, context={"crm_language": "en"}).measure([english, spanish])
    assert r.measured and r.score == 0.5 and r.details["failures"][0]["id"] == "c2"
    assert "'es'" in r.details["failures"][0]["why"]


def test_a_run_scored_page_by_page_scores_as_it_does_all_at_once():
    """Evals read a night page by page (memory flat); every metric's score must not depend on the paging."""
    from cx_worker.governance.evaluate import METRICS

    items = [
        _item("c1"),
        _item("c2", summary="Customer asked about an order; agent explained the refund policy."),
        _item("c3", summary="Mail me at jo@example.com about order 8812345.", reference_outcome="resolved",
              outcome="deflected"),
        EvalItem(interaction_id="c4", transcript=TRANSCRIPT, work=None, error="cut off", outcome="resolved",
                 reference_outcome="resolved"),
        _item("c5", summary="The customer was told to DM us.", reference_outcome="deflected", outcome="deflected",
              reference_summaries=("Customer asked; agent told them to DM.",)),
    ]
    pages = [items[:2], items[2:3], items[3:]]
    for name, metric_class in METRICS.items():
        if name == "faithfulness":  # needs an LLM judge; sampled, never paged
            continue
        whole = metric_class(0.5, context={"crm_language": "en"}).measure(items)
        paged = metric_class(0.5, context={"crm_language": "en"}).measure_pages(pages)
        assert (paged.score is None) == (whole.score is None), name
        if whole.score is not None:
            assert abs(paged.score - whole.score) < 1e-4, (name, paged.score, whole.score)
        assert paged.details.get("failures", []) == whole.details.get("failures", []), name
        assert paged.success == whole.success and paged.measured == whole.measured, name
