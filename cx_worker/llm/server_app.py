"""What the embedded server's app gets from us: the middlewares, installed before `llama_cpp.server` builds it."""

from __future__ import annotations

from typing import Any

from cx_worker.llm.coalesce import Coalesce
from cx_worker.llm.llama_compat import MaxCompletionTokens


def install() -> None:
    """Wrap `llama_cpp.server.app.create_app` so every app it makes has our middlewares (call before the server's
    `__main__` runs: it imports `create_app` from that module): `MaxCompletionTokens` (the output cap our client
    sends is honoured) and, outermost, `Coalesce` (a resent request joins the computation under way)."""
    import llama_cpp.server.app as server_app  # the `llm` extra: only the server process has it

    create_app = server_app.create_app
    if getattr(create_app, "_cx_wrapped", False):
        return

    def wrapped(*args: Any, **kwargs: Any) -> Any:
        app = create_app(*args, **kwargs)
        app.add_middleware(MaxCompletionTokens)
        app.add_middleware(Coalesce)  # added last: runs first
        return app

    wrapped._cx_wrapped = True  # type: ignore[attr-defined]
    server_app.create_app = wrapped
