"""Our run's concurrent LLM calls vs a naive sequential LangChain loop, against an endpoint that serves 8 at once.

Run from the repository root: ``.venv/bin/python -m bench.concurrency [--contacts 64] [--latency 1.0] [--slots 8]
[--curve 1,4,8,16] [--instant 3000] [--embedded 0]``. ~3 minutes with the defaults.

The endpoint is the instant local one of the tests (`tests/support/fault_llm.py`) with no faults, `--latency`
seconds of "generation" per answer and at most `--slots` answers generated at once (more wait their turn, like
`llama-server --parallel 8`). The contacts are real (the exemplar set's ABCD chats and TweetSumm tweets), redacted
as the run does.

- **ours**: `cx_worker.run.draft` with `Settings(llm_concurrency=K)` for each K of `--curve`;
- **naive**: `for contact in contacts: llm.with_structured_output(model, method="function_calling").invoke(messages)`.

Also: `--instant N` requests to the same endpoint with no latency and no slot limit, from 8 threads (the instant
endpoint's own requests/s, client in the same process: a lower bound), and our run over the contacts against it
(what the run itself costs per contact); `--embedded N` drafts N contacts against the embedded llama.cpp server one
at a time, then 2 at a time (slow: ~35 s a contact on 2 cores).

Target: ours at 8 >= 0.8 x 8 = 6.4 x the naive loop's contacts/s where the endpoint serves 8 at once.
"""

from __future__ import annotations

import argparse
import http.client
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlparse

from bench._common import Bench, captured_requests, load, sample_contacts
from cx_worker.drafting.after_call_work import build_messages, load_dispositions, output_model
from cx_worker.llm.client import build_llm
from cx_worker.llm.server import EmbeddedServer
from cx_worker.models import Interaction
from cx_worker.settings import Settings
from tests.support.fault_llm import FaultLLM
from tests.support.fault_night import real_contacts


def naive_loop(contacts: list[Interaction], *, settings: Settings) -> float:
    """Seconds for the plain sequential loop a first version would write."""
    dispositions = load_dispositions(settings.dispositions)
    model = output_model(tuple(d.code for d in dispositions))
    llm = build_llm(settings)
    started = time.perf_counter()
    for contact in contacts:
        messages = build_messages(contact, dispositions=dispositions, language=settings.crm_language)
        llm.with_structured_output(model, method="function_calling").invoke(messages)
    return time.perf_counter() - started


def ours(contacts: list[Interaction], *, settings: Settings, concurrency: int) -> tuple[float, dict]:
    """Seconds for `run.draft` at `concurrency` calls in flight, and its counts (a fresh store: nothing reused)."""
    local = settings.model_copy(update={"llm_concurrency": concurrency})
    bench = Bench.open(local)
    started = time.perf_counter()
    counts = bench.draft(contacts, llm=build_llm(local))
    return time.perf_counter() - started, dict(counts)


def endpoint_rate(base_url: str, body: bytes, *, requests: int, threads: int = 8) -> float:
    """Requests per second the endpoint answers, `threads` keep-alive connections posting `body`."""
    address = urlparse(base_url)

    def worker(count: int) -> None:
        connection = http.client.HTTPConnection(address.hostname, address.port)
        for _ in range(count):
            connection.request("POST", address.path + "/chat/completions", body=body,
                               headers={"Content-Type": "application/json"})
            response = connection.getresponse()
            response.read()
            assert response.status == 200
        connection.close()

    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(worker, [requests // threads + (i < requests % threads) for i in range(threads)]))
    return requests / (time.perf_counter() - started)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=64)
    parser.add_argument("--latency", type=float, default=1.0, help="seconds each answer takes")
    parser.add_argument("--slots", type=int, default=8, help="answers the endpoint generates at once")
    parser.add_argument("--curve", default="1,4,8,16", help="llm_concurrency values of our run")
    parser.add_argument("--instant", type=int, default=3000, help="requests to the instant endpoint (0: skip)")
    parser.add_argument("--embedded", type=int, default=0, help="contacts against the embedded server (0: skip)")
    args = parser.parse_args(argv)

    bench = Bench.open()
    contacts = bench.redact([Interaction.model_validate(c) for c in real_contacts(args.contacts)])
    curve = [int(k) for k in args.curve.split(",")]
    print(f"{len(contacts)} real contacts; endpoint: {args.latency:.2f} s an answer, {args.slots} at once  [{load()}]")
    with FaultLLM(latency=args.latency, slots=args.slots) as endpoint:
        settings = bench.settings.model_copy(update={"llm_base_url": endpoint.base_url})
        naive = len(contacts) / naive_loop(contacts, settings=settings)
        print(f"naive sequential loop: {naive:.2f} contacts/s  [{load()}]", flush=True)
        for k in curve:
            endpoint.peak_busy = 0
            seconds, counts = ours(contacts, settings=settings, concurrency=k)
            rate, ideal = len(contacts) / seconds, min(k, args.slots)
            verdict = f" (target >= {0.8 * ideal:.1f}x: {'met' if rate / naive >= 0.8 * ideal else 'NOT met'})" \
                if k == args.slots else ""
            print(f"ours, llm_concurrency={k:>2}: {seconds:6.2f} s, {rate:5.2f} contacts/s, speed-up "
                  f"{rate / naive:5.2f}x vs naive, efficiency {rate / naive / ideal:.0%} of the ideal {ideal}x"
                  f"{verdict}; at most {endpoint.peak_busy} generating at once; {counts}  [{load()}]", flush=True)

    if args.instant:
        body = next(iter(captured_requests(contacts[:1], settings=bench.settings).values()))[0].raw
        with FaultLLM() as endpoint:
            rate = endpoint_rate(endpoint.base_url, body, requests=args.instant)
            print(f"instant endpoint: {args.instant} real request bodies ({len(body):,} bytes) from 8 keep-alive "
                  f"connections: {rate:,.0f} requests/s  [{load()}]")
            settings = bench.settings.model_copy(update={"llm_base_url": endpoint.base_url})
            for k in (1, 8):
                seconds, counts = ours(contacts, settings=settings, concurrency=k)
                print(f"ours against it, llm_concurrency={k}: {len(contacts) / seconds:.1f} contacts/s "
                      f"({1000 * seconds / len(contacts):.1f} ms a contact of our own work); {counts}  [{load()}]")

    if args.embedded:
        _embedded(bench, sample_contacts(args.embedded + 1))


def _embedded(bench: Bench, contacts: list[Interaction]) -> None:
    """The real model: 1 vs 2 calls in flight against the embedded single-slot server (first contact: warm-up)."""
    contacts = bench.redact(contacts)
    with EmbeddedServer(bench.settings) as server:
        settings = bench.settings.model_copy(update={"llm_base_url": server.base_url})
        ours(contacts[:1], settings=settings, concurrency=1)
        for k in (1, 2):
            seconds, counts = ours(contacts[1:], settings=settings, concurrency=k)
            print(f"embedded server, llm_concurrency={k}: {len(contacts) - 1} contacts in {seconds:.1f} s, "
                  f"{(len(contacts) - 1) / seconds * 60:.2f} contacts/min; {counts}  [{load()}]", flush=True)


if __name__ == "__main__":
    main()
