"""What the public sees: which catalogue metrics, over which windows, with small counts hidden.

Every figure comes from the metrics catalogue (`cxhub.services.metrics.compute`); this module
only chooses metrics, windows and breakdowns, and then makes the rows safe to publish:

- only whitelisted keys survive (a period, a dimension from a controlled vocabulary, values and
  the count they are built from), so an id, a name or a text can never ride along by mistake;
- a value built from fewer than `min_count` contacts is blanked with its count (`suppressed`);
- when exactly one cell of a breakdown is blanked, the next smallest is blanked too, so the
  hidden one cannot be found by subtracting the others from a published total.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from cxhub.services import metrics
from cxhub.warehouse import Warehouse

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


def _is_small(n: Any, min_count: int) -> bool:
    return n is None or n < min_count


def suppress(rows: Iterable[Row], min_count: int, *, counts: bool = False,
             group: Sequence[str] = ()) -> list[Row]:
    """Rows made safe to publish. `counts`: the values are contact counts (so a small previous
    or last-year value is hidden too). `group`: keys that split the rows into separate
    breakdowns (e.g. one per period) for the secondary suppression."""
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
                # A comparison is hidden when its own base is small; the catalogue may give
                # that base as `previous_n`; for counts the value is its own base.
                base = row.get(f"{c}_n")
                if base is None and counts:
                    base = safe.get(c)
                if c in safe and base is not None and _is_small(base, min_count):
                    safe[c] = None
        out.append(safe)
    if counts:  # a rate cannot be added up to a published total: only counts need it
        _secondary(out, group)
    return out


def _secondary(rows: list[Row], group: Sequence[str]) -> None:
    groups: dict[tuple[Any, ...], list[Row]] = defaultdict(list)
    for row in rows:
        groups[tuple(row.get(k) for k in group)].append(row)
    for members in groups.values():
        hidden = [r for r in members if r["suppressed"]]
        shown = [r for r in members if not r["suppressed"]]
        if len(hidden) == 1 and len(members) > 2 and shown:
            smallest = min(shown, key=lambda r: r["n"])
            smallest.update(value=None, n=None, suppressed=True)
            for c in COMPARISONS:
                if c in smallest:
                    smallest[c] = None


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


def data_end(wh: Warehouse, now: datetime) -> datetime:
    """The moment figures run up to: now, or the last contact when the data stops earlier
    (a historic file), so "the last 30 days" means the data's last 30 days."""
    row = _first(wh, "SELECT max(created_at) FROM contacts WHERE created_at <= ?", [now])
    last = row[0] if row else None
    if last is None:
        return now
    return min(now, last + timedelta(seconds=1))


def data_start(wh: Warehouse) -> datetime | None:
    row = _first(wh, "SELECT min(created_at) FROM contacts")
    return row[0] if row else None


# --- sections shared by the daily report and the public page's "last 30 days" blocks ---------

Section = dict[str, Any]


def _section(figure: str, rows_fn: Any, min_count: int, *, counts: bool = False,
             group: Sequence[str] = ()) -> Section:
    """One figure, or the reason it is missing: one absent metric must not sink a page."""
    try:
        rows = rows_fn()
    except Exception as exc:  # noqa: BLE001 - the catalogue's errors are ours to report, not raise
        return {"metric": METRIC[figure], "rows": [], "unavailable": _reason(exc)}
    return {"metric": METRIC[figure], "rows": suppress(rows, min_count, counts=counts,
                                                       group=group)}


def _reason(exc: Exception) -> str:
    # Only the error's kind: a message could quote a value from the data.
    log.warning("public figure unavailable: %s", exc)
    return type(exc).__name__


def sections(wh: Warehouse, *, start: datetime, end: datetime,
             min_count: int) -> dict[str, Section]:
    """Every figure of a daily report for [start, end)."""

    def calc(figure: str, by: Sequence[str] = (), compare: Sequence[str] = (),
             filters: dict[str, Any] | None = None, *, s: datetime = start,
             e: datetime = end) -> Any:
        return lambda: compute(wh, figure, start=s, end=e, by=by, compare=compare,
                               filters=filters)

    both = ("previous", "last_year")
    aim = ("previous", "last_year", "target")
    month_end = start.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    month_start = (month_end - timedelta(days=1)).replace(day=1)
    return {
        "volume_total": _section("contacts", calc("contacts", (), both), min_count, counts=True),
        "volume_by_channel": _section("contacts", calc("contacts", ("channel",), both),
                                      min_count, counts=True),
        "category_mix": _section("contacts", calc("contacts", ("category",)), min_count,
                                 counts=True),
        "waits_by_channel": _section("asa", calc("asa", ("channel",), both), min_count),
        "abandonment_by_channel": _section(
            "abandonment", calc("abandonment", ("channel",), ("target",)), min_count),
        "first_response_by_channel": _section("first_response",
                                              calc("first_response", ("channel",)), min_count),
        "service_level_by_channel": _section("service_level",
                                             calc("service_level", ("channel",), aim), min_count),
        "answered_on_time": _section("answered_on_time", calc("answered_on_time", (), aim),
                                     min_count),
        "complaints_by_cause": _section("complaints", calc("complaints", ("cause",), both),
                                        min_count, counts=True),
        "complaints_by_product": _section("complaints", calc("complaints", ("product",)),
                                          min_count, counts=True),
        "satisfaction": _section("csat", calc("csat", (), aim), min_count),
        "satisfaction_last_month": _section(
            "csat", calc("csat", (), ("target",), s=month_start, e=month_end), min_count),
        "actions": actions(wh, start=start, end=end, min_count=min_count),
    }


def actions(wh: Warehouse, *, start: datetime, end: datetime, min_count: int) -> Section:
    """Actions taken and their measured impact; an honest empty state until there are any."""
    row = _first(wh, "SELECT count(*) FROM actions")
    if not row or not row[0]:
        return {"metric": METRIC["action_impact"], "rows": [], "empty": True}
    return _section("action_impact",
                    lambda: compute(wh, "action_impact", start=start, end=end,
                                    by=("cause", "owner", "status")), min_count)
