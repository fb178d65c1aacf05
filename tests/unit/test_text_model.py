"""The outcome-words model: speaker-tagged terms, learning the words that tell an outcome, no leak in evaluation."""

import numpy as np

from cx_worker.models import Interaction
from cx_worker.outcomes import evaluate as outcome_eval
from cx_worker.outcomes import fusion
from cx_worker.outcomes import words as text_model
from cx_worker.outcomes.classify import decide
from cx_worker.outcomes.exemplars import document
from cx_worker.outcomes.words import fit_text, out_of_fold, terms
from tests.unit.test_outcome_eval import _data

# Closing lines of real contacts (TweetSumm, ABCD), by outcome; topics vary, the ending says how it went.
ENDINGS = {
    "deflected": ["agent: Please DM us your account details so we can look into it.",
                  "agent: Send us a DM with your order number and we'll take a look.",
                  "agent: You can reset it using the link here: __url__"],
    "escalated": ["agent: I have notified our billing team and they will contact you.",
                  "agent: The manager has been notified about your case.",
                  "agent: I've escalated this to our specialists, they will reach out."],
    "resolved": ["customer: That worked, thank you so much!\nagent: Glad to hear it!",
                 "agent: The refund has been processed.\ncustomer: Great, thanks!",
                 "agent: I've updated your address.\ncustomer: Perfect, thank you."],
}
TOPICS = ["my phone bill", "a late parcel", "the app login", "a broken jacket zip", "my flight booking",
          "a double charge", "the wifi router", "a missing refund"]


def _docs():
    docs, labels = [], []
    for label, endings in ENDINGS.items():
        for t, topic in enumerate(TOPICS):
            docs.append(f"customer: Hi, I need help with {topic}.\n{endings[t % len(endings)]}")
            labels.append(label)
    return docs, labels


def _record_fits(monkeypatch) -> list[set[str]]:
    """Record the documents every word-model fit is given (wherever it is called from)."""
    calls: list[set[str]] = []
    real = text_model.fit_text

    def spy(documents, labels, **kw):
        calls.append(set(documents))
        return real(documents, labels, **kw)

    monkeypatch.setattr(text_model, "fit_text", spy)
    monkeypatch.setattr(fusion, "fit_text", spy)
    return calls


def test_terms_are_tagged_with_who_said_them_and_include_word_pairs():
    got = terms("customer: DM sent\nagent: Please DM us\nthanks again")  # the last line continues the agent's turn
    assert {"c:dm", "c:sent", "c:dm_sent", "a:dm", "a:dm_us", "a:thanks"} <= got
    assert "c:us" not in got and "a:sent" not in got


def test_it_learns_the_words_of_each_outcome_not_the_topic():
    docs, labels = _docs()
    model = fit_text(docs, labels, classes=["resolved", "deflected", "escalated"])
    new = ["customer: Hi, I need help with my pension.\nagent: Please DM us and we will check.",
           "customer: Hi, I need help with my pension.\nagent: The pensions team has been notified.",
           "customer: Hi, I need help with my pension.\nagent: Done, I've updated it.\ncustomer: Thank you, "
           "that worked!"]
    predicted = [model.classes[i] for i in model.proba(new).argmax(axis=1)]
    assert predicted == ["deflected", "escalated", "resolved"]
    assert any(t.startswith("a:dm") for t in model.telling_terms(new[0], "deflected"))
    assert not any("pension" in t or "help" in t for t in model.telling_terms(new[0], "deflected"))
    # Evidence is for a person: words that say nothing alone ("a:us", "a:and") are not shown, pairs with one are.
    assert model.vocabulary.count("a:us") == 1 and "a:us" not in model.telling_terms(new[0], "deflected", top=50)
    # Round trip through the fusion model's JSON form.
    again = text_model.TextModel(**model.to_dict())
    assert np.allclose(again.proba(new), model.proba(new), atol=1e-4)


def test_out_of_fold_probabilities_come_from_models_that_never_saw_the_document(monkeypatch):
    docs, labels = _docs()
    seen = _record_fits(monkeypatch)
    proba = out_of_fold(docs, labels, classes=["resolved", "deflected", "escalated"], folds=4)
    assert proba.shape == (len(docs), 3) and np.allclose(proba.sum(axis=1), 1.0)
    assert len(seen) == 4 and all(len(s) < len(docs) for s in seen)
    for doc in docs:  # each document is left out of exactly one model: the one that scored it
        assert sum(doc not in s for s in seen) == 1


def test_cross_validation_fits_the_word_model_on_training_folds_only(monkeypatch):
    vectors, labels, fired = _data()
    docs = [f"agent: case {i} {label} words" for i, label in enumerate(labels)]
    calls = _record_fits(monkeypatch)
    trace: dict = {}
    result = outcome_eval.cross_validate(vectors, labels, fired, n_folds=4, seed=1, k=5, trace=trace, documents=docs)
    per_fold = len(calls) // 4
    assert per_fold == text_model.OOF_FOLDS + 1  # out-of-fold fits for the fusion's rows, then the model it uses
    for f in range(4):
        training = {docs[i] for i in trace["fitted_on"][f]}
        assert all(call <= training for call in calls[f * per_fold:(f + 1) * per_fold]), "a held-out document leaked"
    assert np.mean([p == t for p, t in zip(result["fusion"], labels)]) > 0.7


def test_decide_shows_the_telling_words_as_evidence():
    docs, labels = _docs()
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(len(docs), 8))
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    fired = [[] for _ in docs]
    model = fusion.fit_with_words(vectors, labels, fired, docs, k=3)
    contact = Interaction(id="c", channel="chat", turns=[
        {"speaker": "customer", "text": "Hi, I need help with my pension."},
        {"speaker": "agent", "text": "The manager has been notified about your case."}])
    outcome = decide(contact, [("0", "resolved", 0.5), ("1", "resolved", 0.49), ("2", "deflected", 0.48)],
                     model=model)
    words = outcome.signals["words"]
    assert set(words["probabilities"]) == set(model.classes)
    assert max(words["probabilities"], key=words["probabilities"].get) == "escalated"
    assert words["telling"] == model.word_model.telling_terms(document(contact), outcome.label)
    assert "a:notified" in model.word_model.telling_terms(document(contact), "escalated")


def test_telling_words_of_every_label_at_once_are_each_labels_own():
    docs, labels = _docs()
    model = fit_text(docs, labels)

    def one_label(found, label, top=5):  # the margin of one label over the mean of the others, label by label
        known = sorted(t for t in found if t in model.vocabulary and not text_model._plain(t))
        if not known:
            return []
        c = model.classes.index(label)
        w = np.array([model.weights[model.vocabulary.index(t)] for t in known])
        margin = w[:, c] - (w.sum(axis=1) - w[:, c]) / (len(model.classes) - 1)
        best = sorted(range(len(known)), key=lambda i: (-margin[i], known[i]))[:top]
        return [known[i] for i in best if margin[i] > 0]

    for doc in [*docs, "customer: nothing known here", ""]:
        found = terms(doc)
        every = model.telling_by_label(found)
        assert list(every) == model.classes
        assert all(every[label] == model.telling_of(found, label) == one_label(found, label)
                   for label in model.classes)
    assert any(model.telling_by_label(terms(d))["escalated"] for d in docs)
    assert model.telling_of(terms(docs[0]), "abandoned") == []  # a label the model does not know
