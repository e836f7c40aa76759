"""`cxhub problems impact`: what an action changed in the contacts of its cause.

The daily contacts per cause come from the metrics layer (the `contacts` metric by day and
cause, read from the ready-made daily sums when they are up to date), so the estimate counts
exactly what every page counts. The treated series is the action's cause; the controls are the
other causes. See cxhub.analytics.problems.impact for the model.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np

from cxhub.analytics.problems.impact import Impact, ImpactSettings, estimate, weekly
from cxhub.domain.errors import CxhubError
from cxhub.services.metrics import compute as metrics
from cxhub.services.problems.errors import ProblemInputError, ProblemNotFoundError, parse_date
from cxhub.warehouse import Warehouse
from cxhub.warehouse.schema import span_sql


def data_days(wh: Warehouse) -> tuple[dt.date, dt.date] | None:
    """The first and the last whole day of contacts (the last day seen may be under way)."""
    row = wh.read_one(span_sql("contacts", "created_at"))
    if not row or row[0] is None:
        return None
    first, last = row[0], row[1]
    last_whole = last.date() if last.time() >= dt.time(23, 0) else last.date() - dt.timedelta(1)
    return first.date(), last_whole


def daily_by_cause(wh: Warehouse, first: dt.date, last: dt.date
                   ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """(days, {cause: contacts per day}) over [first, last]."""
    rows = metrics.compute(wh, "contacts", start=first, end=last, by=("day", "cause"))
    days = np.datetime64(first, "D") + np.arange((last - first).days + 1)
    series: dict[str, np.ndarray] = {}
    for r in rows:
        cause = r.get("cause")
        if cause is None:
            continue
        i = (np.datetime64(_day(r["period"]), "D") - days[0]).astype(int)
        if 0 <= i < len(days):
            series.setdefault(cause, np.zeros(len(days)))[i] += float(r["value"] or 0)
    return days, series


def _day(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


def cause_impact(wh: Warehouse, *, cause: str, since: str | dt.date,
                 settings: ImpactSettings | None = None) -> Impact:
    """The effect of an action on `cause` from the day `since` on."""
    day = parse_date(since, "since")
    span = data_days(wh)
    if span is None:
        raise ProblemInputError("since", "there are no contacts in the warehouse yet")
    first, last = span
    if not first < day <= last + dt.timedelta(days=1):
        raise ProblemInputError(
            "since", f"{day} is outside the contacts' dates ({first} to {last})")
    days, series = daily_by_cause(wh, first, last)
    if cause not in series:
        known = ", ".join(sorted(series)) or "none"
        raise ProblemInputError("cause", f"unknown cause {cause!r}; the contacts have: {known}")
    others = [c for c in sorted(series) if c != cause]
    if not others:
        raise ProblemInputError("cause", "no other cause to serve as a control series")
    controls = np.column_stack([series[c] for c in others])
    imp = estimate(weekly(days, series[cause], controls, day, first, last), day, settings)
    left = [others[j] for j in imp.controls_left_out]
    used = [c for c in others if c not in left]
    imp.method += f"; treated: contacts with cause {cause}; controls: {', '.join(used)}"
    if left:
        imp.method += f" ({', '.join(left)} left out: changed at the same time)"
    return imp


def impact_dict(imp: Impact, *, cause: str, **extra: Any) -> dict[str, Any]:
    return {"cause": cause, **extra, **imp.to_dict()}


def problem_impact(wh: Warehouse, problem_id: int,
                   settings: ImpactSettings | None = None) -> dict[str, Any]:
    """The effect of the problem's last action on the problem's cause."""
    found = wh.read_one("SELECT cause FROM problems WHERE problem_id = ?", [problem_id])
    if found is None:
        raise ProblemNotFoundError("problem_id", f"no problem {problem_id}")
    last = wh.read_one(
        "SELECT action_id, action_date, coalesce(cause, ?), title FROM actions "
        "WHERE problem_id = ? AND action_date IS NOT NULL "
        "ORDER BY action_date DESC, action_id DESC LIMIT 1", [found[0], problem_id])
    if last is None:
        raise ProblemInputError("problem_id", f"problem {problem_id} has no action to measure; "
                                "record one with `cxhub problems act`")
    action_id, day, cause, title = last
    if not cause:
        raise ProblemInputError("cause", f"problem {problem_id} and its last action name no "
                                "cause to measure")
    imp = cause_impact(wh, cause=cause, since=day, settings=settings)
    return impact_dict(imp, cause=cause, problem_id=problem_id, action_id=action_id,
                       action=title, problem=problem_contacts_change(wh, problem_id, day),
                       outcomes=outcomes(wh, cause=cause, since=day))


def problem_contacts_change(wh: Warehouse, problem_id: int, day: dt.date,
                            days: int = 7) -> dict[str, Any] | None:
    """The problem's own contacts a week after the action against its rate in the `days` days
    before it (or since its first contact, when that is later), which the problem would have
    kept without the action: what the fix of a fault (a spike of contacts of its own) avoided.
    Counts contacts linked to the problem, and for a problem found with a rule, any later
    contact the rule matches. None without contacts."""
    import json

    import pandas as pd

    from cxhub.analytics.problems import plans
    from cxhub.analytics.problems.discovery import Rule
    from cxhub.warehouse.engines import connect

    span = data_days(wh)
    if span is None:
        return None
    start = dt.datetime.combine(day, dt.time()) - dt.timedelta(days=days)
    action = dt.datetime.combine(day, dt.time())
    end = dt.datetime.combine(span[1] + dt.timedelta(days=1), dt.time())
    weeks_after = (end - action).days / 7
    linked = wh.read_one(
        "SELECT count(*) FILTER (WHERE c.created_at >= ? AND c.created_at < ?), "
        "count(*) FILTER (WHERE c.created_at >= ? AND c.created_at < ?), "
        "min(c.created_at) FILTER (WHERE c.created_at >= ? AND c.created_at < ?) "
        "FROM problem_contacts p JOIN contacts c USING (contact_id) WHERE p.problem_id = ?",
        [start, action, action, end, start, action, problem_id])
    before, after = (int(x or 0) for x in linked[:2]) if linked else (0, 0)
    # A fault that began within the window (a release three days before its rollback) came
    # at its rate since it began, not spread over the whole window: whole days since its first
    # contact, at least one.
    began = linked[2] if linked else None
    active = days
    if began is not None:
        active = min(days, max(1, -((began - action) // dt.timedelta(days=1))))
    row = wh.read_one("SELECT rule FROM problems WHERE problem_id = ?", [problem_id])
    if row and row[0]:
        rule = Rule.from_dict(json.loads(row[0]))
        con = connect(None, duckdb_connection=wh.new_cursor())
        causes = sorted({c for c, _ in rule.cells})
        later = plans.labelled_contacts(con, start=action, end=end, causes=causes,
                                        columns=("contact_id", "created_at", "cause",
                                                 "category", "text"))
        frame: pd.DataFrame = later.to_pyarrow().to_pandas()
        after = max(after, int(rule.matches(frame).sum()))
    if before == 0 or weeks_after < 1:
        return None
    rate = before * 7 / active
    half = 1.96 * np.sqrt(before) * 7 / active  # Poisson error of the rate before
    per_week_after = after / weeks_after
    return {"contacts_per_week_before": rate, "contacts_per_week_after": per_week_after,
            "avoided_per_week": rate - per_week_after,
            "avoided_low": rate - half - per_week_after,
            "avoided_high": rate + half - per_week_after, "weeks_after": weeks_after,
            "days_before": active,
            "method": f"the problem's contacts in the {active} days before the action (at most "
                      f"{days}, from its first contact), as a weekly rate it would have kept, "
                      "minus its contacts a week since (95% interval from the Poisson error of "
                      "the rate before)"}


def own_contacts_message(change: dict[str, Any], since: str) -> str:
    """`problem_contacts_change` in words: "since 2026-11-09, about 218 fewer of its own
    contacts a week than expected without it (188 to 248)"."""
    n, low, high = (float(change[k]) for k in ("avoided_per_week", "avoided_low",
                                               "avoided_high"))
    if low <= 0 <= high:
        return (f"since {since}, no clear change in its own contacts a week ({-high:+,.0f} to "
                f"{-low:+,.0f})")
    word = "fewer" if n > 0 else "more"
    a, b = sorted((abs(low), abs(high)))
    return (f"since {since}, about {abs(n):,.0f} {word} of its own contacts a week than "
            f"expected without it ({a:,.0f} to {b:,.0f})")


