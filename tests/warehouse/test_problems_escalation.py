"""Reminders and escalations on a clock the test controls, e-mailed to a local SMTP server and
POSTed to a local webhook that fails before it answers."""

from __future__ import annotations

import datetime as dt
import json
import socket
import threading
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from aiosmtpd.controller import Controller
from tests.warehouse.test_problems_workflow import NOW, small_company

from cxhub.services.problems import escalation, ownership, store, workflow


class Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"


@pytest.fixture
def smtp():
    inbox = Inbox()
    with socket.socket() as s:  # a free port (the controller cannot be told port 0)
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


@pytest.fixture
def hook():
    received, answers = [], [500, 500, 200]

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            body = self.rfile.read(int(self.headers["Content-Length"]))
            code = answers.pop(0) if answers else 200
            received.append((code, json.loads(body)))
            self.send_response(code)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield received, f"http://127.0.0.1:{server.server_port}/hook"
    finally:
        server.shutdown()


def test_reminder_then_manager_then_cx_lead(warehouse, smtp, hook):
    inbox, port = smtp
    received, url = hook
    pid = small_company(warehouse)
    warehouse.write(lambda c: c.execute(
        "UPDATE problems SET priority = 'high', opened_at = ? WHERE problem_id = ?", [NOW, pid]))
    own = ownership.parse({
        "cx_lead": "lead@x.com", "reminder_hours": 4,
        "deadlines": {"high": {"acknowledge": 24, "plan": 72}},
        "notify": {"smtp_host": "127.0.0.1", "smtp_port": port, "sender": "cxhub@x.com",
                   "webhook": url},
        "owners": [{"cause": "billing", "department": "Billing", "owner": "ana@x.com",
                    "manager": "bo@x.com"}]})
    workflow.assign(warehouse, own, now=NOW)
    hours = lambda h: NOW + dt.timedelta(hours=h)  # noqa: E731

    assert escalation.check(warehouse, own, now=hours(19)) == []  # nothing due yet
    sent = escalation.check(warehouse, own, now=hours(21))
    assert [(n["kind"], n["recipient"]) for n in sent] == [("reminder", "ana@x.com")]
    assert escalation.check(warehouse, own, now=hours(22)) == []  # once only
    assert escalation.deliver(warehouse, own, backoff=0.01) == {"sent": 2, "failed": 0}
    assert inbox.messages[0]["To"] == "ana@x.com"
    assert "acknowledge is due" in inbox.messages[0]["Subject"]
    # The webhook failed twice and was retried with back-off.
    assert [code for code, _ in received] == [500, 500, 200]
    assert received[-1][1]["event"] == "problem.reminder"

    late = escalation.check(warehouse, own, now=hours(25))
    assert [(n["kind"], n["level"], n["recipient"]) for n in late] == [
        ("escalation", 1, "bo@x.com")]
    later = escalation.check(warehouse, own, now=hours(49))
    assert [(n["level"], n["recipient"]) for n in later] == [(2, "lead@x.com")]
    escalation.deliver(warehouse, own, backoff=0.01)
    assert [m["To"] for m in inbox.messages] == ["ana@x.com", "bo@x.com", "lead@x.com"]
    kinds = [e["kind"] for e in store.events(warehouse, pid)]
    assert kinds.count("escalation") == 2 and kinds.count("reminder") == 1

    # Acknowledged: the plan deadline counts from then, and nothing more for acknowledging.
    workflow.change_state(warehouse, pid, "acknowledged", actor="ana", role="admin",
                          now=hours(50))
    assert escalation.check(warehouse, own, now=hours(51)) == []
    due = escalation.check(warehouse, own, now=hours(50 + 73))
    assert [(n["deadline"], n["level"]) for n in due] == [("plan", 1)]


def test_a_dead_receiver_is_recorded_not_raised(warehouse):
    pid = small_company(warehouse)
    warehouse.write(lambda c: c.execute(
        "UPDATE problems SET priority = 'low', opened_at = ?, manager = 'bo@x.com' "
        "WHERE problem_id = ?", [NOW, pid]))
    own = ownership.parse({"notify": {"smtp_host": "127.0.0.1", "smtp_port": 9,
                                      "webhook": "http://127.0.0.1:9/none"}})
    escalation.check(warehouse, own, now=NOW + dt.timedelta(days=8))
    got = escalation.deliver(warehouse, own, backoff=0.01, timeout=1)
    assert got == {"sent": 0, "failed": 2}
    rows = warehouse.read("SELECT channel, status, attempts FROM problem_notices ORDER BY 1")
    assert rows == [("email", "failed", 1), ("webhook", "failed", 3)]
