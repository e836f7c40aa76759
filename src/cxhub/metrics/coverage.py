"""How much of a comparison period the data covers.

A figure compared with a period the data does not reach is a figure compared with nothing: a
warehouse whose contacts start in December has no "last year", and the few days of a partly
covered period make a count look small and a mean look unsteady. So each comparison carries
its coverage: the days of the compared period that lie between the day of the first record
and the day of the last record of the metric's table (contacts, survey answers or posts).

    {"days": 30, "covered_days": 3, "status": "partial"}

`status` is full, partial or none. Periods shorter than a day count a fraction of a day.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import ibis.expr.types as ir

from cxhub.metrics import periods
from cxhub.metrics.definitions import Metric
from cxhub.metrics.source import TableSource

DAY = timedelta(days=1)
# The column that dates each fact's records, for the span of the data.
SPAN_COLUMN = {"contacts": ("contacts", "created_at"), "surveys": ("surveys", "answered_at"),
               "mentions": ("mentions", "created_at"),
               "service_contacts": ("contacts", "created_at"),
               "forecasts": ("forecasts", "interval_start")}

Span = tuple[datetime, datetime] | None  # the first and last day held (last day included)


def data_span(con: TableSource, metric: Metric) -> Span:
    """The days of the first and the last record of the metric's table; None when empty."""
    table, column = SPAN_COLUMN[metric.fact]
    backend: Any = getattr(con, "backend", con)
    if getattr(backend, "name", None) == "duckdb":  # plain SQL: no Ibis compile per call
        # The first row of each order, not min() and max(): with rows appended since the last
        # checkpoint those read every block of the column, which DuckDB keeps (as
        # cxhub.warehouse.schema.edge_sql says; metrics/ does not import the warehouse).
        first, last = backend.con.execute(
            f"SELECT (SELECT {column} FROM {table} ORDER BY {column} NULLS LAST LIMIT 1), "
            f"(SELECT {column} FROM {table} ORDER BY {column} DESC NULLS LAST LIMIT 1)"
        ).fetchall()[0]
    else:
        t: ir.Table = con.table(table)
        found = t.aggregate(first=t[column].min(), last=t[column].max()).to_pyarrow()
        first, last = found.column("first")[0].as_py(), found.column("last")[0].as_py()
    if first is None or last is None:
        return None
    return periods.floor(_naive(first), "day"), periods.floor(_naive(last), "day")


def _naive(t: Any) -> datetime:
    if not isinstance(t, datetime):  # a date
        t = datetime(t.year, t.month, t.day)
    if t.tzinfo is not None:
        t = (t - t.utcoffset()).replace(tzinfo=None)
    out: datetime = t
    return out


def coverage(span: Span, start: datetime, end: datetime) -> dict[str, Any]:
    """The days of [start, end) that the data covers."""
    length = end - start
    if span is None:
        overlap = timedelta(0)
    else:
        first, last = span
        overlap = max(timedelta(0), min(end, last + DAY) - max(start, first))
    status = "full" if overlap >= length else "none" if overlap <= timedelta(0) else "partial"
    return {"days": _days(length), "covered_days": _days(overlap), "status": status}


def _days(span: timedelta) -> int | float:
    days = span / DAY
    return int(days) if days == int(days) else round(days, 3)


def note(cov: dict[str, Any] | None) -> str:
    """What a person reads next to a compared figure: '' when the data covers the period."""
    if not cov or cov.get("status") == "full":
        return ""
    if cov["status"] == "none":
        return "no data for that period"
    return f"partial: {_text(cov['covered_days'])} of {_text(cov['days'])} days"


def _text(days: int | float) -> str:
    return f"{days:,}" if isinstance(days, int) else f"{days:.1f}"
