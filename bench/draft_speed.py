"""Seconds a contact on the embedded model, against plain decoding of the same number of output tokens.

Run from the repository root: ``.venv/bin/python -m bench.draft_speed [--contacts 6] [--variants off,8]``.

For each variant (a value of `llm_draft_tokens`: ``off`` or the number of tokens prompt lookup guesses a step) an
`EmbeddedServer` is started as the nightly starts it, and every contact (the bundled sample, redacted as the run
does) is drafted through our real path (`write_after_call_work`: LangChain, HTTP, the server, grammar, validation,
output check). The variants take turns on each contact, so load changes hit them alike; each server keeps its own
prompt cache, as a night's server does.

Plain decoding is llama.cpp's own speed on this model at this moment: `llama_cpp.Llama` in this process (same
GGUF, threads, context), generating freely from a short prompt with no grammar and no draft; measured before and
after the contacts. The ratio of a contact is its seconds over (its output tokens / that speed). Target: <= 1.5
(prompt evaluation, grammar and our own code all inside the margin). Outputs are compared with the first
variant's: greedy decoding must give the same after-call work.

Every figure carries the load average: two shared cores, so run it alone.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

from bench._common import Bench, load, raw_llama, sample_contacts
from cx_worker.drafting.after_call_work import load_dispositions, write_after_call_work
from cx_worker.llm.client import build_llm
from cx_worker.llm.server import EmbeddedServer
from cx_worker.settings import Settings

_STORY = "Write a long story about a lighthouse keeper who finds a message in a bottle."


def plain_decoding(settings: Settings, *, tokens: int = 256) -> float:
    """Output tokens a second of llama.cpp decoding freely (no grammar, no draft): the machine's limit now."""
    llm = raw_llama(settings)
    try:
        llm.create_completion(_STORY, max_tokens=8, temperature=0)  # load and warm
        started = time.perf_counter()
        out = llm.create_completion(_STORY + " ", max_tokens=tokens, temperature=0)
        elapsed = time.perf_counter() - started
        return out["usage"]["completion_tokens"] / elapsed
    finally:
        del llm


def _variant_settings(base: Settings, variant: str) -> Settings:
    return base.model_copy(update={"llm_draft_tokens": 0 if variant == "off" else int(variant)})


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=6, help="timed contacts (one more warms each server up)")
    parser.add_argument("--variants", default="off,8", help="llm_draft_tokens values: off or a number")
    parser.add_argument("--json", help="write the per-contact figures here")
    args = parser.parse_args(argv)
    bench = Bench.open()
    s = bench.settings
    variants = args.variants.split(",")
    contacts = bench.redact(sample_contacts(args.contacts + 1))
    dispositions = load_dispositions(s.dispositions)
    print(f"{args.contacts} contacts (+1 warm-up), {s.llm_model}, threads {s.llm_threads}, variants {variants}  "
          f"[{load()}]", flush=True)
    speed_before = plain_decoding(s)
    print(f"plain decoding: {speed_before:.1f} tokens/s  [{load()}]", flush=True)
    servers, llms = {}, {}
    rows: dict[str, list[dict]] = {v: [] for v in variants}
    try:
        for v in variants:
            vs = _variant_settings(s, v)
            started = time.perf_counter()
            servers[v] = EmbeddedServer(vs)
            servers[v].start()
            llms[v] = build_llm(vs.model_copy(update={"llm_timeout": 1800}), base_url=servers[v].base_url)
            print(f"server {v}: started in {time.perf_counter() - started:.1f} s  [{load()}]", flush=True)
        for n, contact in enumerate(contacts):
            order = variants if n % 2 == 0 else variants[::-1]
            for v in order:
                started = time.perf_counter()
                result = write_after_call_work(contact, llm=llms[v], model=s.llm_model, dispositions=dispositions,
                                               method=s.llm_structured_output)
                seconds = time.perf_counter() - started
                out = result.usage["completion_tokens"] or 0
                row = {"contact": contact.id, "seconds": seconds, "completion_tokens": out,
                       "prompt_tokens": result.usage["prompt_tokens"], "output": result.work.model_dump(),
                       "warm_up": n == 0, "load": load()}
                rows[v].append(row)
                print(f"{'warm-up ' if n == 0 else ''}{contact.id} [{v}] {seconds:.1f} s, {out} tokens out, "
                      f"{row['prompt_tokens']} in  [{row['load']}]", flush=True)
    finally:
        for server in servers.values():
            server.stop()
    speed_after = plain_decoding(s)
    speed = (speed_before + speed_after) / 2
    print(f"plain decoding after: {speed_after:.1f} tokens/s; used {speed:.1f}  [{load()}]")
    first = variants[0]
    summary = {}
    for v in variants:
        timed = [r for r in rows[v] if not r["warm_up"]]
        ratios = [r["seconds"] / (r["completion_tokens"] / speed) for r in timed if r["completion_tokens"]]
        same = sum(r["output"] == f["output"] for r, f in zip(rows[v], rows[first], strict=True))
        summary[v] = {"seconds_per_contact": statistics.mean(r["seconds"] for r in timed),
                      "tokens_out": statistics.mean(r["completion_tokens"] for r in timed),
                      "ratio_to_plain": statistics.mean(ratios), "ratio_max": max(ratios),
                      "same_output_as_" + first: f"{same}/{len(rows[v])}"}
        print(f"[{v}] {summary[v]['seconds_per_contact']:.1f} s a contact, {summary[v]['tokens_out']:.0f} tokens "
              f"out, ratio to plain decoding {summary[v]['ratio_to_plain']:.2f} (max {summary[v]['ratio_max']:.2f};"
              f" target <= 1.5), same output as [{first}] {same}/{len(rows[v])}  [{load()}]")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"plain_tokens_per_second": speed, "rows": rows, "summary": summary}, fh, indent=1)
    return summary


if __name__ == "__main__":
    main()
