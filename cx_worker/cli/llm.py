"""`cx-worker llm serve`: the embedded OpenAI-compatible server, on 127.0.0.1, until stopped."""

from __future__ import annotations

import click

from cx_worker.cli import EXIT_PASS
from cx_worker.cli.settings_options import settings_options
from cx_worker.llm.server import serve_forever
from cx_worker.settings import Settings


@click.command()
@click.argument("action", type=click.Choice(["serve"]))
@click.option("--port", type=int, default=None, help="Port on 127.0.0.1 (default: a free one, printed).")
@settings_options
def llm(action: str, port: int | None) -> int:
    """The embedded local LLM (llama.cpp's OpenAI-compatible server)."""
    serve_forever(Settings(), port=port)
    return EXIT_PASS
