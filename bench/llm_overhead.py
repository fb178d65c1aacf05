"""Our after-call-work stage against the embedded LLM vs raw llama.cpp on the same prompts: the overhead we add.

Run from the repository root: ``.venv/bin/python -m bench.llm_overhead [--contacts 4] [--logits-all]``.
Takes ~2 × (N + 1) × 30–40 s on 2 cores, plus the server start.

- **ours**: `cx_worker.run.draft` (default settings, one contact a call) against `EmbeddedServer`, the
  `python -m llama_cpp.server` the nightly starts; contacts from data/contacts/sample.jsonl, redacted as the run does.
- **raw**: `llama_cpp.Llama` in this process, same GGUF, threads, context and chat format, `create_chat_completion`
  with the request body our run sends (recorded from the same draft against the instant endpoint: messages, tools,
  forced tool_choice, temperature 0), filled in with llama_cpp.server's defaults exactly as the server fills it.

Both sides are warmed up on the same extra contact (so both hold the same prefix in their KV cache), then the timed
contacts alternate which side goes first. Server start and model load are reported apart, not in the ratio. The
difference is split into LangChain + validation + store (draft minus the model call, timed by a LangChain
callback), HTTP + FastAPI (the model call minus the server's llama.cpp time, read from its log, minus the
template/grammar work raw does too) and the engine (the server's llama.cpp time minus raw's).

Target: ours / raw <= 1.10 (per contact, server start excluded).
"""

from __future__ import annotations

import argparse
import json
import re
import time
from pathlib import Path

from langchain_core.callbacks import BaseCallbackHandler

from bench._common import Bench, captured_requests, load, raw_llama, sample_contacts, server_kwargs
from cx_worker.drafting.after_call_work import load_dispositions, prompt_hash
from cx_worker.llm.client import build_llm
from cx_worker.llm.server import EmbeddedServer
from cx_worker.settings import Settings

_PERF = re.compile(r"llama_perf_context_print:\s+(prompt eval|eval|total) time =\s+([\d.]+) ms /\s+(\d+)")


class _ModelCallTimer(BaseCallbackHandler):
    """Seconds spent inside the chat model's calls (LangChain message conversion, openai client, HTTP, server)."""

    def __init__(self) -> None:
        self.seconds, self._start = 0.0, 0.0

    def on_chat_model_start(self, *args, **kwargs) -> None:
        self._start = time.perf_counter()

    def on_llm_end(self, *args, **kwargs) -> None:
        self.seconds += time.perf_counter() - self._start


def _server_perf(log: Path, offset: int) -> dict:
    """llama.cpp's own timings of the last request, from what the server printed after `offset`."""
    with log.open("rb") as fh:
        fh.seek(offset)
        text = fh.read().decode(errors="replace")
    found: dict[str, list[tuple[float, int]]] = {}
    for kind, ms, n in _PERF.findall(text):  # more than one completion: the SDK retried after its timeout
        found.setdefault(kind, []).append((float(ms) / 1000, int(n)))
    return {"engine": sum(s for s, _ in found["total"]), "completions": len(found["total"]),
            "prompt_evaluated": found["prompt eval"][0][1], "prompt_eval": sum(s for s, _ in found["prompt eval"]),
            "eval": sum(s for s, _ in found["eval"])}


class _Sides:
    """The two sides, each drafting one contact at a time."""

    def __init__(self, bench: Bench, bodies: dict[str, dict], *, logits_all: bool) -> None:
        self.bench, self.bodies, self.settings = bench, bodies, bench.settings
        self.key = prompt_hash(load_dispositions(self.settings.dispositions))
        started = time.perf_counter()
        self.server = EmbeddedServer(self.settings)
        self.server.start()
        self.server_start = time.perf_counter() - started
        self.timer = _ModelCallTimer()
        self.llm = build_llm(self.settings, base_url=self.server.base_url)
        self.llm.callbacks = [self.timer]
        started = time.perf_counter()
        self.raw = raw_llama(self.settings, **({"logits_all": True} if logits_all else {}))
        self.raw_load = time.perf_counter() - started

    def ours(self, contact) -> dict:
        offset = self.server.log_path.stat().st_size
        self.timer.seconds = 0.0
        started = time.perf_counter()
        counts = self.bench.draft([contact], llm=self.llm)
        wall = time.perf_counter() - started
        row = self.bench.store.acw(contact.id, prompt_hash=self.key, model=self.settings.llm_model) or {}
        return {"wall": wall, "call": self.timer.seconds, **_server_perf(self.server.log_path, offset),
                "status": ",".join(counts), "prompt_tokens": row.get("prompt_tokens"),
                "completion_tokens": row.get("completion_tokens"), "output": row.get("output")}

    def raw_call(self, contact) -> dict:
        import llama_cpp

        kwargs = server_kwargs(self.bodies[contact.id])
        self.raw._ctx.reset_timings()
        started = time.perf_counter()
        response = self.raw.create_chat_completion(**kwargs)
        wall, now_ms = time.perf_counter() - started, time.monotonic() * 1000  # ggml's clock is CLOCK_MONOTONIC too
        perf = llama_cpp.llama_perf_context(self.raw._ctx.ctx)
        call = response["choices"][0]["message"]["tool_calls"][0]["function"]
        return {"wall": wall, "engine": (now_ms - perf.t_start_ms) / 1000, "prompt_evaluated": perf.n_p_eval,
                "prompt_eval": perf.t_p_eval_ms / 1000, "eval": perf.t_eval_ms / 1000,
                "prompt_tokens": response["usage"]["prompt_tokens"],
                "completion_tokens": response["usage"]["completion_tokens"], "output": json.loads(call["arguments"])}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=4, help="timed contacts (one more is the warm-up)")
    parser.add_argument("--logits-all", action="store_true",
                        help="load raw llama.cpp with logits_all=True, as llama_cpp.server does by default")
    parser.add_argument("--timeout", type=float, help="seconds before our request times out and the SDK retries "
                        "(default: CX_LLM_TIMEOUT, 180); raise it on a loaded machine, where one call can take longer")
    parser.add_argument("--json", type=Path, help="also write the per-contact figures here")
    args = parser.parse_args(argv)

    bench = Bench.open(Settings(llm_timeout=args.timeout) if args.timeout else None)
    contacts = bench.redact(sample_contacts(args.contacts + 1))
    requests = captured_requests(contacts, settings=bench.settings)
    bodies = {c.id: requests[c.id][0].body for c in contacts}
    s = bench.settings
    print(f"{args.contacts} contacts (+1 warm-up), {s.llm_model}, threads {s.llm_threads}, n_ctx {s.llm_context}, "
          f"timeout {s.llm_timeout:.0f} s, raw logits_all={args.logits_all}  [{load()}]", flush=True)
    sides = _Sides(bench, bodies, logits_all=args.logits_all)
    rows = []
    try:
        print(f"server start {sides.server_start:.1f} s; raw model load {sides.raw_load:.1f} s  [{load()}]", flush=True)
        warm = (sides.ours(contacts[0]), sides.raw_call(contacts[0]))
        print(f"warm-up {contacts[0].id}: ours {warm[0]['wall']:.1f} s, raw {warm[1]['wall']:.1f} s  [{load()}]",
              flush=True)
        for n, contact in enumerate(contacts[1:]):
            if n % 2:
                raw = sides.raw_call(contact)
                ours = sides.ours(contact)
            else:
                ours = sides.ours(contact)
                raw = sides.raw_call(contact)
            rows.append({"id": contact.id, "ours": ours, "raw": raw, "load": load()})
            print(_line(rows[-1]), flush=True)
    finally:
        sides.server.stop()
    _summary(rows)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1, default=str) + "\n")
    return {"rows": rows}


