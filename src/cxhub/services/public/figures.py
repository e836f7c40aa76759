"""What the public sees: which catalogue metrics, over which windows, with small counts hidden.

Every figure comes from the metrics catalogue (`services.metrics.compute`); this module
only chooses metrics, windows and breakdowns, and then makes the rows safe to publish:

- only whitelisted keys survive (a period, a dimension from a controlled vocabulary, values and
  the count they are built from), so an id, a name or a text can never ride along by mistake;
- a breakdown shows only labels of the configured taxonomy, the channels and the products the
  company sells (its holdings; without any, the products files loaded by an operator name);
  any other value (a free text sent through the API as a cause or a product)
  is counted under "other", so no outside text becomes a public label;
- a value built from fewer than `min_count` contacts is blanked with its count (`suppressed`);
- when exactly one cell of a breakdown is blanked, the next smallest is blanked too, so the
  hidden one cannot be found by subtracting the others from a published total (also for two
  cells, and for each comparison column); a series by period is protected the same way
  inside every coarser period that is published too (the hours of a day, the days of a week
  and of a month), so that one grain minus another gives nothing away.
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

from cxhub.services.metrics import compute as metrics
from cxhub.services.metrics.backend import backend
from cxhub.warehouse import Warehouse
from cxhub.warehouse.schema import edge_sql

Row = dict[str, Any]
log = logging.getLogger(__name__)

# Our names for the figures -> the catalogue's metric names (one place to follow renames).
METRIC = {
    "contacts": "contacts",
    "backlog": "backlog",
    "expected_wait": "expected_wait",
    "asa": "asa",
    "service_level": "service_level",
    "abandonment": "abandonment_rate",
    "first_response": "first_response_time",
    "answered_on_time": "answered_on_time",
    "first_reply_on_time": "first_response_within_target",
    "complaints": "complaints",
    "csat": "csat",
    "failure_demand": "failure_demand_share",
    "action_impact": "action_impact",
}
# Metrics whose value is itself a count of contacts: their comparisons are counts too.
COUNT_METRICS = frozenset({"contacts", "backlog", "complaints"})

# The catalogue's weekday is 0 for Monday; hour_of_day is 0-23.
DIMENSIONS = ("period", "channel", "category", "cause", "product", "hour_of_day", "weekday",
              "owner", "status")
VALUES = ("value", "n", "previous", "last_year", "target")
COMPARISONS = ("previous", "last_year")
GRAINS = ("hour", "day", "week", "month")
VOICE_CHANNELS = ("phone", "chat")
WRITTEN_CHANNELS = ("email", "social", "web", "letter")



def _first(wh: Warehouse, sql: str, params: list[Any] | None = None) -> tuple[Any, ...] | None:
    """The first row, fully fetched: DuckDB 2.0 refuses further work on a cursor whose result
    was left half-read (as `fetchone` leaves it), and the metrics share this thread's cursor."""
    rows = wh.read(sql, params)
    return rows[0] if rows else None

def period_by(grain: str) -> str:
    """The `by` entry that asks the catalogue for periods of one grain."""
    if grain not in GRAINS:
        raise ValueError(f"grain must be one of {', '.join(GRAINS)}; got {grain!r}")
    return grain


def compute(wh: Warehouse, figure: str, *, start: datetime, end: datetime,
            by: Sequence[str] = (), compare: Sequence[str] = (),
            filters: dict[str, Any] | None = None) -> list[Row]:
    return metrics.compute(wh, METRIC[figure], start=start, end=end, by=tuple(by),
                           compare=tuple(compare), filters=filters)


def promises() -> dict[str, str]:
    """The response times the catalogue promises, per channel, as people read them ("20 s",
    "24 h"): the pages say what "on time" means from the same numbers the metrics use."""
    def said(seconds: float) -> str:
        return f"{seconds / 3600:g} h" if seconds >= 3600 else f"{seconds:g} s"

    out: dict[str, str] = {}
    for name, key in (("service_level", "threshold"),
                      ("first_response_within_target", "target_seconds")):
        try:
            limits = metrics.definition(name).params.get(key) or {}
        except Exception:  # noqa: BLE001 - a catalogue without it: the pages say less
            continue
        out.update({channel: said(float(v)) for channel, v in limits.items()})
    return out


