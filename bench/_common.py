"""What the LLM benchmarks share: real contacts redacted as the run does, the request bodies our run sends, the
embedded model's GGUF and tokenizer, and the load average every printed figure carries.

Not a benchmark itself; `bench/llm_overhead.py`, `bench/tokens.py` and `bench/concurrency.py` use it.
"""

from __future__ import annotations

import os
import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from cx_worker.drafting.after_call_work import _delimited, load_dispositions
from cx_worker.drafting.draft import draft
from cx_worker.drafting.prepare import prepare_contacts
from cx_worker.llm.client import build_llm
from cx_worker.llm.server import CHAT_FORMAT, ensure_weights
from cx_worker.models import Interaction
from cx_worker.settings import Settings

PROJECT_ROOT = Path(__file__).resolve().parent.parent
from cx_worker.store import Store
from tests.support.fault_llm import FaultLLM, LoggedRequest

SAMPLE = PROJECT_ROOT / "data" / "contacts" / "sample.jsonl"

# What llama_cpp.server drops from a request before `Llama.create_chat_completion(**rest)` (server/app.py, 0.3.36).
_SERVER_EXCLUDES = {"n", "logit_bias_type", "user", "min_tokens"}


def load() -> str:
    """The 1/5/15-minute load average, to print beside every figure (2 cores shared with other engineers)."""
    return "load {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())


def sample_contacts(count: int | None = None, *, path: Path = SAMPLE) -> list[Interaction]:
    """The first `count` real contacts of data/contacts/sample.jsonl (all 48 when None)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return [Interaction.model_validate_json(line) for line in lines[:count]]


@dataclass
class Bench:
    """A scratch store and the night's settings, for one benchmark run."""

    settings: Settings
    store: Store
    folder: Path

    @classmethod
    def open(cls, settings: Settings | None = None) -> Bench:
        folder = Path(tempfile.mkdtemp(prefix="cx-bench-"))
        return cls(settings=settings or Settings(), store=Store(folder / "store.sqlite"), folder=folder)

    def redact(self, interactions: list[Interaction]) -> list[Interaction]:
        """Redacted (and cut to `max_transcript_tokens`) exactly as the nightly's redact stage does."""
        return prepare_contacts(interactions, store=self.store, run_id="bench", enabled=self.settings.redact,
                             max_tokens=self.settings.max_transcript_tokens)

    def draft(self, interactions: list[Interaction], *, llm, settings: Settings | None = None,
              run_id: str = "bench") -> Counter:
        """`cx_worker.run.draft` as the nightly calls it (a fresh `Bench` per run: stored work is reused)."""
        settings = settings or self.settings
        return draft(interactions, llm=llm, settings=settings,
                            dispositions=load_dispositions(settings.dispositions), store=self.store, run_id=run_id)


def captured_requests(interactions: list[Interaction], *, settings: Settings) -> dict[str, list[LoggedRequest]]:
    """The requests `run.draft` sends for each contact (by id), recorded by the instant endpoint: the same bodies
    it sends any endpoint, since only the base URL differs."""
    by_transcript = {_delimited(i).strip(): i.id for i in interactions}
    with FaultLLM() as endpoint:
        local = settings.model_copy(update={"llm_base_url": endpoint.base_url})
        Bench.open(local).draft(interactions, llm=build_llm(local))
    out: dict[str, list[LoggedRequest]] = {i.id: [] for i in interactions}
    for request in endpoint.requests:
        out[by_transcript[request.contact]].append(request)
    return out


def gguf(settings: Settings) -> Path:
    """The embedded model's verified GGUF, joined from the weight packages if needed."""
    return ensure_weights(settings.models_dir)


def server_kwargs(body: dict) -> dict:
    """The arguments llama_cpp.server passes to `Llama.create_chat_completion` for this request body: its own
    defaults fill what the body leaves out (repeat_penalty 1.1 where the in-process method defaults to 1.0, ...),
    and fields it does not know are dropped (`max_completion_tokens`: see `bench/tokens.py`)."""
    from llama_cpp.server.types import CreateChatCompletionRequest

    kwargs = CreateChatCompletionRequest(**body).model_dump(exclude=_SERVER_EXCLUDES)
    kwargs.pop("stream", None)
    return kwargs


def raw_llama(settings: Settings, **options):
    """`llama_cpp.Llama` on the same GGUF with the embedded server's threads, context and chat format."""
    import llama_cpp

    return llama_cpp.Llama(model_path=str(gguf(settings)), n_threads=settings.llm_threads,
                           n_threads_batch=settings.llm_threads, n_ctx=settings.llm_context,
                           chat_format=CHAT_FORMAT, verbose=False, **options)


class Prompts:
    """The model's own chat template and tokenizer (vocab-only load: ~1 s, no weights), to count real tokens."""

    def __init__(self, settings: Settings) -> None:
        import llama_cpp
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        self.llama = llama_cpp.Llama(model_path=str(gguf(settings)), vocab_only=True, verbose=False)
        eos, bos = self.llama.token_eos(), self.llama.token_bos()  # as `Llama.__init__` builds its handler
        text = self.llama._model.token_get_text
        self._formatter = Jinja2ChatFormatter(
            template=self.llama.metadata["tokenizer.chat_template"], eos_token=text(eos) if eos != -1 else "",
            bos_token=text(bos) if bos != -1 else "", stop_token_ids=[eos])

    def text(self, body: dict, *, tools: bool = True) -> tuple[str, bool]:
        """The prompt the server renders for a request body (as `chat_formatter_to_chat_completion_handler`)."""
        kwargs = server_kwargs(body)
        result = self._formatter(messages=kwargs["messages"], tools=kwargs["tools"] if tools else None,
                                 tool_choice=kwargs["tool_choice"] if tools else None)
        return result.prompt, result.added_special

    def tokens(self, body: dict, *, tools: bool = True) -> list[int]:
        prompt, added_special = self.text(body, tools=tools)
        return self.llama.tokenize(prompt.encode("utf-8"), add_bos=not added_special, special=True)

    def count(self, text: str) -> int:
        return len(self.llama.tokenize(text.encode("utf-8"), add_bos=False, special=False))


def common_prefix(items: list) -> int:
    """Length of the prefix all `items` (strings, bytes or token lists) share."""
    first = min(items, key=len)
    for n in range(len(first)):
        if any(item[n] != first[n] for item in items):
            return n
    return len(first)


def stats(values: list[float]) -> str:
    ordered = sorted(values)
    median = ordered[len(ordered) // 2] if len(ordered) % 2 else sum(ordered[len(ordered) // 2 - 1:][:2]) / 2
    return f"min {ordered[0]:.0f}, median {median:.0f}, max {ordered[-1]:.0f}"
