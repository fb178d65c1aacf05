"""The LLM: the client for any OpenAI-compatible endpoint, the embedded llama.cpp server, the prompt templates and
the rate limits calls share."""

from cx_worker.llm.client import build_llm
from cx_worker.llm.prompts import render_parts, template_hash
from cx_worker.llm.ratelimit import RateLimiter
from cx_worker.llm.server import EmbeddedServer, llm_endpoint

__all__ = ["EmbeddedServer", "RateLimiter", "build_llm", "llm_endpoint", "render_parts", "template_hash"]
