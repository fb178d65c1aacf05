"""Cost mode: a night's after-call work through the OpenAI Batch API, at half the price of synchronous calls.

Each contact's request is the body the synchronous path sends (`acw.build_messages`, the forced tool call of
LangChain's `with_structured_output`, temperature 0, the same token cap), written as one JSONL line; the lines are
uploaded (several files past the API's 50,000 requests / 200 MB a file), run within the 24 h completion window, and
every answer is validated as `acw.write_after_call_work` validates it: the narrowed output model, then
`injection.check_output`. Each batch is recorded in the store as soon as it is created and tagged with a hash of its
lines, so a re-run after a crash polls the batch in flight (or, if the crash came between create and record, finds it
among the 100 newest batches by its tag) instead of paying for a second one. Needs an endpoint with `/v1/files` and
`/v1/batches`: OpenAI has them, the embedded llama.cpp server does not.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections import Counter
from collections.abc import Callable
from contextlib import suppress
from typing import Any

import openai
from langchain_core.utils.function_calling import convert_to_openai_tool
from openai.lib._parsing._completions import type_to_response_format_param

from cx_worker.drafting.after_call_work import (
    AcwError,
    Disposition,
    build_messages,
    checked_work,
    output_model,
    parse_answer,
    prompt_hash,
    write_after_call_work,
)
from cx_worker.drafting.failures import record_failure
from cx_worker.drafting.questions import Question, load_questions
from cx_worker.guard.outbound import batch_identifiers
from cx_worker.models import Interaction
from cx_worker.settings import Settings
from cx_worker.store import Store

ENDPOINT = "/v1/chat/completions"
MAX_REQUESTS = 50_000  # requests per input file (Batch API limit)
MAX_BYTES = 200_000_000  # bytes per input file (Batch API limit: 200 MB)
FINISHED = ("completed", "failed", "expired", "cancelled")
CANCEL_POLLS = 20  # polls after cancelling a late batch, for the answers it finished before the cancel
_ROLES = {"system": "system", "human": "user"}
_TRANSIENT = (openai.APIConnectionError, openai.InternalServerError, openai.RateLimitError)


def openai_client(settings: Settings, base_url: str | None = None) -> openai.OpenAI:
    """An `openai.OpenAI` client for the configured endpoint; the SDK retries 429/5xx and timeouts."""
    return openai.OpenAI(base_url=base_url or settings.llm_base_url, api_key=settings.llm_api_key.get_secret_value(),
                         timeout=settings.llm_timeout, max_retries=settings.llm_max_retries)


def request_body(
    interaction: Interaction, *, settings: Settings, dispositions: tuple[Disposition, ...],
    questions: tuple[Question, ...] = (),
) -> dict[str, Any]:
    """The chat-completions body of one contact, exactly as the synchronous path sends it (less `stream`).

    `llm_structured_output` function_calling: the forced tool call; json_schema: `response_format` json_schema as the
    SDK builds it from the model (strict); json_mode: `response_format` json_object, the schema in the system prompt.
    """
    method = settings.llm_structured_output
    schema_model = output_model(tuple(d.code for d in dispositions), questions)
    messages = build_messages(interaction, dispositions=dispositions, language=settings.crm_language,
                              json_schema=schema_model.model_json_schema() if method == "json_mode" else None)
    body: dict[str, Any] = {"model": settings.llm_model,
                            "messages": [{"role": _ROLES[m.type], "content": m.content} for m in messages],
                            "max_completion_tokens": settings.llm_max_tokens, "temperature": 0.0}
    if method == "function_calling":
        tool = convert_to_openai_tool(schema_model)
        body |= {"tools": [tool], "tool_choice": {"type": "function", "function": {"name": tool["function"]["name"]}},
                 "parallel_tool_calls": False}
    else:
        body["response_format"] = (type_to_response_format_param(schema_model) if method == "json_schema"
                                   else {"type": "json_object"})
    return body


def draft_batch(
    interactions: list[Interaction], *, client: openai.OpenAI, settings: Settings,
    dispositions: tuple[Disposition, ...], store: Store, run_id: str, sleep: Callable[[float], None] = time.sleep,
    on_progress: Callable[[], None] | None = None, llm=None,
) -> Counter:
    """Write the after-call work of every contact through the Batch API; the contract of `run.draft`.

    A contact whose work is already stored for this prompt and model is not sent; one whose request sits in a batch
    submitted earlier (a crashed run) is not sent again: that batch is polled. Batches are polled every
    `batch_poll_seconds`; past `batch_max_wait` the unfinished ones are cancelled. Each failed contact (error line,
    invalid or cut-off answer, rejected by the output check, batch failed, expired or cancelled) is quarantined with
    the reason; the others go on.

    Args:
        llm: Optional LangChain chat model: an answer that does not validate gets one synchronous repair re-ask
            through it (full price), as in the synchronous path. None: such answers are quarantined.

    Returns:
        Counts of drafted, repaired (valid after the re-ask), reused, failed.
    """
    job = _Job(client, settings=settings, dispositions=dispositions, store=store, run_id=run_id, llm=llm, sleep=sleep,
               on_progress=on_progress, interactions=interactions)
    batches = job.in_flight()
    waiting = {cid for ids in batches.values() for cid in ids}
    chunks: list[dict[str, bytes]] = []
    size = 0
    for cid, (_, line, _) in job.pending.items():
        if cid not in waiting:
            if not chunks or len(chunks[-1]) >= MAX_REQUESTS or size + len(line) > MAX_BYTES:
                chunks, size = [*chunks, {}], 0
            chunks[-1][cid], size = line, size + len(line)
    for chunk in chunks:
        if (batch_id := job.submit(chunk)) is not None:
            batches[batch_id] = list(chunk)
    job.wait(batches)
    return job.counts


class _Job:
    """One call of `draft_batch`: the contacts still to settle (by custom_id) and how each was settled."""

    def __init__(self, client: openai.OpenAI, *, settings: Settings, dispositions: tuple[Disposition, ...],
                 store: Store, run_id: str, llm, sleep: Callable[[float], None],
                 on_progress: Callable[[], None] | None, interactions: list[Interaction]) -> None:
        self.client, self.settings, self.dispositions, self.store = client, settings, dispositions, store
        self.run_id, self.llm, self.sleep, self.on_progress = run_id, llm, sleep, on_progress
        self.questions = load_questions(settings.questions)
        self.key = prompt_hash(dispositions, questions=self.questions)
        self.schema_model = output_model(tuple(d.code for d in dispositions), self.questions)
        self.known = batch_identifiers(interactions)[1]
        self.counts: Counter = Counter()
        self.late: set[str] = set()  # batches cancelled for running past batch_max_wait
        self.pending: dict[str, tuple[Interaction, bytes, str]] = {}  # (contact, JSONL line, system prompt)
        for interaction in interactions:
            if store.acw(interaction.id, prompt_hash=self.key, model=settings.llm_model) is not None:
                self.settle("reused")
                continue
            body = request_body(interaction, settings=settings, dispositions=dispositions, questions=self.questions)
            # The custom_id names this very request (contact and body): short, any id is safe, and a contact whose
            # transcript changed is a new request, never matched to an answer about the old one.
            digest = hashlib.sha256(f"{interaction.id}\0{json.dumps(body, sort_keys=True)}".encode()).hexdigest()
            line = json.dumps({"custom_id": f"acw-{digest[:24]}", "method": "POST", "url": ENDPOINT, "body": body})
            self.pending[f"acw-{digest[:24]}"] = (interaction, line.encode() + b"\n", body["messages"][0]["content"])

    def settle(self, status: str) -> str:
        self.counts[status] += 1
        if self.on_progress:
            self.on_progress()
        return status

    def fail(self, cid: str, reason: str, *, retryable: bool = False) -> str:
        """Set a contact aside (`failures.record_failure`): for good, or until a later night when the request
        itself failed (`retryable`)."""
        iid = self.pending.pop(cid)[0].id
        return self.settle(record_failure(iid, store=self.store, run_id=self.run_id, reason=reason,
                                          retryable=retryable, settings=self.settings))

    def in_flight(self) -> dict[str, list[str]]:
        """Batches an earlier (crashed) run submitted for contacts pending here: polled, not paid for again."""
        rows = self.store.llm_batches(prompt_hash=self.key, model=self.settings.llm_model)
        found = {r.batch_id: [cid for cid in r.custom_ids if cid in self.pending] for r in rows}
        return {batch_id: ids for batch_id, ids in found.items() if ids}

    def submit(self, chunk: dict[str, bytes]) -> str | None:
        data = b"".join(chunk.values())
        tag = hashlib.sha256(data).hexdigest()[:16]
        try:
            batch = self._tagged(tag) or self._create(data, tag)
        except Exception as exc:  # after the retries: quarantine, never kill the run
            for cid in chunk:
                self.fail(cid, f"could not submit the batch: {type(exc).__name__}: {str(exc)[:300]} (the endpoint "
                               "must implement /v1/files and /v1/batches; the embedded llama.cpp server does not)")
            return None
        self.store.put_llm_batch(batch.id, run_id=self.run_id, prompt_hash=self.key, model=self.settings.llm_model,
                                 custom_ids={cid: self.pending[cid][0].id for cid in chunk}, status=batch.status)
        return batch.id

    def _tagged(self, tag: str):
        """A batch of these very lines the store does not know of: created just before a crash."""
        known = {r.batch_id for r in self.store.llm_batches(prompt_hash=self.key, model=self.settings.llm_model,
                                                               open_only=False)}
        try:
            newest = self.client.batches.list(limit=100).data
        except openai.APIError:
            return None
        return next((b for b in newest if (b.metadata or {}).get("cx_batch") == tag and b.id not in known
                     and b.status not in ("failed", "expired", "cancelling", "cancelled")), None)

    def _create(self, data: bytes, tag: str):
        upload = self.client.files.create(file=(f"cx-acw-{tag}.jsonl", data, "application/jsonl"), purpose="batch")
        once = self.client.with_options(max_retries=0)  # a create whose answer was lost may have created the batch:
        for attempt in range(self.settings.llm_max_retries + 1):  # look for it before trying again
            try:
                return once.batches.create(input_file_id=upload.id, endpoint=ENDPOINT, completion_window="24h",
                                           metadata={"run_id": self.run_id, "cx_batch": tag})
            except _TRANSIENT:
                if attempt == self.settings.llm_max_retries:
                    raise
                self.sleep(min(2.0 ** attempt, 30.0))
                if (found := self._tagged(tag)) is not None:
                    return found

    def wait(self, batches: dict[str, list[str]]) -> None:
        """Poll until every batch is finished, collecting each as it finishes; cancel the late ones and collect
        what they finished before the cancel (at most `CANCEL_POLLS` more polls)."""
        waiting, waited, grace = dict(batches), 0.0, CANCEL_POLLS
        while waiting:
            for batch_id in list(waiting):
                try:
                    batch = self.client.batches.retrieve(batch_id)
                except openai.APIError:  # after the SDK's retries: try again at the next poll
                    continue
                self.store.set_llm_batch_status(batch_id, batch.status)
                if batch.status in FINISHED:
                    self._collect(batch, waiting.pop(batch_id))
            if waiting and waited >= self.settings.batch_max_wait:
                if not self.late:
                    self.late = set(waiting)
                    for batch_id in waiting:
                        with suppress(openai.APIError):  # it may have finished meanwhile: the next poll tells
                            self.client.batches.cancel(batch_id)
                elif (grace := grace - 1) < 0:
                    for batch_id, ids in waiting.items():
                        self._give_up(batch_id, ids, f"{_late(batch_id, self.settings)}, not cancelled in time")
                    return
            if waiting:
                self.sleep(self.settings.batch_poll_seconds)
                waited += self.settings.batch_poll_seconds

    def _collect(self, batch, ids: list[str]) -> None:
        wanted = {cid for cid in ids if cid in self.pending}
        for file_id in filter(None, (batch.output_file_id, batch.error_file_id)):
            try:
                lines = [json.loads(raw) for raw in self.client.files.content(file_id).text.splitlines() if raw.strip()]
            except (openai.APIError, ValueError) as exc:
                self._give_up(batch.id, wanted, f"could not read the results of batch {batch.id}: "
                                                f"{type(exc).__name__}: {str(exc)[:300]}")
                return
            for line in lines:
                if (line.get("error") or {}).get("code") in ("batch_expired", "batch_cancelled"):
                    continue  # never ran: the batch's own fate is the reason (below)
                if line.get("custom_id") in wanted:
                    wanted.discard(line["custom_id"])
                    self._settle(line["custom_id"], line, batch.id)
        if batch.id in self.late:
            reason = f"{_late(batch.id, self.settings)}: cancelled"
        elif batch.status == "failed":
            errors = [f"line {e.line}: {e.code}: {e.message}" if e.line else f"{e.code}: {e.message}"
                      for e in ((batch.errors.data or []) if batch.errors else [])[:5]]
            reason = f"batch {batch.id} failed: " + ("; ".join(errors) or "no reason given")
        else:
            reason = f"batch {batch.id} {batch.status} before this request ran"
        self._give_up(batch.id, wanted, reason)

    def _give_up(self, batch_id: str, ids, reason: str) -> None:
        for cid in [c for c in ids if c in self.pending]:
            self.fail(cid, reason, retryable=True)  # the batch, not the contact, failed
        self.store.set_llm_batch_status(batch_id, "collected")

    def _settle(self, cid: str, line: dict, batch_id: str) -> str:
        response = line.get("response") or {}
        if line.get("error") or response.get("status_code") != 200:
            error = line.get("error") or (response.get("body") or {}).get("error") or {}
            status = f"HTTP {response['status_code']} " if response.get("status_code") else ""
            return self.fail(cid, f"batch request failed: {status}{error.get('code') or error.get('type')}: "
                                  f"{error.get('message')}", retryable=True)
        body = response.get("body") or {}
        choice = (body.get("choices") or [{}])[0]
        tokens = body.get("usage") or {}
        usage = {"prompt_tokens": tokens.get("prompt_tokens"), "completion_tokens": tokens.get("completion_tokens"),
                 "seconds": None, "repaired": False, "batch_id": batch_id}
        if choice.get("finish_reason") == "length":  # not repaired: a re-ask would run into the same cap
            return self.fail(cid, "output cut off at max_tokens (finish_reason=length)")
        interaction, _, system_prompt = self.pending[cid]
        try:
            parsed = parse_answer(_answer_text(choice.get("message") or {}, self.settings.llm_structured_output),
                                  schema_model=self.schema_model)
        except AcwError as exc:
            return self._repair(cid, str(exc), usage)
        try:
            work = checked_work(interaction, parsed, system_prompt=system_prompt, known_identifiers=self.known)
        except AcwError as exc:  # rejected by the output check: quarantined, not repaired (as in the sync path)
            return self.fail(cid, str(exc))
        return self._put(cid, work.model_dump(), usage, "drafted")

    def _repair(self, cid: str, problem: str, usage: dict[str, Any]) -> str:
        if self.llm is None:
            return self.fail(cid, problem)
        try:
            result = write_after_call_work(
                self.pending[cid][0], llm=self.llm, model=self.settings.llm_model, dispositions=self.dispositions,
                method=self.settings.llm_structured_output, language=self.settings.crm_language,
                known_identifiers=self.known, questions=self.questions, invalid_answer=problem)
        except AcwError as exc:
            return self.fail(cid, str(exc))
        except Exception as exc:  # network, timeout after retries
            return self.fail(cid, f"repair re-ask failed: {type(exc).__name__}: {str(exc)[:300]} "
                                  f"(first answer: {problem})", retryable=True)
        usage |= {k: (usage[k] or 0) + (result.usage[k] or 0) for k in ("prompt_tokens", "completion_tokens")}
        return self._put(cid, result.work.model_dump(), usage | {"repaired": True}, "repaired")

    def _put(self, cid: str, output: dict, usage: dict[str, Any], status: str) -> str:
        iid = self.pending.pop(cid)[0].id
        self.store.put_acw(iid, prompt_hash=self.key, model=self.settings.llm_model, run_id=self.run_id,
                           output=output, usage=usage)
        return self.settle(status)


def _answer_text(message: dict, method: str) -> str:
    if message.get("refusal"):
        raise AcwError(f"invalid structured output: the model refused: {str(message['refusal'])[:300]}")
    if method != "function_calling":
        return message.get("content") or ""
    if not message.get("tool_calls"):
        raise AcwError("invalid structured output: no tool call in the answer")
    return message["tool_calls"][0].get("function", {}).get("arguments") or ""


def _late(batch_id: str, settings: Settings) -> str:
    return f"batch {batch_id} not finished within batch_max_wait ({settings.batch_max_wait:g} s)"
