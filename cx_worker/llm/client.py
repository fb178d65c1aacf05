"""The LLM client: a LangChain chat model for any OpenAI-compatible endpoint (OpenAI, vLLM, llama.cpp, the embedded
server), built from settings in one place.
"""

from __future__ import annotations

from langchain_core.language_models import BaseChatModel
from langchain_openai import ChatOpenAI

from cx_worker.llm.server import fitted_timeout
from cx_worker.settings import Settings


def build_llm(settings: Settings, *, base_url: str | None = None) -> BaseChatModel:
    """A LangChain ChatOpenAI client for the configured (or embedded) OpenAI-compatible endpoint.

    Against an embedded server this process started, the timeout is the one fitted to it (`EmbeddedServer.fit`)
    unless `llm_timeout` was set explicitly; a request resent after a timeout joins the computation under way
    (`coalesce.Coalesce`), so no answer is computed twice.
    """
    url = base_url or settings.llm_base_url
    fitted = None if "llm_timeout" in settings.model_fields_set else fitted_timeout(url)
    return ChatOpenAI(
        base_url=url,
        api_key=settings.llm_api_key,
        model=settings.llm_model,
        temperature=0,
        max_tokens=settings.llm_max_tokens,
        timeout=fitted or settings.llm_timeout,
        max_retries=settings.llm_max_retries,
    )
