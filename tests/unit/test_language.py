"""Language: detected offline for contacts that do not carry one; the LLM is always asked for the CRM language."""

from types import SimpleNamespace

from cx_worker.drafting.after_call_work import load_dispositions
from cx_worker.drafting.draft import draft
from cx_worker.ingest.adapters import Parsed, parse_file
from cx_worker.ingest.language import detect_language, with_language
from cx_worker.ingest.source import Read, read_interactions
from cx_worker.models import Interaction
from cx_worker.settings import Settings
from cx_worker.store import Store
from tests.support.paths import PROJECT_ROOT

FIXTURES = PROJECT_ROOT / "tests" / "fixtures"


def test_real_spanish_and_indonesian_dialogs_are_detected(tmp_path):
    (tmp_path / "tweets.jsonl").write_bytes((FIXTURES / "raw_tweetsumm_non_english.jsonl").read_bytes())
    reads = [i.interaction for i in read_interactions(tmp_path) if isinstance(i, Read)]
    assert [(c.queue, c.language) for c in reads] == [("AzureSupport", "es"), ("AirAsiaSupport", "id")]
    assert reads[0].metadata["language_detected"]["p"] >= 0.8
    english = [i.interaction for i in parse_file("t.jsonl", (FIXTURES / "raw_tweetsumm.jsonl").read_bytes())
               if isinstance(i, Parsed)]
    assert {with_language(c).language for c in english} == {"en"}


def test_short_or_unsure_text_stays_unknown_and_a_given_language_is_kept():
    assert detect_language("ok thx") == (None, 0.0)
    assert detect_language("Guten Tag, meine Bestellung ist noch nicht angekommen.")[0] == "de"
    given = Interaction(id="g", channel="chat", language="fr", turns=[{"speaker": "customer", "text": "hello there"}])
    assert with_language(given) is given


def test_the_llm_is_asked_for_the_crm_language_whatever_the_contact_language(tmp_path):
    spanish = [i.interaction for i in parse_file("t.jsonl", (FIXTURES / "raw_tweetsumm_non_english.jsonl").read_bytes())
               if isinstance(i, Parsed)][0]
    sent = []

    class Recording:
        def with_structured_output(self, schema, *, method, include_raw):
            def invoke(messages):
                sent.append(messages)
                raise TimeoutError("not needed")

            return SimpleNamespace(invoke=invoke)

    settings = Settings(data_dir=tmp_path, crm_language="de", llm_model="fake")
    store = Store(settings.store_path)
    draft([with_language(spanish)], llm=Recording(), settings=settings,
                 dispositions=load_dispositions(settings.dispositions), store=store, run_id="r")
    system = sent[0][0].content
    assert "the hand-off context in German, whatever language the contact was in" in system
    assert "Como configuro una VPNGateway" in sent[0][-1].content
