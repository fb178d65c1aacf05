"""The signed webhook sink against a real HTTP server on 127.0.0.1: exactly once per note, held notes never sent."""

import hashlib
import hmac
import json
import sqlite3
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from cx_worker.delivery.crm import Crm
from cx_worker.delivery.webhook import WebhookDelivery, render_payload
from cx_worker.store import Ledger
from tests.support.fakes import WORK, FakeLLM
from tests.support.night import run_night
from tests.unit.test_governance import BAD

SECRET = "whsec-test-0123456789"


class Receiver:
    """A CRM webhook endpoint: checks signatures, records deliveries, can fail the first N requests."""

    def __init__(self, fail_first: int = 0):
        self.received, self.rejected, self.fail_first, self.requests = [], [], fail_first, 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests += 1
                if receiver.requests <= receiver.fail_first:
                    self.send_response(503)
                    self.end_headers()
                    return
                expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
                if not hmac.compare_digest(self.headers.get("X-CX-Signature", ""), expected):
                    receiver.rejected.append(body)
                    self.send_response(401)
                    self.end_headers()
                    return
                receiver.received.append((self.headers["Idempotency-Key"], json.loads(body)))
                self.send_response(201)
                self.end_headers()

            do_PUT = do_POST  # noqa: N815

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/notes"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()


@pytest.fixture
def receiver():
    r = Receiver(fail_first=2)
    yield r
    r.close()


def _webhook_crm(env, url, **kw):
    delivery = WebhookDelivery(url=url, secret=SECRET, sleep=lambda s: None, **kw)
    env.crm = Crm(Ledger(env.settings.ledger_target), delivery=delivery)
    return env.crm


def test_each_note_is_delivered_exactly_once_signed_and_retried(env, receiver):
    _webhook_crm(env, receiver.url)
    night = run_night(env, FakeLLM(WORK), "r1")
    assert night.notes == {"delivered": 5}
    keys = [k for k, _ in receiver.received]
    assert len(keys) == len(set(keys)) == 5 and receiver.rejected == []
    assert receiver.requests == 7  # two 503s were retried
    assert {b["interaction_id"] for _, b in receiver.received} == {n.interaction_id for n in env.crm.notes()}
    # A re-run of the same night (watermark lost, work reused) sends nothing again.
    with sqlite3.connect(env.settings.store_path) as db:
        db.execute("DELETE FROM watermark")
        db.execute("UPDATE contacts SET status = 'pending'")
    run_night(env, FakeLLM(WORK), "r2")
    assert len(receiver.received) == 5


def test_held_notes_are_not_delivered_until_released(env, receiver):
    crm = _webhook_crm(env, receiver.url)
    night = run_night(env, FakeLLM(WORK, summary_for=lambda t: BAD), "r1")
    assert night.report.verdict == "breach" and night.notes == {"held": 5}
    assert receiver.received == []
    assert crm.release("r1", by="gov", reason="reviewed") == 5
    assert len(receiver.received) == 5 and {n.status for n in crm.notes()} == {"delivered"}


def test_a_down_endpoint_marks_notes_failed_and_the_next_run_retries(env):
    crm = _webhook_crm(env, "http://127.0.0.1:9/notes", retries=1)
    night = run_night(env, FakeLLM(WORK), "r1")
    assert night.notes == {"failed": 5} and {n.status for n in crm.notes()} == {"failed"}
    assert "ConnectError" in crm.notes()[0].last_error
    up = Receiver()
    try:
        _webhook_crm(env, up.url)
        env.crm.deliver_pending()
        assert len(up.received) == 5 and {n.status for n in env.crm.notes()} == {"delivered"}
    finally:
        up.close()


def test_a_refused_note_is_not_retried(env):
    r = Receiver()
    try:
        crm = _webhook_crm(env, r.url)
        crm.delivery.secret = "wrong-secret"  # the CRM answers 401: retrying cannot help
        run_night(env, FakeLLM(WORK), "r1", limit=1)
        assert r.requests == 1 and crm.notes()[0].status == "failed"
        assert "HTTP 401" in crm.notes()[0].last_error
    finally:
        r.close()


def test_salesforce_and_zendesk_payloads_follow_their_rest_shapes(env):
    run_night(env, FakeLLM(WORK), "r1", limit=1)
    note = env.crm.notes()[0]
    note.payload.metadata = {"salesforce_case_id": "500XX000001", "zendesk_ticket_id": "4711"}
    task = json.loads(render_payload("salesforce_task", note))
    assert task["Status"] == "Completed" and task["CallDisposition"] == WORK["disposition"]
    assert task["WhatId"] == "500XX000001" and WORK["summary"] in task["Description"]
    comment = json.loads(render_payload("salesforce_case_comment", note))
    assert comment == {"ParentId": "500XX000001", "CommentBody": note.body, "IsPublished": False}
    zd = json.loads(render_payload("zendesk_comment", note))
    assert zd["ticket"]["comment"] == {"body": note.body, "public": False}
    assert "disposition_product_question" in zd["ticket"]["additional_tags"]