def _line(row: dict) -> str:
    ours, raw = row["ours"], row["raw"]
    same = "same" if ours["output"] and ours["output"].get("summary") == raw["output"].get("summary") else "DIFFERENT"
    retried = f", {ours['completions']} completions: SDK timeout + retry" if ours["completions"] > 1 else ""
    return (f"{row['id']}: ours {ours['wall']:.1f} s ({ours['status']}; model call {ours['call']:.1f} s, server "
            f"llama.cpp {ours['engine']:.1f} s{retried}) vs raw {raw['wall']:.1f} s "
            f"(llama.cpp {raw['engine']:.1f} s) = "
            f"{ours['wall'] / raw['wall']:.3f}x; tokens prompt {ours['prompt_tokens']}/{raw['prompt_tokens']} "
            f"(evaluated {ours['prompt_evaluated']}/{raw['prompt_evaluated']}), completion "
            f"{ours['completion_tokens']}/{raw['completion_tokens']}; summary {same}  [{row['load']}]")


def _summary(rows: list[dict]) -> None:
    if not rows:
        return
    total = {side: {k: sum(r[side][k] for r in rows) for k in ("wall", "engine", "prompt_eval", "eval")}
             for side in ("ours", "raw")}
    call = sum(r["ours"]["call"] for r in rows)
    tokens = {side: sum(r[side]["completion_tokens"] or 0 for r in rows) for side in ("ours", "raw")}
    n, ratio = len(rows), total["ours"]["wall"] / total["raw"]["wall"]
    print(f"per contact: ours {total['ours']['wall'] / n:.2f} s, raw {total['raw']['wall'] / n:.2f} s; "
          f"ratio {ratio:.3f} (target <= 1.10: {'met' if ratio <= 1.10 else 'NOT met'})  [{load()}]")
    per_token = total['ours']['wall'] / max(tokens['ours'], 1) / (total['raw']['wall'] / max(tokens['raw'], 1))
    print(f"completion tokens: ours {tokens['ours']}, raw {tokens['raw']}; per generated token ours "
          f"{1000 * total['ours']['wall'] / max(tokens['ours'], 1):.0f} ms, raw "
          f"{1000 * total['raw']['wall'] / max(tokens['raw'], 1):.0f} ms "
          f"(ratio {per_token:.3f})")
    raw_outside = total["raw"]["wall"] - total["raw"]["engine"]  # chat template, grammar, tokenising: both sides do it
    parts = {"LangChain + validation + store (draft - model call)": total["ours"]["wall"] - call,
             "HTTP + openai client + FastAPI (model call - server engine - raw's template/grammar)":
                 call - total["ours"]["engine"] - raw_outside,
             "engine (server's llama.cpp - raw's)": total["ours"]["engine"] - total["raw"]["engine"]}
    extra = total["ours"]["wall"] - total["raw"]["wall"]
    print(f"overhead per contact {extra / n:+.2f} s, of which:")
    for name, seconds in parts.items():
        print(f"  {name}: {seconds / n:+.2f} s")
    for side in ("ours", "raw"):
        print(f"  {side}: prompt eval {total[side]['prompt_eval'] / n:.2f} s, "
              f"generation {total[side]['eval'] / n:.2f} s, "
              f"llama.cpp total {total[side]['engine'] / n:.2f} s per contact")


if __name__ == "__main__":
    main()
