"""The after-call-work writer: one LLM call per contact, structured output validated into `AfterCallWork`.

The LLM is passed in (any LangChain chat model speaking the OpenAI protocol); `build_llm` makes one from settings.
The disposition field is narrowed to the ops team's taxonomy, so a grammar-enforcing server (llama.cpp) can only
emit a valid code and any other server's answer is checked against it.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Container
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import yaml
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage, SystemMessage
from pydantic import BaseModel, Field, ValidationError, create_model

from cx_worker.drafting.context_limit import estimate_tokens
from cx_worker.drafting.questions import Question, answers_model
from cx_worker.guard.inbound import neutralise
from cx_worker.guard.outbound import check_output, identifiers
from cx_worker.llm.prompts import PROMPTS_DIR, environment, render_parts
from cx_worker.llm.ratelimit import RateLimiter
from cx_worker.models import AfterCallWork, Interaction, render_turn

TEMPLATE = "after_call_work.j2"
_LANGUAGES = {"en": "English", "de": "German", "fr": "French", "es": "Spanish", "it": "Italian", "nl": "Dutch",
              "pt": "Portuguese", "pl": "Polish", "sv": "Swedish", "da": "Danish"}


class AcwError(Exception):
    """The LLM's answer could not be turned into valid after-call work."""


@dataclass(frozen=True)
class Disposition:
    code: str
    description: str


@dataclass(frozen=True)
class AcwResult:
    """Validated after-call work with what produced it."""

    work: AfterCallWork
    prompt_hash: str
    model: str
    usage: dict[str, Any]


def load_dispositions(path: Path) -> tuple[Disposition, ...]:
    """Read the ops-owned disposition taxonomy."""
    data = yaml.safe_load(path.read_text())
    items = tuple(Disposition(d["code"], d.get("description", "")) for d in data["dispositions"])
    if not items:
        raise ValueError(f"{path}: no dispositions")
    return items


@lru_cache(maxsize=8)
def output_model(codes: tuple[str, ...], questions: tuple[Question, ...] = ()) -> type[BaseModel]:
    """`AfterCallWork` with `disposition` narrowed to the taxonomy's codes, and the ops team's custom questions
    (if any) as a typed `answers` object."""
    field = AfterCallWork.model_fields["disposition"]
    extra = {}
    if (answers := answers_model(questions)) is not None:
        extra["answers"] = (answers, Field(description=AfterCallWork.model_fields["answers"].description))
    return create_model(
        "AfterCallWork",
        __base__=AfterCallWork,
        __doc__=AfterCallWork.__doc__,
        disposition=(Literal[codes], Field(description=field.description)),  # type: ignore[valid-type]
        **extra,
    )


def prompt_hash(
    dispositions: tuple[Disposition, ...], *, questions: tuple[Question, ...] = (), folder: Path = PROMPTS_DIR
) -> str:
    """Hash of everything that shapes the answer but the transcript: template bytes and output schema."""
    schema = output_model(tuple(d.code for d in dispositions), questions).model_json_schema()
    digest = hashlib.sha256((folder / TEMPLATE).read_bytes())
    digest.update(json.dumps(schema, sort_keys=True).encode())
    return digest.hexdigest()[:16]


def build_messages(
    interaction: Interaction, *, dispositions: tuple[Disposition, ...], language: str, json_schema: dict | None = None
) -> list[SystemMessage | HumanMessage]:
    """The two messages of one call: static instructions first (cacheable), the transcript last."""
    parts = render_parts(
        TEMPLATE,
        dispositions=dispositions,
        language_name=_LANGUAGES.get(language, language),
        channel=interaction.channel,
        queue=interaction.queue,
        transcript=_delimited(interaction),
    )
    system = parts["system"]
    if json_schema is not None:  # json_mode: the server does not see the schema, so the prompt must carry it
        system += "\n\nAnswer with one JSON object that matches this JSON Schema:\n" + json.dumps(json_schema)
    return [SystemMessage(system), HumanMessage(parts["user"])]