def _is_small(n: Any, min_count: int) -> bool:
    return n is None or n < min_count


OTHER = "other"
# The dimensions whose values come from outside (a source column, the API): only known values
# are published. Weekday, hour and period are numbers and times made here.
LABELLED = ("channel", "category", "cause", "product")


def public_labels(wh: Warehouse) -> dict[str, frozenset[str]]:
    """The values a public breakdown may show, per dimension: the channels, the taxonomy in
    effect in the warehouse's home (categories and causes) and the products in holdings (or,
    with no holdings at all, in files loaded by an operator)."""
    from cxhub.analytics.classify.taxonomy import taxonomy_for_home
    from cxhub.domain.canonical import CATEGORIES, CAUSES, CHANNELS

    taxonomy = taxonomy_for_home(Path(wh.path).parent)
    try:
        # The products the company sells (its holdings). A warehouse with no holdings at
        # all (a CFPB export alone) knows the products named by files an operator loaded;
        # a value that only came through the API, where any client with a key can write
        # free text, is never published.
        products = {str(r[0]) for r in wh.read(
            "SELECT DISTINCT product FROM holdings WHERE product IS NOT NULL")}
        if not products:
            products = {str(r[0]) for r in wh.read(
                "SELECT DISTINCT c.product FROM contacts c JOIN ingest_batches b "
                "ON b.batch_id = c.batch_id AND b.format <> 'api' "
                "WHERE c.product IS NOT NULL")}
    except Exception:  # noqa: BLE001 - no holdings table: no product is known
        products = set()
    return {
        "channel": frozenset(CHANNELS),
        "category": frozenset(CATEGORIES) | frozenset(taxonomy.names("category")),
        "cause": frozenset(CAUSES) | frozenset(taxonomy.names("cause")),
        "product": frozenset(products),
    }


def relabel(rows: Iterable[Row], labels: dict[str, frozenset[str]], *,
            counts: bool) -> list[Row]:
    """Unknown values of the labelled dimensions become "other". Counts of the same (new) key
    are added up; a rate or a mean cannot be, so the rows of unknown values are left out."""
    out: list[Row] = []
    merged: dict[tuple[Any, ...], Row] = {}
    for row in rows:
        unknown = [d for d in LABELLED if d in labels and row.get(d) is not None
                   and str(row[d]) not in labels[d]]
        if not unknown:
            out.append(row)
            continue
        if not counts:
            continue
        new = {**row, **{d: OTHER for d in unknown}}
        key = tuple(new.get(d) for d in DIMENSIONS)
        if key in merged:
            _add_counts(merged[key], new)
        else:
            merged[key] = new
    known = {tuple(r.get(d) for d in DIMENSIONS): r for r in out}
    for key, row in merged.items():
        if key in known:  # a source that already says "other"
            _add_counts(known[key], row)
        else:
            out.append(row)
    return out


def _add_counts(into: Row, row: Row) -> None:
    for k in ("value", "n", *COMPARISONS, "previous_n", "last_year_n"):
        if k in into or k in row:
            a, b = into.get(k), row.get(k)
            into[k] = None if a is None and b is None else (a or 0) + (b or 0)


