"""What the public page and the daily report say about problems and actions: each action with
its measured impact in plain words, and the largest open problems with their state and since
when the company has known. Aggregates only: no owner, no e-mail, no contact, no customer.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from cxhub.services.problems import impact as impact_svc
from cxhub.services.problems import store
from cxhub.services.problems.errors import ProblemInputError
from cxhub.warehouse import Warehouse

STATE_WORDS = {"open": "being looked at", "acknowledged": "acknowledged by its owner",
               "fix_planned": "a fix is planned", "fixed": "fixed, being checked",
               "verified": "fixed and checked", "wont_fix": "will not be fixed"}


def measure_actions(wh: Warehouse, *, now: dt.datetime | None = None) -> int:
    """Measure (again) every action with a cause, and store the estimate with the action."""
    now = now or store.utcnow()
    rows = wh.read("SELECT a.action_id, a.action_date, coalesce(a.cause, p.cause), a.problem_id "
                   "FROM actions a LEFT JOIN problems p USING (problem_id) "
                   "WHERE a.action_date IS NOT NULL")
    found = []
    for aid, day, cause, problem_id in rows:
        if not cause:
            continue
        try:
            imp = impact_svc.cause_impact(wh, cause=cause, since=day)
        except ProblemInputError:
            continue  # a cause or date the contacts no longer cover: left unmeasured
        d = impact_svc.impact_dict(imp, cause=cause, problem=impact_svc.problem_contacts_change(
            wh, problem_id, day) if problem_id is not None else None)
        d.pop("weeks", None)
        found.append((aid, json.dumps(d, default=str)))
    if found:
        def write(c: Any) -> None:
            for aid, blob in found:
                c.execute("UPDATE actions SET impact = ?, impact_at = ? WHERE action_id = ?",
                          [blob, now, aid])
        wh.write(write)
    return len(found)


def _sentence(a: dict[str, Any]) -> str:
    day = a["action_date"]
    what = a["title"].rstrip(".")
    imp = a.get("impact") or {}
    if imp.get("status") != "measured":
        tail = imp.get("message") or "its effect has not been measured yet"
        return f"{what[0].upper() + what[1:]} ({day:%d %B %Y}): {tail}."
    lo, hi = sorted((imp["avoided_low"], imp["avoided_high"]))
    own = imp.get("problem") or {}
    if own and own["avoided_low"] > 0 and not (imp["significant"] and imp["avoided_low"] > 0):
        # A fault's own spike of contacts that stopped: the cause as a whole may not show it
        # once the spike is left out of its baseline, but the problem's contacts do.
        change = (f"about {own['avoided_per_week']:,.0f} fewer contacts a week about this "
                  f"problem ({own['avoided_low']:,.0f} to {own['avoided_high']:,.0f})")
    elif imp["significant"] and imp["avoided_per_week"] > 0:
        change = (f"about {imp['avoided_per_week']:,.0f} fewer contacts a week "
                  f"({lo:,.0f} to {hi:,.0f})")
    elif imp["significant"]:
        change = (f"about {-imp['avoided_per_week']:,.0f} more contacts a week "
                  f"({-hi:,.0f} to {-lo:,.0f})")
    else:
        change = "no measurable change in contacts so far"
    return f"{what[0].upper() + what[1:]} ({day:%d %B %Y}): since then, {change}."


def published(wh: Warehouse, *, as_of: dt.date | None = None, largest: int = 5,
              min_count: int = 10) -> dict[str, Any]:
    """{"actions": [...], "problems": [...]} as the public page and the daily report show them,
    as known on `as_of` (default: now): actions dated up to then, problems opened by then.
    Problems' contact counts below `min_count` are left out (Settings.min_public_count)."""
    cutoff = as_of or store.utcnow().date()
    actions = []
    for a in wh.read_dicts(
            "SELECT a.action_id, a.title, a.kind, coalesce(a.cause, p.cause) AS cause, "
            "a.action_date, a.impact FROM actions a LEFT JOIN problems p USING (problem_id) "
            "WHERE a.action_date <= ? ORDER BY a.action_date DESC, a.action_id DESC", [cutoff]):
        a["impact"] = json.loads(a["impact"]) if a["impact"] else None
        imp = a["impact"] or {}
        actions.append({
            "date": a["action_date"].isoformat(), "kind": a["kind"], "cause": a["cause"],
            "title": a["title"], "sentence": _sentence(a), "status": imp.get("status"),
            **{k: imp.get(k) for k in ("relative_effect", "relative_low", "relative_high",
                                       "avoided_per_week", "avoided_low", "avoided_high",
                                       "weeks_after")}})
    problems = []
    for p in store.problems(wh, states=("open", "acknowledged", "fix_planned", "fixed")):
        if p["opened_at"] and p["opened_at"].date() > cutoff:
            continue
        figures = p.get("figures") or {}
        since = p["first_seen"] or p["opened_at"]
        problems.append({
            "problem_id": p["problem_id"], "title": p["title"], "cause": p["cause"],
            "state": p["status"], "state_words": STATE_WORDS.get(p["status"] or "open", ""),
            "known_since": since.date().isoformat() if since else None,
            # Counts below the public minimum are not shown (as everywhere on public pages).
            "contacts": figures.get("contacts") if (figures.get("contacts") or 0) >= min_count
            else None, "priority": p["priority"],
            "due": p["due_at"].isoformat() if p["due_at"] else None})
        if len(problems) >= largest:
            break
    return {"as_of": cutoff.isoformat(), "actions": actions, "problems": problems}