def _delimited(interaction: Interaction) -> str:
    # One turn per line as every reader sees it (`render_turn`: no line break or speaker label inside a turn), and
    # our own markers taken out of the text so a transcript cannot close the data block early.
    return "\n".join(render_turn(t).replace("<<<", "‹‹‹").replace(">>>", "›››") for t in interaction.turns)


def write_after_call_work(
    interaction: Interaction,
    *,
    llm: BaseChatModel,
    model: str,
    dispositions: tuple[Disposition, ...],
    method: str = "function_calling",
    language: str = "en",
    limiter: RateLimiter | None = None,
    known_identifiers: Container[str] = frozenset(),
    questions: tuple[Question, ...] = (),
    invalid_answer: str | None = None,
) -> AcwResult:
    """Draft the after-call work of one (already redacted) contact.

    One LLM call; if its answer does not parse or validate, one repair re-ask: the same messages plus a user message
    with the validation error, asking for a corrected tool call. An answer cut off at `max_tokens`
    (finish_reason "length") is not repaired: the re-ask would run into the same cap (the schema's length limits
    already keep a well-behaved answer under it; a cut-off one is a model that looped). Transport errors (429, 5xx,
    timeouts) are retried inside the SDK, with backoff, `max_retries` times.

    Args:
        interaction: The redacted contact.
        llm: The chat model.
        model: Its name, recorded with the output.
        dispositions: The disposition taxonomy the answer must pick from.
        method: How structured output is asked for (see `Settings.llm_structured_output`).
        language: Language of the summary and the note.
        limiter: Requests/tokens-per-minute limiter shared by the run's concurrent calls; None: no limit.
        known_identifiers: Identifiers of the other contacts of the batch (`injection.batch_identifiers`): an
            answer carrying one of them is rejected.
        invalid_answer: Why a first answer obtained elsewhere (the Batch API, `batch_api`) could not be used: no
            first call, straight to the repair re-ask with this error.

    Raises:
        AcwError: the answer was cut off, did not validate after the repair, or failed the output check.
    """
    schema_model = output_model(tuple(d.code for d in dispositions), questions)
    messages = build_messages(
        interaction,
        dispositions=dispositions,
        language=language,
        json_schema=schema_model.model_json_schema() if method == "json_mode" else None,
    )
    structured = llm.with_structured_output(schema_model, method=method, include_raw=True)
    # What the tpm limit counts: the messages, the tool definition sent beside them (~780 tokens; in json_mode the
    # schema is already in the system message) and the most the answer may take.
    tool = json.dumps(schema_model.model_json_schema()) if method != "json_mode" else ""
    reserve = (estimate_tokens("".join(str(m.content) for m in messages) + tool)
               + (getattr(llm, "max_tokens", None) or 0))
    started = time.perf_counter()
    usage: dict[str, Any] = {}
    problem = invalid_answer
    if problem is None:
        answer = _invoke(structured, messages, limiter=limiter, tokens=reserve)
        usage = _usage(answer)
        problem = _problem(answer)
    repaired = False
    if problem is not None:
        repair = HumanMessage(_repair_message(error=problem, tool=schema_model.__name__))
        answer = _invoke(structured, [*messages, repair], limiter=limiter,
                         tokens=reserve + estimate_tokens(str(repair.content)))
        usage = {k: (usage.get(k) or 0) + (v or 0) for k, v in _usage(answer).items()}
        again = _problem(answer)
        if again is not None:
            raise AcwError(f"{again} (after one repair re-ask; first answer: {problem})")
        repaired = True
    seconds = time.perf_counter() - started
    work = checked_work(interaction, answer["parsed"], system_prompt=str(messages[0].content),
                        known_identifiers=known_identifiers)
    return AcwResult(
        work=work,
        prompt_hash=prompt_hash(dispositions, questions=questions),
        model=model,
        usage={
            "prompt_tokens": usage.get("input_tokens"),
            "completion_tokens": usage.get("output_tokens"),
            "seconds": round(seconds, 3),
            "repaired": repaired,
        },
    )


