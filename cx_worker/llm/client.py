"""The LLM client: a LangChain chat model for any OpenAI-compatible endpoint (OpenAI, vLLM, llama.cpp, the embedded
server), built from settings in one place.
"""

from __future__ import annotations

from langchain_core.language_models import BaseChatModel
from langchain_openai import ChatOpenAI

from cx_worker.settings import Settings


def build_llm(settings: Settings, *, base_url: str | None = None) -> BaseChatModel:
    """A LangChain ChatOpenAI client for the configured (or embedded) OpenAI-compatible endpoint."""
    return ChatOpenAI(
        base_url=base_url or settings.llm_base_url,
        api_key=settings.llm_api_key,
        model=settings.llm_model,
        temperature=0,
        max_tokens=settings.llm_max_tokens,
        timeout=settings.llm_timeout,
        max_retries=settings.llm_max_retries,
    )
