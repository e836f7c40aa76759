"""Deadlines, reminders and escalations: the connector's follow-up, on a clock the caller gives.

Each priority has two deadlines (ownership.yaml): to acknowledge, counted from opening, and to
plan a fix, counted from acknowledging. Before a deadline the owner gets a reminder; once it
passes, the owner's manager is told (level 1), and when as long again has passed, the CX lead
(level 2). Each notice is kept in problem_notices and sent once, by e-mail (SMTP, from the
map's `notify`) and by webhook (a JSON POST, retried with back-off by `listening_webhook`).
`check` only decides and records; `deliver` sends what is pending, so the server runs it on
its background thread and a slow receiver never holds up a request.
"""

from __future__ import annotations

import datetime as dt
import smtplib
from email.message import EmailMessage
from typing import Any

from cxhub.services.listening import webhook as listening_webhook
from cxhub.services.problems import store
from cxhub.services.problems.ownership import Ownership
from cxhub.warehouse import Warehouse

WATCHED = {"open": "acknowledge", "acknowledged": "plan"}


def _due(p: dict[str, Any], own: Ownership) -> tuple[str, dt.datetime] | None:
    deadline = WATCHED.get(p["status"] or "open")
    if deadline is None:
        return None
    hours = own.deadlines.get(p["priority"] or "low", own.deadlines["low"])[deadline]
    since = p["opened_at"] if deadline == "acknowledge" else p["state_at"]
    return (deadline, since + dt.timedelta(hours=hours)) if since else None


def check(wh: Warehouse, own: Ownership, *, now: dt.datetime) -> list[dict[str, Any]]:
    """Record the reminders and escalations due at `now` (each once); returns the new ones."""
    new: list[dict[str, Any]] = []
    sent = {(r[0], r[1], r[2], r[3]) for r in wh.read(
        "SELECT problem_id, deadline, kind, level FROM problem_notices")}
    for p in store.problems(wh, states=tuple(WATCHED)):
        due = _due(p, own)
        if due is None:
            continue
        deadline, at = due
        hours = own.deadlines.get(p["priority"] or "low", own.deadlines["low"])[deadline]
        wanted = []
        if at - dt.timedelta(hours=own.reminder_hours) <= now < at:
            wanted.append(("reminder", 0, p["owner"]))
        if now >= at:
            wanted.append(("escalation", 1, p["manager"] or own.cx_lead))
        if now >= at + dt.timedelta(hours=hours):
            wanted.append(("escalation", 2, own.cx_lead))
        for kind, level, recipient in wanted:
            if (p["problem_id"], deadline, kind, level) in sent:
                continue
            new.append({"problem_id": p["problem_id"], "title": p["title"],
                        "deadline": deadline, "due_at": at, "kind": kind, "level": level,
                        "recipient": recipient, "priority": p["priority"],
                        "status": p["status"], "owner": p["owner"]})
    if new:
        def write(c: Any) -> None:
            for n in new:
                for channel in ("email", "webhook"):
                    if channel == "email" and not n["recipient"]:
                        continue
                    if channel == "webhook" and not own.notify.get("webhook"):
                        continue
                    nid = store.next_id(c, "problem_notices", "notice_id")
                    c.execute("INSERT INTO problem_notices VALUES "
                              "(?, ?, ?, ?, ?, ?, ?, ?, 'pending', 0, NULL, NULL)",
                              [nid, n["problem_id"], n["deadline"], n["kind"], n["level"],
                               channel, n["recipient"], now])
                # The escalation is part of the audit trail even when nothing could be sent.
                store.add_event(c, n["problem_id"], n["kind"], actor="cxhub", at=now,
                                note=f"{n['deadline']} deadline {n['due_at']:%Y-%m-%d %H:%M}: "
                                     f"{n['kind']} level {n['level']} to "
                                     f"{n['recipient'] or 'nobody (no address)'}")
        wh.write(write)
    return new


def _message(n: dict[str, Any], sender: str) -> EmailMessage:
    m = EmailMessage()
    verb = "is due" if n["kind"] == "reminder" else "is overdue"
    m["Subject"] = f"[cxhub] problem {n['problem_id']}: {n['deadline']} {verb}"
    m["From"] = sender
    m["To"] = n["recipient"]
    m.set_content(
        f"Problem {n['problem_id']}: {n['title']}\n"
        f"Priority {n['priority']}, state {n['status']}, owner {n['owner'] or 'none'}.\n"
        f"The deadline to {n['deadline']} {verb} ({n['due_at']:%Y-%m-%d %H:%M} UTC).\n")
    return m


def deliver(wh: Warehouse, own: Ownership, *, now: dt.datetime | None = None,
            retries: int = 3, backoff: float = 0.5, timeout: float = 5.0) -> dict[str, int]:
    """Send the pending notices; each outcome is stored. Returns counts by outcome."""
    now = now or store.utcnow()
    pending = wh.read_dicts(
        "SELECT notice_id, problem_id, deadline, kind, level, channel, recipient, created_at "
        "FROM problem_notices WHERE status = 'pending' ORDER BY notice_id")
    counts = {"sent": 0, "failed": 0}
    notify = own.notify
    for n in pending:
        p = store.problem(wh, n["problem_id"])
        due = _due(p, own)
        full = {**n, "title": p["title"], "priority": p["priority"], "status": p["status"],
                "owner": p["owner"], "due_at": due[1] if due else n["created_at"]}
        if n["channel"] == "email":
            ok, status, attempts = _send_mail(full, notify, timeout)
        else:
            payload = {"event": f"problem.{n['kind']}", "problem_id": n["problem_id"],
                       "title": p["title"], "deadline": n["deadline"], "level": n["level"],
                       "recipient": n["recipient"], "priority": p["priority"],
                       "state": p["status"], "due_at": full["due_at"].isoformat()}
            d = listening_webhook.post_json(str(notify["webhook"]), payload, retries=retries,
                                            backoff=backoff, timeout=timeout)
            ok, status, attempts = d.ok, d.status, d.attempts
        counts["sent" if ok else "failed"] += 1
        _record(wh, int(n["notice_id"]), ok=ok, status=status, attempts=attempts, now=now)
    return counts


def _record(wh: Warehouse, notice_id: int, *, ok: bool, status: str, attempts: int,
            now: dt.datetime) -> None:
    """Store one notice's outcome: sent, or failed with the reason."""
    wh.write(lambda c: c.execute(
        "UPDATE problem_notices SET status = ?, attempts = ?, sent_at = ?, error = ? "
        "WHERE notice_id = ?",
        ["sent" if ok else "failed", attempts, now if ok else None,
         None if ok else status, notice_id]))


def _send_mail(n: dict[str, Any], notify: dict[str, Any], timeout: float
               ) -> tuple[bool, str, int]:
    host = notify.get("smtp_host")
    if not host:
        return False, "no smtp_host in ownership.yaml notify", 0
    try:
        with smtplib.SMTP(str(host), int(notify.get("smtp_port", 25)), timeout=timeout) as s:
            if notify.get("smtp_starttls"):
                s.starttls()
            if notify.get("smtp_user"):
                s.login(str(notify["smtp_user"]), str(notify.get("smtp_password", "")))
            s.send_message(_message(n, str(notify.get("sender", "cxhub@localhost"))))
        return True, "sent", 1
    except (OSError, smtplib.SMTPException) as exc:
        return False, f"failed: {exc}"[:200], 1