def suppress(rows: Iterable[Row], min_count: int, *, counts: bool = False,
             group: Sequence[str] = (), parents: Sequence[Any] = (),
             labels: dict[str, frozenset[str]] | None = None,
             total: bool = True) -> list[Row]:
    """Rows made safe to publish. `counts`: the values are contact counts (so a small previous
    or last-year value is hidden too). `group`: keys that split the rows into separate
    breakdowns (e.g. one per period) for the secondary suppression. `parents`: functions of a
    row naming a published coarser cell it adds up to (its day, week ...), for the same.
    `labels`: the values each labelled dimension may show (see `public_labels`). `total`:
    whether the whole breakdown's total is published too (not for the live cards)."""
    if labels is not None:
        rows = relabel(rows, labels, counts=counts)
    out: list[Row] = []
    for row in rows:
        safe: Row = {k: _plain(row[k]) for k in DIMENSIONS if k in row}
        safe.update({k: _plain(row.get(k)) for k in VALUES if k in row})
        small = _is_small(safe.get("n"), min_count)
        safe["suppressed"] = small
        if small:
            safe["value"], safe["n"] = None, None
            for c in COMPARISONS:
                if c in safe:
                    safe[c] = None
        else:
            for c in COMPARISONS:
                # A period the data covers only in part (the first days of the data, a year
                # back) is no comparison: a few days' count would look like a collapse.
                covered = row.get(f"{c}_coverage")
                if c in safe and isinstance(covered, dict) and covered.get("status") != "full":
                    safe[c] = None
                    continue
                # A comparison is hidden when its own base is small; the catalogue may give
                # that base as `previous_n`; for counts the value is its own base.
                base = row.get(f"{c}_n")
                if base is None and counts:
                    base = safe.get(c)
                if c in safe and base is not None and _is_small(base, min_count):
                    safe[c] = None
        out.append(safe)
    if counts:  # a rate cannot be added up to a published total: only counts need it
        groups = [lambda r, g=tuple(group): tuple(r.get(k) for k in g)] if total else []
        groups += list(parents)
        for column in ("value", *COMPARISONS):
            _secondary(out, groups, column)
    return out


def _hidden(row: Row, column: str) -> bool:
    return bool(row["suppressed"]) if column == "value" else column in row and row[column] is None


def _secondary(rows: list[Row], groups: Sequence[Any], column: str) -> None:
    """Until no published total has exactly one hidden part: hide its next smallest part."""
    changed = True
    while changed:
        changed = False
        for key in groups:
            members: dict[Any, list[Row]] = defaultdict(list)
            for row in rows:
                members[key(row)].append(row)
            for part in members.values():
                hidden = [r for r in part if _hidden(r, column)]
                shown = [r for r in part if not _hidden(r, column) and r.get(column) is not None]
                if len(hidden) != 1 or not shown:
                    continue
                smallest = min(shown, key=lambda r: r[column])
                if column == "value":
                    smallest.update(value=None, n=None, suppressed=True)
                    for c in COMPARISONS:
                        if c in smallest:
                            smallest[c] = None
                else:
                    smallest[column] = None
                changed = True