def parse_answer(text: str | None, *, schema_model: type[BaseModel]) -> BaseModel:
    """A structured answer's raw JSON (tool-call arguments or message content) validated into the narrowed model.

    Raises:
        AcwError: not JSON, or not valid under the schema; the message is what a repair re-ask would be told.
    """
    try:
        return schema_model.model_validate_json(text or "")
    except ValidationError as exc:
        if any(e["type"] == "json_invalid" for e in exc.errors()):
            why = _short(exc.errors()[0]["msg"].removeprefix("Invalid JSON: "))
            raise AcwError(f"invalid structured output: arguments are not valid JSON: {why}") from exc
        raise AcwError(f"invalid structured output: {_describe(exc)}") from exc


def checked_work(
    interaction: Interaction, parsed: BaseModel, *, system_prompt: str, known_identifiers: Container[str] = frozenset()
) -> AfterCallWork:
    """A validated answer as `AfterCallWork`, once it passed the output check (`injection.check_output`).

    Raises:
        AcwError: the output check rejected it (it quotes the system prompt, holds another contact's identifiers,
            or follows an instruction injected in the transcript).
    """
    try:
        work = AfterCallWork.model_validate(parsed.model_dump())
    except ValidationError as exc:  # pragma: no cover - the narrowed model already validated
        raise AcwError(f"invalid after-call work: {_short(exc)}") from exc
    attempt = neutralise(interaction)
    rejected = check_output(work.model_dump(), system_prompt=system_prompt,
                            transcript=interaction.transcript(), own=identifiers(interaction), known=known_identifiers,
                            injected=attempt.removed, rest=attempt.interaction.transcript())
    if rejected:
        raise AcwError(f"output rejected: {rejected}")
    return work


def _repair_message(*, error: str, tool: str) -> str:
    # The `repair` macro of the same template, so the prompt hash covers the re-ask's wording too.
    module = environment().get_template(TEMPLATE).make_module({})
    return str(module.repair(error=error, tool=tool)).strip()


def _invoke(structured, messages: list, *, limiter: RateLimiter | None, tokens: int) -> dict[str, Any]:
    if limiter is not None:
        limiter.acquire(tokens=tokens)
    return structured.invoke(messages)


def _usage(answer: dict[str, Any]) -> dict[str, Any]:
    raw = answer.get("raw")
    usage = dict(getattr(raw, "usage_metadata", None) or {})
    return {"input_tokens": usage.get("input_tokens"), "output_tokens": usage.get("output_tokens")}


def _problem(answer: dict[str, Any]) -> str | None:
    """What is wrong with a structured answer, or None. Raises AcwError for a cut-off answer (not repairable)."""
    raw = answer.get("raw")
    finish = (getattr(raw, "response_metadata", None) or {}).get("finish_reason")
    if finish == "length":
        raise AcwError("output cut off at max_tokens (finish_reason=length)")
    if answer.get("parsing_error") is not None:
        return f"invalid structured output: {_describe(answer['parsing_error'])}"
    if answer.get("parsed") is None:
        invalid = getattr(raw, "invalid_tool_calls", None) or []
        if invalid:  # arguments that are not JSON never reach the parser: LangChain sets them aside
            return f"invalid structured output: {_describe(invalid[0].get('error') or 'arguments are not valid JSON')}"
        return "invalid structured output: no tool call in the answer"
    return None


def _describe(error: object) -> str:
    """A validation or JSON error, short enough for a quarantine reason and a repair message, the cause kept."""
    cause = getattr(error, "__cause__", None)
    if not isinstance(error, ValidationError) and isinstance(cause, ValidationError):
        error = cause
    if isinstance(error, ValidationError):  # field by field, without pydantic's echo of the whole input
        return _short("; ".join(f"{'.'.join(map(str, e['loc'])) or 'answer'}: {e['msg']}" for e in error.errors()),
                      limit=600)
    text = str(error)
    if "are not valid JSON" in text:  # LangChain quotes the whole broken arguments first: keep the reason
        text = "arguments are not valid JSON" + text.rsplit("are not valid JSON", 1)[1]
    return _short(text.split("For troubleshooting, visit")[0].strip())


def _short(error: object, *, limit: int = 300) -> str:
    return str(error).replace("\n", " ")[:limit]
