"""The after-call-work writer: one LLM call per contact, structured output validated into `AfterCallWork`.

The LLM is passed in (any LangChain chat model speaking the OpenAI protocol); `build_llm` makes one from settings.
The disposition field is narrowed to the ops team's taxonomy, so a grammar-enforcing server (llama.cpp) can only
emit a valid code and any other server's answer is checked against it.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import yaml
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage, SystemMessage
from pydantic import BaseModel, Field, ValidationError, create_model

from cx_worker.models import AfterCallWork, Interaction
from cx_worker.prompts import PROMPTS_DIR, render_parts
from cx_worker.settings import Settings

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
def output_model(codes: tuple[str, ...]) -> type[BaseModel]:
    """`AfterCallWork` with `disposition` narrowed to the taxonomy's codes."""
    field = AfterCallWork.model_fields["disposition"]
    return create_model(
        "AfterCallWork",
        __base__=AfterCallWork,
        __doc__=AfterCallWork.__doc__,
        disposition=(Literal[codes], Field(description=field.description)),  # type: ignore[valid-type]
    )


def prompt_hash(dispositions: tuple[Disposition, ...], *, folder: Path = PROMPTS_DIR) -> str:
    """Hash of everything that shapes the answer but the transcript: template bytes and output schema."""
    schema = output_model(tuple(d.code for d in dispositions)).model_json_schema()
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
    # Strip our own markers from the text so a transcript cannot close the data block early.
    return "\n".join(
        f"{t.speaker}: {t.text.replace('<<<', '‹‹‹').replace('>>>', '›››')}" for t in interaction.turns
    )


def write_after_call_work(
    interaction: Interaction,
    *,
    llm: BaseChatModel,
    model: str,
    dispositions: tuple[Disposition, ...],
    method: str = "function_calling",
    language: str = "en",
) -> AcwResult:
    """Draft the after-call work of one (already redacted) contact with one LLM call.

    Raises:
        AcwError: the answer was missing, cut off or did not validate.
    """
    schema_model = output_model(tuple(d.code for d in dispositions))
    messages = build_messages(
        interaction,
        dispositions=dispositions,
        language=language,
        json_schema=schema_model.model_json_schema() if method == "json_mode" else None,
    )
    structured = llm.with_structured_output(schema_model, method=method, include_raw=True)
    started = time.perf_counter()
    answer = structured.invoke(messages)
    seconds = time.perf_counter() - started
    raw = answer.get("raw")
    usage = dict(getattr(raw, "usage_metadata", None) or {})
    finish = (getattr(raw, "response_metadata", None) or {}).get("finish_reason")
    if finish == "length":
        raise AcwError("output cut off at max_tokens (finish_reason=length)")
    if answer.get("parsing_error") is not None or answer.get("parsed") is None:
        raise AcwError(f"invalid structured output: {_short(answer.get('parsing_error'))}")
    try:
        work = AfterCallWork.model_validate(answer["parsed"].model_dump())
    except ValidationError as exc:  # pragma: no cover - the narrowed model already validated
        raise AcwError(f"invalid after-call work: {_short(exc)}") from exc
    return AcwResult(
        work=work,
        prompt_hash=prompt_hash(dispositions),
        model=model,
        usage={
            "prompt_tokens": usage.get("input_tokens"),
            "completion_tokens": usage.get("output_tokens"),
            "seconds": round(seconds, 3),
        },
    )


def _short(error: object) -> str:
    return str(error).replace("\n", " ")[:300]


def build_llm(settings: Settings, *, base_url: str | None = None) -> BaseChatModel:
    """A LangChain ChatOpenAI client for the configured (or embedded) OpenAI-compatible endpoint."""
    from langchain_openai import ChatOpenAI

    return ChatOpenAI(
        base_url=base_url or settings.llm_base_url,
        api_key=settings.llm_api_key,
        model=settings.llm_model,
        temperature=0,
        max_tokens=settings.llm_max_tokens,
        timeout=settings.llm_timeout,
        max_retries=settings.llm_max_retries,
    )