def _plain(value: Any) -> Any:
    """JSON-ready: datetimes as ISO strings, decimals and numpy numbers as floats."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return None if value != value else round(value, 6)  # NaN -> no figure
    if isinstance(value, datetime):
        return value.isoformat()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    try:
        return round(float(value), 6)
    except (TypeError, ValueError):
        return str(value)


def last_complete(now: datetime, grain: str = "day") -> datetime:
    """The end of the last complete hour or day on the clock: public windows end there, so one
    new contact (or a historic file) never moves them, and a partial period is never shown as
    if it were whole."""
    if grain == "hour":
        return now.replace(minute=0, second=0, microsecond=0)
    return now.replace(hour=0, minute=0, second=0, microsecond=0)


def data_start(wh: Warehouse) -> datetime | None:
    row = _first(wh, "SELECT " + edge_sql("contacts", "created_at", "min"))
    return row[0] if row else None


# --- sections shared by the daily report and the public page's "last 30 days" blocks ---------

Section = dict[str, Any]


def _section(figure: str, rows_fn: Any, min_count: int, *, counts: bool = False,
             group: Sequence[str] = (), labels: dict[str, frozenset[str]] | None = None,
             needs: str | None = None) -> Section:
    """One figure, or the reason it is missing: one absent metric must not sink a page.

    `needs`: a section whose data holds nothing to show (no contact with a product, no
    contact with a promised response time: "n" for no counted contact at all) is marked
    `empty`, and pages leave it out instead of showing a table of "unknown" or of blanks."""
    try:
        rows = rows_fn()
    except Exception as exc:  # noqa: BLE001 - the catalogue's errors are ours to report, not raise
        return {"metric": METRIC[figure], "rows": [], "unavailable": _reason(exc)}
    if needs is not None and not any(r.get(needs) for r in rows):
        return {"metric": METRIC[figure], "rows": [], "empty": True}
    return {"metric": METRIC[figure], "rows": suppress(rows, min_count, counts=counts,
                                                       group=group, labels=labels)}


def _reason(exc: Exception) -> str:
    # Only the error's kind: a message could quote a value from the data.
    log.warning("public figure unavailable: %s", exc)
    return type(exc).__name__


BOTH = ("previous", "last_year")
AIM = ("previous", "last_year", "target")
# The daily report's sections: (name, figure, by, compare, counts, needs); see `_section`.
# Answered on time where a promise exists: the written channels' first reply within their
# target (the catalogue's), and the source's own "timely" flag when it has one.
SECTIONS: tuple[tuple[str, str, tuple[str, ...], tuple[str, ...], bool, str | None], ...] = (
    ("volume_total", "contacts", (), BOTH, True, None),
    ("volume_by_channel", "contacts", ("channel",), BOTH, True, None),
    ("category_mix", "contacts", ("category",), (), True, None),
    ("waits_by_channel", "asa", ("channel",), BOTH, False, None),
    ("abandonment_by_channel", "abandonment", ("channel",), ("target",), False, None),
    ("first_response_by_channel", "first_response", ("channel",), (), False, None),
    ("service_level_by_channel", "service_level", ("channel",), AIM, False, None),
    ("first_reply_on_time_by_channel", "first_reply_on_time", ("channel",), ("target",),
     False, "n"),
    ("answered_on_time", "answered_on_time", (), AIM, False, "n"),
    ("complaints_by_cause", "complaints", ("cause",), BOTH, True, None),
    ("complaints_by_product", "complaints", ("product",), (), True, "product"),
    ("satisfaction", "csat", (), AIM, False, None),
)


def _last_month(start: datetime) -> tuple[datetime, datetime]:
    month_end = start.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return (month_end - timedelta(days=1)).replace(day=1), month_end


def sections(wh: Warehouse, *, start: datetime, end: datetime,
             min_count: int, frozen: bool = True) -> dict[str, Section]:
    """Every figure of a daily report for [start, end). `frozen`: as known at `end` (a
    report); otherwise as known now (the page's last 30 days), for the actions' impact."""
    labels = public_labels(wh)
    out: dict[str, Section] = {}
    for name, figure, by, compare, counts, needs in SECTIONS:
        out[name] = _section(
            figure, lambda f=figure, b=by, c=compare: compute(wh, f, start=start, end=end,
                                                              by=b, compare=c),
            min_count, counts=counts, labels=labels, needs=needs)
    month_start, month_end = _last_month(start)
    out["satisfaction_last_month"] = _section(
        "csat", lambda: compute(wh, "csat", start=month_start, end=month_end,
                                compare=("target",)), min_count)
    out["actions"] = actions(wh, start=start, end=end, min_count=min_count,
                             known_by=end if frozen else None)
    out["open_problems"] = open_problems(wh, known_by=end if frozen else None,
                                         min_count=min_count)
    return out


def daily_sections(wh: Warehouse, days: Sequence[date], *,
                   min_count: int) -> Iterator[tuple[date, dict[str, Section]]]:
    """`sections` of many whole days (UTC), equal to asking day by day, in a dozen queries:
    each figure once by day over all the days and the days they are compared with (a year
    back), then cut per day. A year of daily reports in seconds instead of minutes."""
    from cxhub.metrics import coverage

    if not days:
        return
    first = datetime.combine(min(days), datetime.min.time())
    last = datetime.combine(max(days), datetime.min.time()) + timedelta(days=1)
    reach = first - timedelta(days=380)  # a year back, and a month before that
    labels = public_labels(wh)
    tables = backend(wh)
    bulk: dict[str, dict[str, list[Row]] | Exception] = {}
    spans: dict[str, Any] = {}
    for name, figure, by, compare, _, _ in SECTIONS:
        try:
            rows = compute(wh, figure, start=reach, end=last, by=("day", *by),
                           compare=tuple(c for c in compare if c == "target"))
            by_day: dict[str, list[Row]] = defaultdict(list)
            for r in rows:
                by_day[str(r.pop("period"))[:10]].append(r)
            bulk[name] = by_day
            if figure not in spans:
                spans[figure] = coverage.data_span(tables, metrics.definition(METRIC[figure]))
        except Exception as exc:  # noqa: BLE001 - reported per section, as day by day
            bulk[name] = exc
    try:
        months = compute(wh, "csat", start=_last_month(first)[0], end=last, by=("month",),
                         compare=("target",))
        month_rows: dict[str, list[Row]] = defaultdict(list)
        for r in months:
            month_rows[str(r.pop("period"))[:10]].append(r)
        by_month: dict[str, list[Row]] | Exception = month_rows
    except Exception as exc:  # noqa: BLE001
        by_month = exc

    for day in sorted(days):
        start = datetime.combine(day, datetime.min.time())
        end = start + timedelta(days=1)
        out: dict[str, Section] = {}
        for name, figure, by, compare, counts, needs in SECTIONS:
            out[name] = _section(
                figure, partial(_day_rows, bulk[name], start, by, compare, spans.get(figure)),
                min_count, counts=counts, labels=labels, needs=needs)
        month = _last_month(start)[0].date().isoformat()
        out["satisfaction_last_month"] = _section("csat", partial(_cut, by_month, month),
                                                  min_count)
        out["actions"] = actions(wh, start=start, end=end, min_count=min_count, known_by=end)
        out["open_problems"] = open_problems(wh, known_by=end, min_count=min_count)
        yield day, out


def _cut(found: dict[str, list[Row]] | Exception, key: str) -> list[Row]:
    if isinstance(found, Exception):
        raise found
    return [dict(r) for r in found.get(key, [])]


def _day_rows(found: dict[str, list[Row]] | Exception, start: datetime, by: Sequence[str],
              compare: Sequence[str], span: Any) -> list[Row]:
    """One day's rows with their comparisons, as `metrics.query.compute` makes them."""
    from cxhub.metrics import coverage, periods

    end = start + timedelta(days=1)
    rows = _present(_cut(found, start.date().isoformat()), by)
    for c in ("previous", "last_year"):
        if c not in compare:
            continue
        shift = periods.comparison_range(c, start, end, None)
        then = shift.back(start)
        cov = coverage.coverage(span, then, shift.back(end))
        earlier = {tuple(r.get(d) for d in by): r["value"]
                   for r in _present(_cut(found, then.date().isoformat()), by)}
        for r in rows:
            r[c] = None if cov["status"] == "none" else earlier.get(tuple(r.get(d) for d in by))
            r[f"{c}_coverage"] = cov
    return rows


def _present(rows: list[Row], by: Sequence[str]) -> list[Row]:
    """A day's rows as a query of that day alone gives them: asked by day, every period is
    listed with every value seen in the range (a count of 0, otherwise no value), where a
    query of the day alone has no row for a value without contacts."""
    if not by:
        return rows
    return [r for r in rows if r.get("n")]


def actions(wh: Warehouse, *, start: datetime, end: datetime, min_count: int,
            known_by: datetime | None = None) -> Section:
    """Actions taken up to `end` whose impact had been measured by `known_by` (a frozen
    report: its own end; the live page: now), with that impact: the change in contacts a
    week against what was expected without the action (negative: fewer). Only the action's
    kind, cause, date and the measured figures are published: titles, notes and owners are
    staff-written text. An honest empty state until there are any."""
    row = _first(wh, "SELECT count(*) FROM actions")
    if not row or not row[0]:
        return {"metric": METRIC["action_impact"], "rows": [], "empty": True}
    try:
        found = wh.read(
            # An action on a problem is about the problem's cause.
            "SELECT a.action_date, a.kind, coalesce(a.cause, p.cause), a.impact FROM actions a "
            "LEFT JOIN problems p USING (problem_id) WHERE a.action_date < ? "
            "AND a.impact IS NOT NULL AND (? IS NULL OR a.impact_at <= ?) "
            "ORDER BY a.action_date, a.action_id",
            [end, known_by, known_by])
    except Exception as exc:  # noqa: BLE001 - an older actions table: say it, do not fail
        return {"metric": METRIC["action_impact"], "rows": [], "unavailable": _reason(exc)}
    rows = []
    for day, kind, cause, impact in found:
        figures = json.loads(impact) if isinstance(impact, str) else (impact or {})
        if figures.get("status") != "measured":
            continue
        actual, expected = figures.get("actual_per_week"), figures.get("expected_per_week")
        if actual is None or expected is None:
            continue
        change, significant = actual - expected, bool(figures.get("significant"))
        span = (figures.get("avoided_low"), figures.get("avoided_high"))
        fault = figures.get("problem") or {}
        basis, days = "cause", None
        if fault.get("avoided_low") is not None and fault["avoided_low"] > 0:
            # An action on a problem (a fault's fix): what it avoided is the problem's own
            # contacts, which the cause as a whole can hide (its fault weeks are not its norm).
            change, expected = -fault["avoided_per_week"], fault["contacts_per_week_before"]
            significant, span = True, (fault["avoided_low"], fault["avoided_high"])
            # `previous` is then the problem's weekly rate over the `days` before the action
            # (fewer than 7 for a fault younger than a week).
            basis, days = "problem", int(fault.get("days_before") or 7)
        # The 95% range of the change (contacts avoided a week, turned into a change).
        a, b = span
        low, high = sorted((-a, -b)) if a is not None and b is not None else (None, None)
        rows.append({"period": day, "kind": str(kind or "action"), "cause": cause,
                     "value": round(change, 1), "previous": round(expected, 1),
                     "low": None if low is None else round(low, 1),
                     "high": None if high is None else round(high, 1),
                     "significant": significant, "basis": basis,
                     **({"days": days} if days is not None else {})})
    labels = public_labels(wh)
    safe = relabel(rows, labels, counts=False)
    return {"metric": METRIC["action_impact"],
            "rows": [{k: _plain(v) for k, v in r.items()} for r in safe]}


OPEN_STATES = ("open", "acknowledged", "fix_planned", "fixed")


def open_problems(wh: Warehouse, *, known_by: datetime | None, min_count: int,
                  largest: int = 5) -> Section:
    """The largest problems still open, as the company knew them at `known_by` (a frozen
    report: its own end; the live page: now): opened before then, in the state after the
    last change before then (the audit trail), with since when the company has known (first
    contact seen), the cause and product, and the contacts linked (hidden below `min_count`).
    Titles, notes and owners are staff-written text and are never published."""
    at = known_by or datetime(9999, 12, 31)
    try:
        found = wh.read_dicts(
            "SELECT p.problem_id, p.cause, p.product, p.figures, "
            "coalesce(p.first_seen, p.opened_at) AS since, coalesce((SELECT e.state FROM "
            "problem_events e WHERE e.problem_id = p.problem_id AND e.state IS NOT NULL AND "
            "e.happened_at < ? ORDER BY e.happened_at DESC, e.event_id DESC LIMIT 1), "
            "'open') AS state FROM problems p WHERE p.opened_at < ? "
            "ORDER BY p.priority_score DESC NULLS LAST, p.problem_id", [at, at])
    except Exception as exc:  # noqa: BLE001 - an older warehouse: say it, do not fail
        return {"metric": "open_problems", "rows": [], "unavailable": _reason(exc)}
    labels = public_labels(wh)
    rows: list[Row] = []
    for p in found:
        for dim in ("cause", "product"):  # only the taxonomy's and known products' names
            if p[dim] is not None and dim in labels and str(p[dim]) not in labels[dim]:
                p[dim] = OTHER
        if p["state"] not in OPEN_STATES or p["since"] is None:
            continue
        figures = json.loads(p["figures"]) if isinstance(p["figures"], str) else (
            p["figures"] or {})
        n = figures.get("contacts")
        shown = n is not None and n >= min_count
        rows.append({"period": p["since"].date().isoformat(), "cause": p["cause"],
                     "product": p["product"], "status": p["state"],
                     "value": n if shown else None, "suppressed": not shown})
        if len(rows) >= largest:
            break
    return {"metric": "open_problems", "rows": rows, "empty": not rows}
