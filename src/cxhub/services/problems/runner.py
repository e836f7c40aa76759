"""The problems step of the pipeline, the server's background follow-up, and the demo's
planted actions."""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
from pathlib import Path
from typing import Any

from cxhub.services.backoff import Backoff
from cxhub.services.problems import discovery, escalation, figures, ownership, public, workflow
from cxhub.services.problems.errors import ProblemInputError, parse_date
from cxhub.services.problems.impact import own_contacts_message
from cxhub.warehouse import Warehouse
from cxhub.warehouse.schema import largest_sql

log = logging.getLogger("cxhub.problems")


def run(wh: Warehouse, *, home: Path | None = None) -> dict[str, Any]:
    """Discover problems, compute their figures, assign owners, measure every action."""
    home = home or wh.path.parent
    report = discovery.discover(wh)
    figures.refresh(wh, home)
    assigned = workflow.assign(wh, ownership.load(home))
    measured = public.measure_actions(wh)
    return {**report.to_dict(), "assigned": len(assigned), "actions_measured": measured}


def record_planted(wh: Warehouse, data_dir: Path) -> list[int]:
    """Record the simulator's planted fixes (truth/events.json) as actions, once: the permanent
    fix on one cause, the billing fault's correction and the faulty release's rollback on the
    problems found for them, each problem `verified` once its contacts are measured to have
    fallen; and the problem found for the marketing campaign's own demand is closed as "won't
    fix", as the company would close it once the campaign was over.

    Left open, the release's and the campaign's problems stayed "being looked at" on the public
    page months after they had ended, and, since a customer affected by an open problem gets
    no offer, they kept the offers from 8,015 of the demo's 58,011 customers."""
    path = data_dir / "truth" / "events.json"
    if not path.exists():
        return []
    events = json.loads(path.read_text())
    if wh.read_one("SELECT 1 FROM actions WHERE origin = 'demo'"):
        return []
    made: list[int] = []
    try:
        _record_planted(wh, events, made)
    except ProblemInputError as exc:  # a fix dated after today, a cause with no contacts
        log.warning("planted fix not recorded as an action: %s", exc)
    public.measure_actions(wh)
    _verified_where_measured(wh, made)
    return made


def _verified_where_measured(wh: Warehouse, actions: list[int]) -> None:
    """A planted fix whose problem's own contacts clearly fell (the lower end of the avoided
    contacts above zero) is checked and closed as `verified`, citing the measure, as the
    company would once it had looked: left `fixed`, the public page said "fixed, being
    checked" of a fix made half a year before."""
    if not actions:
        return
    rows = wh.read("SELECT a.problem_id, a.impact FROM actions a JOIN problems p "
                   "USING (problem_id) WHERE p.status = 'fixed' AND a.action_id IN "
                   f"({', '.join('?' for _ in actions)})", list(actions))
    for problem_id, impact in rows:
        fell = (json.loads(impact) if isinstance(impact, str) else impact or {}).get("problem")
        if not fell or (fell.get("avoided_low") or 0) <= 0:
            continue
        workflow.change_state(
            wh, problem_id, "verified", actor="demo", role="admin",
            note=f"measured: {own_contacts_message(fell, 'the fix')}")


def _record_planted(wh: Warehouse, events: dict[str, Any], made: list[int]) -> None:
    fix = events.get("fix")
    if fix and fix.get("date") and fix.get("cause"):
        made.append(workflow.record_action(
            wh, title=fix.get("action") or f"fix on {fix['cause']}", kind="process_change",
            date=fix["date"], cause=fix["cause"], actor="demo", role="admin", origin="demo",
            note="the simulator's planted fix (truth/events.json)"))
    billing = events.get("billing_problem") or {}
    if billing.get("fixed"):
        found = _found_in(wh, billing.get("start", billing["fixed"]), billing["fixed"],
                          cause="billing")
        made.append(workflow.record_action(
            wh, title=billing.get("action") or "billing fault corrected", kind="fix",
            date=billing["fixed"], problem_id=found, cause="billing",
            actor="demo", role="admin", origin="demo",
            note="the simulator's billing fault, corrected (truth/events.json)"))
        if found is not None:
            _fixed_on(wh, found, parse_date(billing["fixed"], "fixed"))
    release = events.get("faulty_release") or {}
    if release.get("date") and release.get("end_exclusive"):
        rolled = _found_in(wh, release["date"], release["end_exclusive"], cause="product")
        if rolled is not None:
            made.append(workflow.record_action(
                wh, title="faulty release rolled back", kind="fix",
                date=release["end_exclusive"], problem_id=rolled, cause="product", actor="demo",
                role="admin", origin="demo",
                note="the simulator's faulty release, rolled back (truth/events.json)"))
            _fixed_on(wh, rolled, parse_date(release["end_exclusive"], "end_exclusive"))
    campaign = events.get("marketing_campaign") or {}
    if campaign.get("start") and campaign.get("end_exclusive"):
        over = _found_in(wh, campaign["start"], campaign["end_exclusive"])
        if over is not None:
            workflow.change_state(
                wh, over, "wont_fix", actor="demo", role="admin",
                reason=f"the demand of the marketing campaign of {campaign['start']} to "
                       f"{campaign['end_exclusive']}, planned and over (truth/events.json)")


