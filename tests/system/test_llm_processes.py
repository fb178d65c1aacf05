"""The embedded LLM as a process: llama.cpp's server started as a run starts it, and its settings probed in a
subprocess (importing them loads libllama). Skipped where the `llm` extra is not installed (CI's test set-up)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import pytest

from cx_worker.llm import server as llm_server


@pytest.mark.skipif(importlib.util.find_spec("llama_cpp") is None, reason="llama-cpp-python not installed")
def test_scrubbed_environment_covers_every_llama_server_setting() -> None:
    # In a subprocess: importing llama_cpp.server.settings loads libllama and patches pydantic-settings globally.
    probe = (
        "from llama_cpp.server.settings import Settings, ConfigFileSettings;"
        "print(' '.join(set(Settings.model_fields) | set(ConfigFileSettings.model_fields)))"
    )
    fields = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout.split()
    assert set(fields) <= llm_server._SERVER_ENV_NAMES


@pytest.mark.skipif(importlib.util.find_spec("llama_cpp") is None, reason="llama-cpp-python not installed")
def test_embedded_server_stops_at_max_completion_tokens() -> None:
    # The real server, as a run starts it: before the middleware it ignored the field and counted to ~200.
    from openai import OpenAI

    from cx_worker.llm.server import EmbeddedServer
    from cx_worker.settings import Settings

    settings = Settings()
    with EmbeddedServer(settings) as server:
        answer = OpenAI(base_url=server.base_url, api_key="not-needed").chat.completions.create(
            model=settings.llm_model, temperature=0, max_completion_tokens=8,
            messages=[{"role": "user", "content": "Count from 1 to 200, one number per line."}],
        )
    assert answer.usage.completion_tokens <= 8
    assert answer.choices[0].finish_reason == "length"
