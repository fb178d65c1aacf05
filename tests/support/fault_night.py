"""A night of real contacts against the fault-injecting endpoint, through the `cx_worker.run` stages (no Prefect).

Shared by `tests/system/test_llm_faults.py` (which asserts on the figures) and `bench/faults.py` (which prints them).
The contacts are real (the exemplar set's ABCD chats and TweetSumm tweets); the LLM is `FaultLLM`.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from cx_worker.delivery.crm import Crm
from cx_worker.delivery.write_back import write_back
from cx_worker.drafting.after_call_work import _delimited, load_dispositions, prompt_hash
from cx_worker.drafting.draft import draft
from cx_worker.drafting.prepare import prepare_contacts
from cx_worker.ingest.pull import advance_watermark, pull
from cx_worker.llm.client import build_llm
from cx_worker.settings import Settings
from cx_worker.store import Ledger, Store
from tests.support.fault_llm import TRANSPORT_FAULTS, FaultLLM
from tests.support.paths import PROJECT_ROOT

EXEMPLARS = PROJECT_ROOT / "evals" / "datasets" / "exemplars.jsonl"


@dataclass
class FaultNight:
    """What happened to every contact of a fault night."""

    contacts: int
    wall_seconds: float
    faults: Counter  # requests per fault kind ("ok" included)
    requests: int
    drafted: Counter  # run.draft's counts: drafted, repaired, failed
    notes: int
    unique_notes: int
    quarantined: dict[str, str]  # contact id -> reason (after-call-work stage)
    with_work: set[str]
    lost: list[str]  # contacts with neither after-call work nor a quarantine row
    both: list[str]  # contacts with both (must not happen)
    recovered_by_retry: int  # got a transport fault, ended with valid work without a repair
    recovered_by_repair: int
    quarantine_reasons: Counter = field(default_factory=Counter)
    per_contact_faults: Counter = field(default_factory=Counter)

    def lines(self) -> list[str]:
        kinds = ", ".join(f"{k} {v}" for k, v in sorted(self.faults.items()) if k != "ok")
        return [
            f"contacts {self.contacts}, LLM requests {self.requests} (faults: {kinds}; ok {self.faults['ok']})",
            f"drafted first time {self.drafted.get('drafted', 0)}, after one repair {self.drafted.get('repaired', 0)}, "
            f"quarantined {len(self.quarantined)}",
            f"contacts that met a transport fault and recovered by SDK retry: {self.recovered_by_retry}; "
            f"recovered by the repair re-ask: {self.recovered_by_repair}",
            "quarantine reasons: " + "; ".join(f"{k} {v}" for k, v in self.quarantine_reasons.most_common()),
            f"CRM notes {self.notes} (unique contacts {self.unique_notes}); lost {len(self.lost)}; "
            f"both drafted and quarantined {len(self.both)}",
            f"wall time {self.wall_seconds:.1f} s",
        ]


def real_contacts(count: int) -> list[dict]:
    """The first `count` real contacts of the exemplar set, as canonical interaction dicts."""
    out = []
    with EXEMPLARS.open() as fh:
        for line in fh:
            out.append(json.loads(line)["interaction"])
            if len(out) == count:
                break
    return out


def run_fault_night(
    folder: Path, *, contacts: int = 200, fault_rate: float = 0.2, seed: int = 6, concurrency: int = 4,
    timeout: float = 2.0, slow_seconds: float = 3.0, max_retries: int = 2,
) -> FaultNight:
    """Run pull → redact → after-call work → CRM write-back over `contacts` real contacts at `fault_rate`."""
    source = folder / "in"
    source.mkdir(parents=True, exist_ok=True)
    (source / "night.jsonl").write_text("".join(json.dumps(c) + "\n" for c in real_contacts(contacts)))
    with FaultLLM(fault_rate=fault_rate, seed=seed, slow_seconds=slow_seconds, retry_after="1") as llm_server:
        settings = Settings(source=source, data_dir=folder / "cx", llm_base_url=llm_server.base_url,
                            llm_timeout=timeout, llm_max_retries=max_retries, llm_concurrency=concurrency,
                            max_transcript_tokens=2800)
        store, crm = Store(settings.store_path), Crm(Ledger(settings.ledger_target))
        dispositions = load_dispositions(settings.dispositions)
        run_id = "fault-night"
        started = time.perf_counter()
        store.start_run(run_id, config={})
        pulled = pull(settings, store=store, run_id=run_id, limit=None)
        redacted = prepare_contacts(pulled.interactions, store=store, run_id=run_id, enabled=True,
                                 max_tokens=settings.max_transcript_tokens)
        drafted = draft(redacted, llm=build_llm(settings), settings=settings, dispositions=dispositions,
                               store=store, run_id=run_id)
        write_back(redacted, store=store, crm=crm, run_id=run_id, settings=settings,
                          dispositions=dispositions, hold=False)
        advance_watermark(settings, store=store, offsets=pulled.offsets)
        wall = time.perf_counter() - started
        requests = list(llm_server.requests)

    key = prompt_hash(dispositions)
    ids = [i.id for i in redacted]
    with_work = {i for i in ids if store.acw(i, prompt_hash=key, model=settings.llm_model) is not None}
    quarantined = {q.interaction_id: q.reason for q in store.quarantined(run_id=run_id)
                   if q.stage == "after_call_work"}
    notes = crm.notes()
    by_contact: dict[str | None, list] = {}
    for r in requests:
        by_contact.setdefault(r.contact, []).append(r)
    seen = {i.id: by_contact.get(_delimited(i).strip(), []) for i in redacted}
    assert all(seen.values()), "every contact reached the endpoint"
    repaired = {i for i in with_work if any(r.repair for r in seen[i])}
    retried = {i for i in with_work - repaired if any(r.fault in TRANSPORT_FAULTS for r in seen[i])}
    reasons = Counter(_reason_kind(r) for r in quarantined.values())
    return FaultNight(
        contacts=len(ids), wall_seconds=wall, faults=Counter(r.fault for r in requests), requests=len(requests),
        drafted=drafted, notes=len(notes), unique_notes=len({n.interaction_id for n in notes}),
        quarantined=quarantined, with_work=with_work, lost=sorted(set(ids) - with_work - set(quarantined)),
        both=sorted(with_work & set(quarantined)), recovered_by_retry=len(retried),
        recovered_by_repair=len(repaired), quarantine_reasons=reasons,
        per_contact_faults=Counter(sum(r.fault != "ok" for r in rs) for rs in seen.values()),
    )


def _reason_kind(reason: str) -> str:
    if "finish_reason=length" in reason:
        return "cut off (finish_reason=length)"
    if "after one repair" in reason:
        return "still invalid after the repair"
    if reason.startswith("LLM call failed"):
        return reason.split(":")[1].strip() + " after retries"
    return reason[:60]