OUTCOMES = {"fcr": "first contact resolution (no repeat within 7 days)",
            "csat": "satisfaction (share of 4 and 5 answers)"}


def outcomes(wh: Warehouse, *, cause: str, since: str | dt.date,
             weeks: int = 8) -> dict[str, Any]:
    """Repeat contacts and satisfaction of the cause's contacts, in the `weeks` whole weeks
    before the action and after it (as many as the data has, up to `weeks`): before and after
    only, from the metrics catalogue's own definitions (fcr, csat) filtered on the cause.
    Not a counterfactual: the other figures of the action are."""
    day = parse_date(since, "since")
    span = data_days(wh)
    if span is None:
        return {}
    after_end = min(day + dt.timedelta(weeks=weeks), span[1] + dt.timedelta(days=1))
    ranges = {"before": (day - dt.timedelta(weeks=weeks), day), "after": (day, after_end)}
    found: dict[str, Any] = {}
    for name, meaning in OUTCOMES.items():
        row: dict[str, Any] = {"meaning": meaning}
        for side, (a, b) in ranges.items():
            if b <= a:
                row[side] = None
                continue
            try:
                rows = metrics.compute(wh, name, start=dt.datetime.combine(a, dt.time()),
                                       end=dt.datetime.combine(b, dt.time()),
                                       filters={"cause": cause})
            except CxhubError:
                rows = []
            row[side] = rows[0]["value"] if rows else None
            row[f"{side}_n"] = rows[0].get("n") if rows else 0
        found[name] = row
    return found
