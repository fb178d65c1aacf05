"""What the embedded server's app gets from us: the middlewares, installed before `llama_cpp.server` builds it."""

from __future__ import annotations

from typing import Any

from cx_worker.llm.coalesce import Coalesce
from cx_worker.llm.llama_compat import MaxCompletionTokens
from cx_worker.llm.speculative import RecentLookup, lean_eval


def install() -> None:
    """Wrap `llama_cpp.server.app.create_app` so every app it makes has our middlewares (call before the server's
    `__main__` runs: it imports `create_app` from that module): `MaxCompletionTokens` (the output cap our client
    sends is honoured) and, outermost, `Coalesce` (a resent request joins the computation under way); and the
    cheaper prompt-lookup decoding of `speculative` (used when `llm_draft_tokens` turns it on)."""
    import llama_cpp.llama
    import llama_cpp.llama_speculative
    import llama_cpp.server.app as server_app  # the `llm` extra: only the server process has it

    # Prompt lookup as `speculative` does it (`--draft_model` turns it on; the server builds the class by name).
    llama_cpp.llama_speculative.LlamaPromptLookupDecoding = RecentLookup
    if not getattr(llama_cpp.llama.Llama.eval, "_cx_lean", False):
        llama_cpp.llama.Llama.eval = lean_eval(llama_cpp.llama.Llama.eval)
        llama_cpp.llama.Llama.eval._cx_lean = True  # type: ignore[attr-defined]
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
