"""Actions' measured impact, stored with each action for the public page, the daily report and
the Atom feed (which publish it through `cxhub.services.public.figures.actions`, beside the
largest open problems: `figures.open_problems`). Aggregates only: no owner, no e-mail, no
contact, no customer.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from cxhub.services.problems import impact as impact_svc
from cxhub.services.problems import store
from cxhub.services.problems.errors import ProblemInputError
from cxhub.warehouse import Warehouse


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
