"""Ops' custom questions: typed in the LLM's schema, answered in the same call, shown to agents, tallied."""

import pytest

from cx_worker.drafting.after_call_work import load_dispositions, output_model, prompt_hash
from cx_worker.drafting.questions import load_questions, tally
from cx_worker.ops.summary import _question_tally
from cx_worker.settings import Settings
from tests.support.fakes import WORK, FakeLLM
from tests.support.night import run_night
from tests.support.paths import PROJECT_ROOT

QUESTIONS = PROJECT_ROOT / "config" / "questions.yaml"


def test_questions_become_typed_fields_of_the_one_call_schema():
    qs = load_questions(QUESTIONS)
    dispositions = load_dispositions(Settings().dispositions)
    codes = tuple(d.code for d in dispositions)
    schema = output_model(codes, qs).model_json_schema()
    answers = schema["$defs"]["CustomAnswers"]["properties"]
    assert set(answers) == {q.id for q in qs} and "identity" in answers["identity_verified"]["description"].lower()
    assert "answers" not in output_model(codes).model_json_schema()["properties"]
    assert prompt_hash(dispositions, questions=qs) != prompt_hash(dispositions)


def test_bad_question_files_are_refused(tmp_path):
    f = tmp_path / "q.yaml"
    f.write_text("questions:\n  - {id: Bad Id, question: x}\n")
    with pytest.raises(ValueError, match="lower-case"):
        load_questions(f)
    f.write_text("questions:\n  - {id: tier, question: \"which tier\", type: choice}\n")
    with pytest.raises(ValueError, match="needs options"):
        load_questions(f)


def test_answers_reach_the_note_and_the_night_tally(env):
    env.settings = env.settings.model_copy(update={"questions": QUESTIONS})
    work = {**WORK, "answers": {"identity_verified": True, "apology_offered": None}}
    night = run_night(env, FakeLLM(work), "r1", limit=3)
    assert night.notes == {"delivered": 3}
    note = env.crm.notes()[0]
    assert "- identity_verified: yes" in note.body and "- apology_offered: unknown" in note.body
    t = _question_tally(env.store, "r1", load_questions(QUESTIONS))
    assert t["identity_verified"]["counts"] == {"yes": 3} and t["apology_offered"]["answered"] == 0
    assert tally([{"x": 2.0}, {"x": 4.0}, {}], ()) == {}
