"""Tokens and LLM calls per contact: how big the after-call-work prompt is, and how much of it is the static prefix.

Run from the repository root: ``.venv/bin/python -m bench.tokens [--contacts 48] [--real 3]``.

The contacts (data/contacts/sample.jsonl) are redacted and cut as the nightly does, then drafted by
`cx_worker.run.draft` with default settings against the instant local endpoint (`tests/support/fault_llm.py`), which
records every request body: calls per contact come from that real draft run. Token counts use the embedded
model's own chat template and tokenizer (vocab-only GGUF load): the prompt is what llama.cpp renders from the
body, system prompt + tool schema (the `tools` of the body, which Qwen's template puts into the system turn) +
transcript, and is compared with our estimate (`cx_worker.drafting.context_limit.estimate_tokens`, as drafting
reserves it for
the rate limiter). `--real N` then drafts N contacts against the embedded server and reads `usage` back.

Targets: one call per contact; prompt <= transcript + 500 tokens; the static prefix (system prompt + tool schema)
first and byte-identical across contacts (its length is reported).
"""

from __future__ import annotations

import argparse
import json

from bench._common import Bench, Prompts, captured_requests, common_prefix, load, sample_contacts, stats
from cx_worker.drafting.after_call_work import _delimited, load_dispositions, prompt_hash
from cx_worker.drafting.context_limit import estimate_tokens
from cx_worker.llm.client import build_llm
from cx_worker.llm.server import EmbeddedServer


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=48, help="contacts of data/contacts/sample.jsonl")
    parser.add_argument("--real", type=int, default=3, help="contacts drafted by the embedded model (0: none)")
    args = parser.parse_args(argv)

    bench = Bench.open()
    contacts = bench.redact(sample_contacts(args.contacts))
    requests = captured_requests(contacts, settings=bench.settings)
    calls = [len(requests[c.id]) for c in contacts]
    print(f"calls per contact ({len(contacts)} contacts, run.draft against the instant endpoint): "
          f"{sum(calls)} requests, {stats(calls)} per contact  [{load()}]")

    prompts = Prompts(bench.settings)
    bodies = [requests[c.id][0].body for c in contacts]
    rows = []
    for contact, body in zip(contacts, bodies, strict=True):
        prompt = len(prompts.tokens(body))
        transcript = prompts.count(_delimited(contact))
        messages = "".join(m["content"] for m in body["messages"])
        rows.append({"prompt": prompt, "transcript": transcript, "over": prompt - transcript,
                     "estimate": estimate_tokens(messages),
                     "transcript_estimate": estimate_tokens(_delimited(contact))})
    first = bodies[0]
    system = prompts.count(first["messages"][0]["content"])
    tools = len(prompts.tokens(first)) - len(prompts.tokens(first, tools=False))
    schema_chars = len(json.dumps(first["tools"]))
    print(f"prompt tokens (model's tokenizer, tools included): {stats([r['prompt'] for r in rows])}")
    print(f"transcript tokens: {stats([r['transcript'] for r in rows])}")
    print(f"prompt - transcript: {stats([r['over'] for r in rows])} "
          f"(target <= 500: {'met' if max(r['over'] for r in rows) <= 500 else 'NOT met'})")
    print(f"  of which system prompt {system} tokens, tool schema + Qwen's tool instructions {tools} tokens "
          f"({schema_chars:,} characters of JSON), the user turn's wrapper and chat markup the rest")
    ratio = [r["estimate"] / r["prompt"] for r in rows]
    print(f"estimate_tokens(messages) / real prompt tokens: {stats([100 * x for x in ratio])} % "
          f"(the tool schema is not in the estimate); on the transcript alone: "
          f"{stats([100 * r['transcript_estimate'] / r['transcript'] for r in rows])} %")

    # The static prefix: byte-identical request parts and rendered prompt, across every contact.
    raws = [requests[c.id][0].raw for c in contacts]
    same = {part: all(b[part] == first[part] for b in bodies) for part in ("tools", "tool_choice")}
    same["system message"] = all(b["messages"][0] == first["messages"][0] for b in bodies)
    rendered = [prompts.text(b)[0] for b in bodies]
    tokens = [prompts.tokens(b) for b in bodies]
    shared_chars, shared_tokens = common_prefix(rendered), common_prefix(tokens)
    body_prefix = common_prefix(raws)
    print("identical across all contacts: " + ", ".join(f"{k} {'yes' if v else 'NO'}" for k, v in same.items()))
    print(f"rendered prompt: the first {shared_chars:,} characters = {shared_tokens} tokens are byte-identical "
          f"across {len(contacts)} contacts (system prompt + tool schema first; it ends at "
          f"{rendered[0][shared_chars - 30:shared_chars]!r}); that is "
          f"{stats([100 * shared_tokens / len(t) for t in tokens])} % of each prompt")
    print(f"request body (JSON as sent): byte-identical for the first {body_prefix:,} bytes "
          f"(to {raws[0][body_prefix - 30:body_prefix].decode(errors='replace')!r}); `tools` comes after the "
          f"messages in the body, so the body's shared prefix is the system message, the template's is both")
    print(f"max_completion_tokens sent: {first.get('max_completion_tokens')}, max_tokens sent: "
          f"{first.get('max_tokens')} (llama_cpp.server reads only max_tokens)")

    if args.real:
        _real(bench, contacts[:args.real], prompts=prompts)


def _real(bench: Bench, contacts: list, *, prompts: Prompts) -> None:
    """Draft a few contacts against the embedded server and compare its usage with our token counts."""
    settings = bench.settings
    key = prompt_hash(load_dispositions(settings.dispositions))
    requests = captured_requests(contacts, settings=settings)
    with EmbeddedServer(settings) as server:
        real = Bench.open(settings)
        counts = real.draft(contacts, llm=build_llm(settings, base_url=server.base_url))
    print(f"embedded model, {len(contacts)} contacts: {dict(counts)}  [{load()}]")
    for contact in contacts:
        row = real.store.acw(contact.id, prompt_hash=key, model=settings.llm_model)
        ours = len(prompts.tokens(requests[contact.id][0].body))
        if row is None:
            reasons = [q["reason"] for q in real.store.quarantined() if q["interaction_id"] == contact.id]
            print(f"  {contact.id}: no after-call work, quarantined: {'; '.join(reasons)[:300]}")
            continue
        print(f"  {contact.id}: usage prompt_tokens {row['prompt_tokens']} (our count {ours}), "
              f"completion_tokens {row['completion_tokens']}, {row['seconds']:.1f} s  [{load()}]")


if __name__ == "__main__":
    main()
