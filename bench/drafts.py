"""How good are the embedded model's drafts, and which levers help? Summary quality against the extractive lead.

Run from the repository root (the embedded server is started if anything is not cached; ~40 s a contact on 2 cores):

    .venv/bin/python -m bench.drafts --split dev --variants all      # the baseline and each lever alone
    .venv/bin/python -m bench.drafts --split test --variants baseline,<what helped on dev>
    .venv/bin/python -m bench.drafts --list          # the variants and what each changes

Contacts: `evals/datasets/drafts_bench.jsonl` (`scripts/build_drafts_bench.py`; its `.md` says how they were
chosen): real TweetSumm dialogs with human summaries and ABCD chats with a reference disposition, split `dev` (for
trying levers) and `test` (for reporting them). `--limit N`: the first N of each source. Each contact is redacted
as the nightly does (`Bench.redact`) and drafted by the product's path, `after_call_work.write_after_call_work`
with `build_llm` (one call, one repair re-ask, the output check), per variant.

Per variant (the valid answers are the ones scored; invalid ones are counted, never scored as zero):
- ROUGE-L F1 of the summary against the best of the dialog's human summaries (`metrics.rouge_l`), mean and 95%
  bootstrap interval; the lead's ROUGE-L on the same dialogs; variant − lead and variant − baseline with paired
  bootstrap intervals. The lead: the first customer turn and the last agent turn of the redacted contact (their
  text, no speaker labels). Target (issue 19, on `test`): variant − lead ≥ +0.05.
- groundedness: share of summaries with no amount, date or id missing from the transcript (`ungrounded_facts`);
- attribution: share of summaries flagged by `attribution.check_attribution` among those with a clause naming an
  actor ("n/a" if the module does not import);
- disposition accuracy on ABCD (Wilson interval); valid-output share (incl. after the repair re-ask);
- cost: mean completion tokens (valid answers), seconds per contact, and the 1-minute load average while they
  were computed (2 shared cores: seconds mean little without it). Every printed line carries the current load.

Answers are cached under `--cache` (default `.cx/bench/drafts/`) by variant, model, contact id and a hash of the
request (messages, tool schema in its field order, sampling options): a re-run computes only what is missing, and a
changed prompt is measured afresh. Answers rejected by the product (`AcwError`) are cached; transport failures are
not. `--base-url URL` uses another OpenAI-compatible endpoint (set `CX_LLM_MODEL` to its model name).

Variants change one lever each, inside this process, for the length of a `with` block (`levers`): a prompt lever
replaces a function of `cx_worker.drafting.after_call_work` (`render_parts`, `_delimited`, `output_model`) by a
wrapper and puts the original back on exit; the sampling lever copies the client with other options. Nothing of
the product is edited. `a+b` combines levers (e.g. `who_did_what+example`).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from functools import lru_cache
from pathlib import Path

import numpy as np
from pydantic import create_model

from bench._common import Bench, load
from cx_worker.bundled import bundled_path
from cx_worker.drafting import after_call_work as acw
from cx_worker.drafting.questions import load_questions
from cx_worker.governance.estimates import wilson_interval
from cx_worker.governance.metrics import rouge_l, ungrounded_facts
from cx_worker.guard.outbound import batch_identifiers
from cx_worker.llm.client import build_llm
from cx_worker.llm.server import llm_endpoint
from cx_worker.models import Interaction, Turn, render_text
from cx_worker.settings import Settings

DATASET = bundled_path("datasets", "drafts_bench.jsonl")
TARGET = 0.05  # variant − lead, ROUGE-L, on test
BOOTSTRAP = 2000

# ---------------------------------------------------------------------------------------------------- the levers

WHO_DID_WHAT = (
    "- Say who did each thing: the customer or the agent. An agent asking the customer to do something is not the\n"
    "  customer doing it (\"asked the customer to restart\", not \"the customer restarted\").\n"
    "- What the customer says happened is the customer's claim: write \"the customer says ...\", not as a fact."
)
SUMMARY_RULE = "- The summary is 2-4 sentences: what the customer wanted, what was done, how the contact ended."
CUSTOMER_AGENT = (
    "- The summary is two or three sentences: first \"Customer ...\" (what the customer asked for or reported), "
    "then \"Agent ...\" (what the agent said or did, and how the contact ended), in the transcript's own words."
)
# A made-up contact (no real data) and its answer, in the fields of the output schema.
EXAMPLE_TURNS = (
    ("customer", "Hi, parcel 4471 shows delivered but it is not here."),
    ("agent", "Sorry about that. Could you check with your neighbours and reply here if it is still missing?"),
    ("customer", "I checked, nobody has it. I would like a refund please."),
    ("agent", "I have refunded the $25 to your card; it will show within 3-5 days."),
)
EXAMPLE_ANSWER = {
    "summary": "The customer said parcel 4471 was shown as delivered but had not arrived. The agent asked them to "
               "check with neighbours; the customer said nobody had it and asked for a refund. The agent refunded "
               "$25 to the card, due within 3-5 days.",
    "customer_intent": "refund for a missing parcel",
    "disposition": "refund_or_credit",
    "action_items": [],
    "crm_note": "Parcel 4471 marked delivered, not received. $25 refunded to card (3-5 days). No follow-up open.",
    "sentiment_start": "negative",
    "sentiment_end": "neutral",
    "emotional_risk": {"flag": False, "reason": ""},
    "handoff_context": "",
}


@contextmanager
def _replaced(name: str, value: object) -> Iterator[None]:
    """`after_call_work.<name>` replaced by `value` for the block, the original put back after."""
    original = getattr(acw, name)
    setattr(acw, name, value)
    try:
        yield
    finally:
        setattr(acw, name, original)


@contextmanager
def _system_added(text: Callable[[dict], str]) -> Iterator[None]:
    """The after-call-work system message with `text(context)` appended (after the rules)."""
    render = acw.render_parts

    def wrapped(name: str, **context: object) -> dict[str, str]:
        parts = render(name, **context)
        if name == acw.TEMPLATE:
            parts = {**parts, "system": parts["system"] + "\n" + text(context)}
        return parts

    with _replaced("render_parts", wrapped):
        yield


@contextmanager
def _system_replaced(old: str, new: str) -> Iterator[None]:
    """The after-call-work system message with the line `old` replaced by `new` (`old` must be there)."""
    render = acw.render_parts

    def wrapped(name: str, **context: object) -> dict[str, str]:
        parts = render(name, **context)
        if name == acw.TEMPLATE:
            if old not in parts["system"]:
                raise SystemExit(f"the system prompt no longer holds {old!r}")
            parts = {**parts, "system": parts["system"].replace(old, new)}
        return parts

    with _replaced("render_parts", wrapped):
        yield


@contextmanager
def baseline(llm):
    """The product as it is."""
    yield llm


@contextmanager
def who_did_what(llm):
    """Two more rules in the system prompt: say who did what; an agent's request is not the customer's act; what
    the customer says happened is their claim."""
    with _system_added(lambda _: WHO_DID_WHAT):
        yield llm


def _example(context: dict) -> str:
    codes = tuple(d.code for d in context["dispositions"])
    answer = dict(EXAMPLE_ANSWER, disposition="refund_or_credit" if "refund_or_credit" in codes else codes[0])
    model = acw.output_model(codes)  # at render time: the schema in force (summary_last reorders it)
    dumped = model.model_validate(answer).model_dump(mode="json", exclude={"answers"})
    # In the order llama.cpp's grammar will have the model write them: required fields first, in schema order.
    order = sorted(dumped, key=lambda n: not model.model_fields[n].is_required())
    shown = {n: dumped[n] for n in order}
    contact = Interaction(id="example", channel="chat", turns=[Turn(speaker=s, text=t) for s, t in EXAMPLE_TURNS])
    return ("\nExample (made up; it shows the form only, never take facts from it). Transcript:\n"
            f"{acw._delimited(contact)}\nAnswer ({model.__name__} arguments):\n"
            f"{json.dumps(shown, ensure_ascii=False)}")


@contextmanager
def customer_agent(llm):
    """The summary rule in the form of a contact-centre handover line (and of TweetSumm's human summaries):
    "Customer <asked or reported>. Agent <said or did, and how it ended>.", in the transcript's words, instead of
    "2-4 sentences: what the customer wanted, what was done, how the contact ended"."""
    with _system_replaced(SUMMARY_RULE, CUSTOMER_AGENT):
        yield llm


@contextmanager
def example(llm):
    """One short worked example in the system prompt, after the rules: a made-up 4-turn transcript (rendered as the
    transcript is) and its answer as JSON, fields in the order the grammar makes the model write them."""
    with _system_added(_example):
        yield llm


@lru_cache(maxsize=8)
def _summary_last_model(original: Callable, codes: tuple[str, ...], questions: tuple = ()):
    model = original(codes, questions)
    names = [n for n in model.model_fields if n != "summary"] + ["summary"]
    return create_model(model.__name__, __doc__=model.__doc__, __config__=model.model_config,
                        **{n: (model.model_fields[n].annotation, model.model_fields[n]) for n in names})


@contextmanager
def summary_last(llm):
    """The output schema with `summary` after the other fields (same fields, constraints and descriptions).

    Under llama.cpp's grammar the fields are generated in schema order, required ones first: intent, disposition,
    note, sentiments, risk, then the summary, then the optional action items and hand-off context."""
    original = acw.output_model
    with _replaced("output_model", lambda codes, questions=(): _summary_last_model(original, codes, questions)):
        yield llm


def _numbered(interaction: Interaction) -> str:
    # As `after_call_work._delimited`, with "[n] Speaker: text" lines.
    return "\n".join(f"[{n}] {t.speaker.capitalize()}: {render_text(t.text)}".replace("<<<", "‹‹‹")
                     .replace(">>>", "›››") for n, t in enumerate(interaction.turns, 1))


@contextmanager
def markers(llm):
    """Transcript turns numbered and capitalised: "[1] Customer: ..." instead of "customer: ..."."""
    with _replaced("_delimited", _numbered):
        yield llm


@contextmanager
def no_repeat_penalty(llm):
    """`repeat_penalty: 1.0` in the request body (ChatOpenAI `extra_body`): llama_cpp.server otherwise applies 1.1,
    which penalises copying recently seen tokens, e.g. the transcript's words into the summary."""
    yield llm.model_copy(update={"extra_body": {**(llm.extra_body or {}), "repeat_penalty": 1.0}})


VARIANTS = {f.__name__: f for f in (baseline, who_did_what, example, summary_last, markers, no_repeat_penalty,
                                    customer_agent)}


def lever_names(name: str) -> list[str]:
    """The levers of variant `name` ("a+b": both), in a fixed order; an unknown one stops the bench."""
    parts = name.split("+")
    unknown = [p for p in parts if p not in VARIANTS]
    if unknown:
        raise SystemExit(f"unknown variant {', '.join(unknown)}; known: {', '.join(VARIANTS)}")
    return sorted(set(parts), key=list(VARIANTS).index)


@contextmanager
def levers(name: str, llm):
    """The variant `name` (levers joined by "+") in force for the block; yields the client to draft with."""
    with ExitStack() as stack:
        for part in lever_names(name):
            llm = stack.enter_context(VARIANTS[part](llm))
        yield llm


# ------------------------------------------------------------------------------------------------------ drafting

def load_items(split: str, *, limit: int | None = None, path: Path = DATASET) -> list[dict]:
    """The split's records, the first `limit` of each source (all when None)."""
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    rows = [r for r in rows if r["split"] == split]
    seen: Counter = Counter()
    out = []
    for r in rows:
        seen[r["source"]] += 1
        if limit is None or seen[r["source"]] <= limit:
            out.append({**r, "interaction": Interaction.model_validate(r["interaction"])})
    return out


def lead(interaction: Interaction) -> str:
    """The extractive lead: the first customer turn and the last agent turn."""
    first = next((t.text for t in interaction.turns if t.speaker == "customer"), "")
    last = next((t.text for t in reversed(interaction.turns) if t.speaker == "agent"), "")
    return f"{render_text(first)} {render_text(last)}".strip()


def request_hash(interaction: Interaction, *, llm, settings: Settings, dispositions, questions) -> str:
    """Hash of what the first request carries under the levers in force: messages, the tool schema in its field
    order (the product's `prompt_hash` sorts its keys), the repair wording and the sampling options."""
    schema = acw.output_model(tuple(d.code for d in dispositions), questions).model_json_schema()
    json_mode = settings.llm_structured_output == "json_mode"
    messages = acw.build_messages(interaction, dispositions=dispositions, language=settings.crm_language,
                                  json_schema=schema if json_mode else None)
    payload = {"messages": [[m.type, m.content] for m in messages], "schema": schema,
               "method": settings.llm_structured_output, "repair": acw._repair_message(error="{}", tool="{}"),
               "options": {"model": llm.model_name, "temperature": llm.temperature, "max_tokens": llm.max_tokens,
                           "extra_body": llm.extra_body}}
    return hashlib.sha256(json.dumps(payload, ensure_ascii=False).encode()).hexdigest()[:16]


class AnswerCache:
    """Answers on disk, one JSONL file per variant and model, rows keyed by contact id and request hash."""

    def __init__(self, folder: Path, *, variant: str, model: str) -> None:
        self.path = folder / variant / (re.sub(r"[^\w.-]", "_", model) + ".jsonl")
        self.rows: dict[tuple[str, str], dict] = {}
        if self.path.exists():
            for line in self.path.read_text(encoding="utf-8").splitlines():
                row = json.loads(line)
                self.rows[row["id"], row["request"]] = row

    def get(self, contact_id: str, request: str) -> dict | None:
        return self.rows.get((contact_id, request))

    def put(self, row: dict) -> None:
        self.rows[row["id"], row["request"]] = row
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")


def _draft_one(contact: Interaction, *, llm, settings: Settings, dispositions, questions, known) -> dict:
    started = time.perf_counter()
    row: dict = {"id": contact.id}
    try:
        result = acw.write_after_call_work(
            contact, llm=llm, model=settings.llm_model, dispositions=dispositions,
            method=settings.llm_structured_output, language=settings.crm_language, known_identifiers=known,
            questions=questions)
        row.update(ok=True, work=result.work.model_dump(mode="json"), repaired=result.usage["repaired"],
                   completion_tokens=result.usage["completion_tokens"], prompt_tokens=result.usage["prompt_tokens"])
    except acw.AcwError as exc:  # the answer could not be used: the same request fails the same way, so cached
        row.update(ok=False, error=str(exc)[:400])
    except Exception as exc:  # transport: not the answer's fault, not cached
        row.update(ok=False, error=f"call failed: {type(exc).__name__}: {str(exc)[:300]}", transient=True)
    row.update(seconds=round(time.perf_counter() - started, 2), load=os.getloadavg()[0])
    return row


def draft_variants(variants: list[str], contacts: list[Interaction], *, settings: Settings, cache_dir: Path,
                   known: set[str]) -> dict[str, dict[str, dict]]:
    """Each variant's answer per contact id: from the cache, or computed (the endpoint started only if needed)."""
    dispositions = acw.load_dispositions(settings.dispositions)
    questions = load_questions(settings.questions)
    probe = build_llm(settings, base_url=settings.llm_base_url or "http://127.0.0.1:9/v1")  # for hashing: no call
    plan: dict[str, list[tuple[Interaction, str]]] = {}
    caches = {v: AnswerCache(cache_dir, variant=v, model=settings.llm_model) for v in variants}
    for v in variants:
        with levers(v, probe) as llm:
            plan[v] = [(c, request_hash(c, llm=llm, settings=settings, dispositions=dispositions,
                                        questions=questions)) for c in contacts]
    answers = {v: {c.id: row for c, h in plan[v] if (row := caches[v].get(c.id, h))} for v in variants}
    todo = {v: [(c, h) for c, h in plan[v] if c.id not in answers[v]] for v in variants}
    if not any(todo.values()):
        return answers
    with llm_endpoint(settings) as base_url:
        client = build_llm(settings, base_url=base_url)
        for v in variants:
            with levers(v, client) as llm:
                for n, (contact, request) in enumerate(todo[v], 1):
                    row = _draft_one(contact, llm=llm, settings=settings, dispositions=dispositions,
                                     questions=questions, known=known)
                    row["request"] = request
                    if not row.get("transient"):
                        caches[v].put(row)
                    answers[v][contact.id] = row
                    state = ("repaired" if row.get("repaired") else "ok") if row["ok"] else "FAIL " + row["error"]
                    print(f"  {v} {n}/{len(todo[v])} {contact.id} {row['seconds']:.1f} s {state[:120]}  {load()}",
                          flush=True)
    return answers


# ------------------------------------------------------------------------------------------------------- figures

def _interval(values: list[float]) -> tuple[float, float]:
    """95% percentile bootstrap interval of the mean (values may be paired differences); fixed seed."""
    x = np.asarray(values, dtype=float)
    means = x[np.random.default_rng(0).integers(0, len(x), size=(BOOTSTRAP, len(x)))].mean(axis=1)
    low, high = np.percentile(means, [2.5, 97.5])
    return float(low), float(high)


def _mean_ci(values: list[float], *, signed: bool = False) -> str:
    if not values:
        return "—"
    low, high = _interval(values)
    f = "{:+.3f}" if signed else "{:.3f}"
    return f"{f.format(float(np.mean(values)))} [{f.format(low)}, {f.format(high)}]"


def _share(hits: int, n: int, *, interval: bool = False) -> str:
    if n == 0:
        return "—"
    text = f"{hits}/{n} {hits / n:.2f}"
    if interval:
        low, high = wilson_interval(hits, n)
        text += f" [{low:.2f}, {high:.2f}]"
    return text


def _attribution_check() -> Callable | None:
    # Imported here: the module is being written alongside this bench; the other figures do not wait for it.
    try:
        from cx_worker.governance.attribution import check_attribution
    except Exception:
        return None
    return check_attribution


def figures(items: list[dict], answers: dict[str, dict], *, baseline: dict[str, dict] | None = None) -> dict:
    """One variant's figures over `items` (records with the redacted `interaction`); `baseline`: the baseline's
    answers, for the paired difference."""
    check = _attribution_check()
    rows = [(i, answers[i["interaction"].id]) for i in items]
    valid = [(i, a) for i, a in rows if a["ok"]]
    rouge, lead_, vs_base = [], [], []
    for i, a in valid:
        if i.get("references"):
            score = max(rouge_l(a["work"]["summary"], r) for r in i["references"])
            rouge.append(score)
            lead_.append(max(rouge_l(lead(i["interaction"]), r) for r in i["references"]))
            other = (baseline or {}).get(i["interaction"].id)
            if other and other["ok"]:
                vs_base.append(score - max(rouge_l(other["work"]["summary"], r) for r in i["references"]))
    grounded = sum(not ungrounded_facts(a["work"]["summary"], i["interaction"].transcript()) for i, a in valid)
    flagged = checked = unmeasured = 0
    for i, a in valid if check else ():
        try:
            result = check([(t.speaker, t.text) for t in i["interaction"].turns], a["work"]["summary"])
        except Exception:
            unmeasured += 1
            continue
        if result.verdict == "unchecked":
            unmeasured += 1
        else:
            checked += 1
            flagged += result.verdict == "misattributed"
    labelled = [(i, a) for i, a in valid if i.get("disposition")]
    correct = sum(a["work"]["disposition"] == i["disposition"] for i, a in labelled)
    tokens = [a["completion_tokens"] for _, a in valid if a.get("completion_tokens") is not None]
    return {
        "n": len(rows), "valid": len(valid), "repaired": sum(bool(a.get("repaired")) for _, a in valid),
        "rouge": rouge, "lead": lead_, "diff": [r - x for r, x in zip(rouge, lead_)], "vs_baseline": vs_base,
        "grounded": grounded, "attribution": None if check is None else (flagged, checked, unmeasured),
        "disposition": (correct, len(labelled)), "completion_tokens": float(np.mean(tokens)) if tokens else None,
        "seconds": float(np.mean([a["seconds"] for _, a in rows])) if rows else None,
        "load": float(np.mean([a["load"] for _, a in rows])) if rows else None,
        "failures": Counter(re.split(r"[:(]", a["error"], maxsplit=1)[0].strip() for _, a in rows if not a["ok"]),
    }


def table(items: list[dict], results: dict[str, dict]) -> list[str]:
    """The quality table (a row for the lead, one per variant) and the cost table."""
    lead_all = [max(rouge_l(lead(i["interaction"]), r) for r in i["references"]) for i in items if i.get("references")]
    quality = [("variant", "valid", "ROUGE-L [95%]", "lead (same)", "− lead [95%]", "− baseline [95%]", "grounded",
                "attribution flagged", "disposition [95%]"),
               ("lead", "—", _mean_ci(lead_all), "—", "—", "—", "—", "—", "—")]
    cost = [("variant", "valid", "repaired", "compl. tokens", "s/contact", "load (at compute)", "failures")]
    for name, f in results.items():
        attribution = "n/a" if f["attribution"] is None else (
            _share(f["attribution"][0], f["attribution"][1]) + f" ({f['attribution'][2]} unchecked)")
        quality.append((name, _share(f["valid"], f["n"]), _mean_ci(f["rouge"]),
                        f"{np.mean(f['lead']):.3f}" if f["lead"] else "—", _mean_ci(f["diff"], signed=True),
                        _mean_ci(f["vs_baseline"], signed=True) if name != "baseline" else "—",
                        _share(f["grounded"], f["valid"]), attribution, _share(*f["disposition"], interval=True)))
        cost.append((name, _share(f["valid"], f["n"], interval=True), str(f["repaired"]),
                     f"{f['completion_tokens']:.0f}" if f["completion_tokens"] is not None else "—",
                     f"{f['seconds']:.1f}" if f["seconds"] is not None else "—",
                     f"{f['load']:.2f}" if f["load"] is not None else "—",
                     ", ".join(f"{k} {v}" for k, v in f["failures"].most_common()) or "—"))
    return [*_columns(quality), "", *_columns(cost)]


def _columns(rows: list[tuple]) -> list[str]:
    widths = [max(len(r[c]) for r in rows) for c in range(len(rows[0]))]
    return ["  ".join(cell.ljust(w) for cell, w in zip(r, widths)).rstrip() for r in rows]


def verdicts(results: dict[str, dict]) -> list[str]:
    """Whether each variant meets the target (variant − lead ≥ TARGET), by its point estimate and its lower bound."""
    lines = []
    for name, f in results.items():
        if not f["diff"]:
            lines.append(f"{name}: no scored summary")
            continue
        mean, (low, _) = float(np.mean(f["diff"])), _interval(f["diff"])
        met = "met" if low >= TARGET else "met by the point estimate only" if mean >= TARGET else "not met"
        lines.append(f"{name}: ROUGE-L − lead {mean:+.3f} (lower bound {low:+.3f}) vs target +{TARGET:.2f}: {met}")
    return lines


def main(argv: list[str] | None = None) -> dict[str, dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", default="baseline",
                        help=f"comma-separated, a+b combines, or all; levers: {', '.join(VARIANTS)}")
    parser.add_argument("--split", choices=("dev", "test"), default="dev")
    parser.add_argument("--limit", type=int, help="the first N contacts of each source")
    parser.add_argument("--base-url", help="an OpenAI-compatible endpoint instead of the embedded server")
    parser.add_argument("--cache", type=Path, default=Path(".cx/bench/drafts"))
    parser.add_argument("--dataset", type=Path, default=DATASET)
    parser.add_argument("--list", action="store_true", help="list the variants and what each changes")
    args = parser.parse_args(argv)
    if args.list:
        for name, f in VARIANTS.items():
            print(f"{name}: {' '.join((f.__doc__ or '').split())}")
        return {}
    variants = list(VARIANTS) if args.variants == "all" else [v.strip() for v in args.variants.split(",") if v.strip()]
    for v in variants:
        lever_names(v)  # an unknown name stops here, before anything is computed
    settings = Settings() if not args.base_url else Settings(llm_base_url=args.base_url)
    all_items = load_items(args.split, path=args.dataset)
    bench = Bench.open(settings)
    redacted = {c.id: c for c in bench.redact([i["interaction"] for i in all_items])}
    _, known = batch_identifiers(redacted.values())  # the whole split is the batch, whatever --limit says
    items = [{**i, "interaction": redacted[i["interaction"].id]} for i in load_items(
        args.split, limit=args.limit, path=args.dataset) if i["interaction"].id in redacted]
    sources = Counter(i["source"] for i in items)
    print(f"{len(items)} contacts ({args.split}): {dict(sources)}; model {settings.llm_model}, endpoint "
          f"{settings.llm_base_url or 'embedded'}, {settings.llm_structured_output}, max_tokens "
          f"{settings.llm_max_tokens}  {load()}", flush=True)
    answers = draft_variants(variants, [i["interaction"] for i in items], settings=settings, cache_dir=args.cache,
                             known=known)
    results = {v: figures(items, answers[v], baseline=answers.get("baseline")) for v in variants}
    for line in table(items, results):
        print(line)
    print(f"\ntarget on {args.split} (issue 19: ROUGE-L ≥ lead + {TARGET:.2f} on dialogs not tuned on)")
    for line in verdicts(results):
        print("  " + line)
    print(load())
    return results


if __name__ == "__main__":
    main()