def _found_in(wh: Warehouse, start: str, end: str, *, cause: str | None = None) -> int | None:
    """The first problem still open that discovery found for a planted event: seen while it
    lasted (first by its end, last from its start), and first seen no more than a week before
    it began (a contact or two that match its rule often come a day or two early; a problem
    standing for months is not the event's)."""
    first, last = parse_date(start, "start"), parse_date(end, "end")
    row = wh.read_one(
        "SELECT problem_id FROM problems WHERE first_seen >= ? AND first_seen <= ? "
        "AND last_seen >= ? AND coalesce(status, 'open') = 'open' "
        "AND (? IS NULL OR cause = ?) ORDER BY first_seen, problem_id LIMIT 1",
        [first - dt.timedelta(days=7), last, first, cause, cause])
    return int(row[0]) if row else None


def _fixed_on(wh: Warehouse, problem_id: int, day: dt.date) -> None:
    """Walk a planted problem to `fixed`, each step on record as a person would make it, so
    the public page says "fixed, being checked" beside the fix it lists instead of "being
    looked at". The steps are dated now, as discovery dated the problem: the audit trail
    is read in time order, and a problem cannot be fixed before it was found."""
    row = wh.read_one("SELECT coalesce(status, 'open') FROM problems WHERE problem_id = ?",
                      [problem_id])
    path = ("open", "acknowledged", "fix_planned", "fixed")
    if row is None or row[0] not in path:
        return  # closed some other way: left as it is
    note = f"the simulator's planted fix of {day.isoformat()} (truth/events.json)"
    for state in path[path.index(row[0]) + 1:]:
        workflow.change_state(wh, problem_id, state, actor="demo", role="admin", note=note,
                              due=dt.date.today() if state == "fix_planned" else None)


class FollowUp:
    """On the server's background thread: new contacts join open problems (at every call),
    and reminders and escalations go out (at most once a minute). Never raises."""

    def __init__(self, wh: Warehouse, home: Path, *, every: float = 60.0) -> None:
        self._wh, self._home, self._every = wh, home, every
        self._lock = threading.Lock()
        self.after_id: int | None = None
        self.after_mention_id: int | None = None
        self._last_escalation = 0.0
        self._sender: threading.Thread | None = None
        self.backoff = Backoff("problems follow-up", log, path=wh.path)

    def _escalate(self) -> None:
        try:
            with self._wh.gate.reading():  # not while the warehouse is renewed
                own = ownership.load(self._home)
                escalation.check(self._wh, own,
                                 now=dt.datetime.now(dt.UTC).replace(tzinfo=None))
                escalation.deliver(self._wh, own)
        except Exception:
            log.exception("problems escalation failed")

    def _maybe_escalate(self, now: float) -> None:
        if now - self._last_escalation >= self._every and not (
                self._sender and self._sender.is_alive()):
            # Sending waits on mail servers and webhooks: on a thread of its own, so that a
            # slow receiver holds up neither this loop nor the classifier.
            self._last_escalation = now
            self._sender = threading.Thread(target=self._escalate, daemon=True,
                                            name="cxhub-escalation")
            self._sender.start()

    def tick(self, *, now: float) -> dict[str, Any]:
        if not self.backoff.due() or not self._lock.acquire(blocking=False):
            return {}
        try:
            row = self._wh.read_one(f"SELECT {largest_sql('contacts', 'contact_id')}, "
                                    f"{largest_sql('mentions', 'mention_id')}")
            newest_contact, newest_mention = (int(row[0]), int(row[1])) if row else (0, 0)
            if self.after_id is None:
                self.after_id, self.after_mention_id = newest_contact, newest_mention
                return {}
            if newest_contact <= self.after_id and newest_mention <= (self.after_mention_id or 0):
                # Nothing new: building the two joins' queries costs 20-50 ms of Python every
                # two seconds, and requests wait for it (a decision's slowest 1 %, issue 14).
                self._maybe_escalate(now)
                self.backoff.succeeded()
                return {}
            joined = discovery.join_new_contacts(self._wh, after_id=self.after_id)
            self.after_id = joined["newest"]
            posts = discovery.join_new_mentions(self._wh, after_id=self.after_mention_id or 0)
            self.after_mention_id = posts["newest"]
            joined["mentions_linked"] = posts["linked"]
            self._maybe_escalate(now)
            self.backoff.succeeded()
            return joined
        except Exception as exc:  # a later tick retries; the server keeps serving
            self.backoff.failed(exc)
            return {}
        finally:
            self._lock.release()
