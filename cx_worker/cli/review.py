"""`cx-worker review`: contacts waiting for a human, and the reviewer's decisions (every one audited)."""

from __future__ import annotations

import json
import sys

import click
import uvicorn

from cx_worker.cli import EXIT_ERROR, EXIT_PASS, say
from cx_worker.cli.outcomes import LABEL
from cx_worker.cli.settings_options import settings_options
from cx_worker.delivery.crm import open_crm
from cx_worker.governance import review as reviews
from cx_worker.governance.review_page import create_app, new_token
from cx_worker.llm.server import free_port
from cx_worker.outcomes.exemplars import chroma_client, open_collection
from cx_worker.settings import Settings
from cx_worker.store import Store


@click.group(invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True, help="List as one JSON array.")
@settings_options
@click.pass_context
def review(ctx: click.Context, as_json: bool) -> int | None:
    """Contacts waiting for a human (the list, by default), and decisions on them."""
    if ctx.invoked_subcommand is None:
        return _list(as_json)
    return None


@review.command(name="list")
@click.option("--json", "as_json", is_flag=True, help="One JSON array.")
@settings_options
def list_command(as_json: bool) -> int:
    """Every contact waiting for review, with why and the evidence, most urgent first."""
    return _list(as_json)


def _list(as_json: bool) -> int:
    queue = reviews.review_queue(Store(Settings().store_target))
    if as_json:
        say(json.dumps([item.model_dump() for item in queue], default=str))
        return EXIT_PASS
    for item in queue:
        o = item.outcome
        say(f"{item.interaction_id}  run {item.run_id}  outcome {o.label if o else None} "
              f"({o.confidence if o else 0:.2f})")
        for reason in item.reasons:
            say(f"    - {reason}")
        if o and o.evidence:
            say("    nearest exemplars: " + ", ".join(f"{e.exemplar_id} ({e.label}, {e.similarity:.2f})"
                                                     for e in o.evidence))
        if item.summary:
            say(f"    summary: {item.summary}")
    say(f"{len(queue)} contacts waiting for review", file=sys.stderr)
    return EXIT_PASS


def _decide(action: str, apply) -> int:
    settings = Settings()
    try:
        apply(settings, Store(settings.store_target), open_crm(settings))
    except (reviews.ReviewError, ValueError) as exc:
        say(f"cx-worker review {action}: {exc}", file=sys.stderr)
        return EXIT_ERROR
    return EXIT_PASS


@review.command()
@click.argument("interaction_id", metavar="ID")
@click.option("--by", required=True, help="Who decides.")
@click.option("--reason", default="", help="Why.")
@settings_options
def approve(interaction_id: str, by: str, reason: str) -> int:
    """The outputs are right as they are."""
    code = _decide("approve", lambda s, store, crm: reviews.approve(interaction_id, store=store, crm=crm, by=by,
                                                                   reason=reason))
    if code == EXIT_PASS:
        say(f"{interaction_id}: approve by {by} recorded")
    return code


@review.command()
@click.argument("interaction_id", metavar="ID")
@click.option("--by", required=True, help="Who decides.")
@click.option("--reason", default="", help="Why.")
@click.option("--summary", default=None, help="The corrected summary.")
@click.option("--note", "crm_note", default=None, help="The corrected CRM note.")
@settings_options
def edit(interaction_id: str, by: str, reason: str, summary: str | None, crm_note: str | None) -> int:
    """Correct the summary and/or the CRM note; agents get a new revision of the note."""
    code = _decide("edit", lambda s, store, crm: reviews.edit(interaction_id, store=store, crm=crm, by=by,
                                                             reason=reason, summary=summary, crm_note=crm_note))
    if code == EXIT_PASS:
        say(f"{interaction_id}: edit by {by} recorded")
    return code


@review.command()
@click.argument("interaction_id", metavar="ID")
@click.argument("new_label", metavar="LABEL", type=LABEL)
@click.option("--by", required=True, help="Who decides.")
@click.option("--reason", default="", help="Why.")
@settings_options
def relabel(interaction_id: str, new_label: str, by: str, reason: str) -> int:
    """Correct the outcome: the contact becomes an exemplar and the agent's note is updated."""
    code = _decide("relabel", lambda s, store, crm: reviews.relabel(
        interaction_id, new_label, store=store, crm=crm, collection=_exemplars(s), by=by,
        reason=reason))
    if code == EXIT_PASS:
        say(f"{interaction_id}: relabel by {by} recorded")
    return code


@review.command()
@click.argument("interaction_id", metavar="ID")
@click.option("--outcome", required=True, type=LABEL, help="The contact's true outcome.")
@click.option("--summary", "summary", required=True, type=click.Choice(["ok", "error"]),
              help="Whether the summary is faithful to the transcript.")
@click.option("--errors", default="", metavar="TYPES",
              help="With --summary error, which (comma-separated): invented, misattributed, omission, disposition, "
                   "language, tone, pii.")
@click.option("--disposition", default=None, metavar="CODE", help="The right disposition code.")
@click.option("--by", required=True, help="Who judged.")
@click.option("--reason", default="", help="Why (optional).")
@settings_options
def verdict(interaction_id: str, outcome: str, summary: str, errors: str, disposition: str | None, by: str,
            reason: str) -> int:
    """Record a person's verdict on an audited contact (audited; the outcome becomes a labelled exemplar)."""
    kinds = [e.strip() for e in errors.split(",") if e.strip()]
    code = _decide("verdict", lambda s, store, crm: reviews.record_verdict(
        interaction_id, store=store, crm=crm, collection=_exemplars(s), outcome=outcome,
        summary_ok=summary == "ok", errors=kinds, disposition=disposition, by=by, reason=reason))
    if code == EXIT_PASS:
        say(f"{interaction_id}: verdict by {by} recorded ({outcome}, summary {summary}"
              + (f": {', '.join(kinds)}" if kinds else "") + ")")
    return code


@review.command()
@click.option("--port", type=int, default=None, help="Port on 127.0.0.1 (default: a free one).")
@settings_options
def serve(port: int | None) -> int:
    """The review page: the audit sample and the flagged contacts, with a form for each decision (127.0.0.1 only;
    the printed link carries the token every request needs)."""
    settings = Settings()
    token = new_token()
    app = create_app(store=Store(settings.store_target), crm=open_crm(settings),
                     collection=_exemplars(settings), token=token)
    port = port or free_port()
    say(f"review page: http://127.0.0.1:{port}/?token={token}  (Ctrl-C to stop)", flush=True)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")
    return EXIT_PASS


def _exemplars(settings: Settings):
    return open_collection(settings.chroma_path, client=chroma_client(settings))
