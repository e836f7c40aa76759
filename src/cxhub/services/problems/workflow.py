"""A problem's life: assignment to its owner, state changes by the right roles, and actions.

States: open -> acknowledged -> fix_planned (with a due date) -> fixed -> verified, or
wont_fix (with a reason) from any state before fixed. A change that skips a state is refused,
naming the state field; every change is an event (who, when, note) in problem_events.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from cxhub.services.problems import store
from cxhub.services.problems.errors import ProblemInputError, parse_date
from cxhub.services.problems.ownership import Ownership
from cxhub.warehouse import Warehouse

STATES = ("open", "acknowledged", "fix_planned", "fixed", "verified", "wont_fix")
NEXT = {"open": ("acknowledged", "wont_fix"), "acknowledged": ("fix_planned", "wont_fix"),
        "fix_planned": ("fixed", "wont_fix"), "fixed": ("verified",), "verified": (),
        "wont_fix": ()}
# Who may change a problem's state or record an action (dashboard roles).
CHANGE_ROLES = ("admin", "analyst")
ACTION_KINDS = ("fix", "process_change", "help_content", "communication")


def check_role(role: str | None) -> None:
    if role not in CHANGE_ROLES:
        raise ProblemInputError("role", f"a {role or 'user without a role'} may not change "
                                f"problems; roles allowed: {', '.join(CHANGE_ROLES)}")


def assign(wh: Warehouse, own: Ownership, *, actor: str = "cxhub",
           now: dt.datetime | None = None) -> list[int]:
    """Give each problem without an owner to the first matching entry of the map."""
    now = now or store.utcnow()
    todo = []
    for p in store.problems(wh):
        if p["owner"]:
            continue
        o = own.owner_for(p)
        if o is not None:
            todo.append((p["problem_id"], o))

    def write(c: Any) -> None:
        for pid, o in todo:
            c.execute("UPDATE problems SET owner = ?, manager = ?, department = ?, "
                      "updated_at = ? WHERE problem_id = ?",
                      [o.owner, o.manager, o.department, now, pid])
            store.add_event(c, pid, "assigned", actor=actor, at=now,
                            note=f"{o.department}: {o.owner}",
                            detail={"owner": o.owner, "manager": o.manager,
                                    "department": o.department})
    if todo:
        wh.write(write)
    return [pid for pid, _ in todo]


def change_state(wh: Warehouse, problem_id: int, state: str, *, actor: str, role: str | None,
                 note: str | None = None, due: Any = None, reason: str | None = None,
                 now: dt.datetime | None = None) -> dict[str, Any]:
    """Move a problem to `state`; refused (nothing written) when it skips a state."""
    now = now or store.utcnow()
    check_role(role)
    if state not in STATES:
        raise ProblemInputError("state", f"unknown state {state!r}; states: {', '.join(STATES)}")
    due_date = None
    if state == "fix_planned":
        if due is None:
            raise ProblemInputError("due", "a planned fix needs a due date")
        due_date = parse_date(due, "due")
        if due_date < now.date():
            raise ProblemInputError("due", f"{due_date} is in the past")
    if state == "wont_fix" and not (reason and reason.strip()):
        raise ProblemInputError("reason", "say why the problem will not be fixed")

    def write(c: Any) -> dict[str, Any]:
        row = c.execute("SELECT status FROM problems WHERE problem_id = ?",
                        [problem_id]).fetchone()
        if row is None:
            raise ProblemInputError("problem_id", f"no problem {problem_id}")
        current = row[0] or "open"
        if state not in NEXT[current]:
            allowed = ", ".join(NEXT[current]) or "none (the problem is closed)"
            raise ProblemInputError("state", f"cannot go from {current} to {state}; "
                                    f"next: {allowed}")
        closed = now if state in ("verified", "wont_fix") else None
        c.execute("UPDATE problems SET status = ?, state_at = ?, updated_at = ?, "
                  "due_at = coalesce(?, due_at), reason = coalesce(?, reason), "
                  "closed_at = coalesce(?, closed_at) WHERE problem_id = ?",
                  [state, now, now, due_date, reason, closed, problem_id])
        store.add_event(c, problem_id, "state", actor=actor, at=now, state=state, note=note,
                        detail={"from": current, "due": due_date, "reason": reason})
        return {"problem_id": problem_id, "from": current, "state": state}

    return wh.write(write)


def record_action(wh: Warehouse, *, title: str, kind: str, date: Any, actor: str,
                  role: str | None, problem_id: int | None = None, cause: str | None = None,
                  note: str | None = None, origin: str = "user",
                  now: dt.datetime | None = None) -> int:
    """An action taken (a fix, a process change, help content, a communication) on a problem
    or a cause. A future date is refused: an action is recorded once it is done."""
    now = now or store.utcnow()
    check_role(role)
    if kind not in ACTION_KINDS:
        raise ProblemInputError("kind", f"unknown kind {kind!r}; kinds: {', '.join(ACTION_KINDS)}")
    if not title or not title.strip():
        raise ProblemInputError("title", "say what was done")
    day = parse_date(date, "date")
    if day > now.date():
        raise ProblemInputError("date", f"{day} is in the future; record an action once done")
    if problem_id is None and not cause:
        raise ProblemInputError("problem_id", "link the action to a problem or a cause")
    if cause is not None:
        known = {r[0] for r in wh.read(
            "SELECT DISTINCT cause FROM contacts WHERE cause IS NOT NULL UNION "
            "SELECT DISTINCT cause FROM current_labels WHERE cause IS NOT NULL")}
        if cause not in known:
            raise ProblemInputError("cause", f"unknown cause {cause!r}; the contacts have: "
                                    f"{', '.join(sorted(known)) or 'none'}")

    def write(c: Any) -> int:
        if problem_id is not None and c.execute(
                "SELECT 1 FROM problems WHERE problem_id = ?", [problem_id]).fetchone() is None:
            raise ProblemInputError("problem_id", f"no problem {problem_id}")
        aid = store.next_id(c, "actions", "action_id")
        c.execute("INSERT INTO actions (action_id, problem_id, title, owner, done_at, status, "
                  "note, kind, cause, action_date, recorded_by, recorded_at, origin) "
                  "VALUES (?, ?, ?, ?, ?, 'done', ?, ?, ?, ?, ?, ?, ?)",
                  [aid, problem_id, title.strip(), actor, day, note, kind, cause, day, actor,
                   now, origin])
        if problem_id is not None:
            store.add_event(c, problem_id, "action", actor=actor, at=now,
                            note=f"{kind}: {title.strip()} ({day})", detail={"action_id": aid})
        return aid

    return wh.write(write)


def actions(wh: Warehouse, *, problem_id: int | None = None) -> list[dict[str, Any]]:
    sql = ("SELECT action_id, problem_id, title, kind, cause, action_date, recorded_by, "
           "recorded_at, origin, note, impact FROM actions")
    params: list[Any] = []
    if problem_id is not None:
        sql += " WHERE problem_id = ?"
        params.append(problem_id)
    rows = wh.read_dicts(sql + " ORDER BY action_date DESC, action_id DESC", params)
    import json

    for d in rows:
        d["impact"] = json.loads(d["impact"]) if d["impact"] else None
    return rows
