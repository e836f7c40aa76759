"""A plain query: a metric computed from the records, as one grouped aggregation.

The fact rows whose time falls in the range are filtered by the definition's `where` and the
request's filters, grouped by period and dimensions, and measured: a count, a share, a mean or
a quantile. The helpers are shared by the modules that answer part of a request another way
(from_sums.py adds stored sums to a plain query's sums of the minutes around them;
running_counts.py counts the same rows into levels), so every way gives the same figures.
"""

from __future__ import annotations

from typing import Any

import ibis
import ibis.expr.types as ir

from cxhub.metrics import facts, periods
from cxhub.metrics.definitions import Metric
from cxhub.metrics.formula import Formula, to_ibis
from cxhub.metrics.request import Request
from cxhub.metrics.source import TableSource


def plain(con: TableSource, req: Request) -> ir.Table:
    """(period, dimensions, value, n) of a count, share, mean or quantile, from the records."""
    rows = fact_rows(con, req)
    return group(rows, req, measures(rows, req.metric))


def condition(formula: Formula | None, t: ir.Table, metric: Metric) -> ir.BooleanValue | None:
    if formula is None:
        return None
    value = to_ibis(formula, t, metric.params)
    if not isinstance(value, ir.BooleanValue):
        value = ibis.literal(value) if not isinstance(value, ir.Value) else value
    return value.fill_null(False)


def dimension(t: ir.Table, name: str, time_column: str) -> ir.Value:
    if name == "hour_of_day":
        return t[time_column].hour()
    if name == "weekday":  # 0 is Monday
        return t[time_column].day_of_week.index()
    return t[name]


def filtered(t: ir.Table, req: Request, time_column: str) -> ir.Table:
    """`t` with the definition's `where` and the request's dimension filters applied."""
    where = condition(req.metric.where, t, req.metric)
    if where is not None:
        t = t.filter(where)
    for name, values in req.filters.items():
        t = t.filter(matches(dimension(t, name, time_column), values))
    return t


def matches(column: ir.Value, values: tuple[Any, ...]) -> ir.BooleanValue:
    """`column` is one of `values`; None among them stands for a missing value."""
    known = [v for v in values if v is not None]
    test = column.isin(known) if known else ibis.literal(False)
    if len(known) < len(values):
        test = test | column.isnull()
    return test.fill_null(False)


def fact_rows(con: TableSource, req: Request) -> ir.Table:
    """The fact rows whose time falls in the range and that pass the filters."""
    m = req.metric
    # Contacts whose time cannot fall in the range are dropped before any join or window: by
    # their creation time, or by the stored times a later one is made of.
    by_creation = m.fact == "contacts" and m.time == "created_at"
    start, end = req.moment("start"), req.moment("end")
    t = facts.build(con, m.fact, req.needed(), created_since=start if by_creation else None,
                    created_before=end if by_creation else None,
                    times_in=None if by_creation else {m.time: [(start, end)]})
    ts = t[m.time]
    t = t.filter(ts >= start, ts < end)
    return filtered(t, req, m.time)


def keys(t: ir.Table, req: Request, time_column: str) -> dict[str, ir.Value]:
    out: dict[str, ir.Value] = {}
    if req.grain:
        out["period"] = periods.bucket(t[time_column], req.grain)
    for name in req.dimensions:
        out[name] = dimension(t, name, time_column)
    return out


def share_counts(t: ir.Table, m: Metric) -> tuple[ir.IntegerScalar, ir.IntegerScalar]:
    """A share's (rows meeting the numerator among the denominator's, the denominator's rows)."""
    den = condition(m.denominator, t, m)
    num = condition(m.numerator, t, m)
    if den is not None:
        num = num & den
    n = t.count(where=den) if den is not None else t.count()
    return t.count(where=num), n


def row_values(t: ir.Table, m: Metric) -> ir.Value:
    """A mean or quantile metric's value per fact row, numeric (booleans as 0/1)."""
    value = to_ibis(m.value, t, m.params)  # type: ignore[arg-type]
    if not isinstance(value, ir.Value):
        value = ibis.literal(value)
    if isinstance(value, ir.BooleanValue):
        value = value.cast("int64")
    return value


def measures(t: ir.Table, m: Metric) -> dict[str, ir.Value]:
    if m.kind == "count":
        return {"value": t.count(), "n": t.count()}
    if m.kind == "share":
        hits, n = share_counts(t, m)
        return {"value": hits / n.nullif(0), "n": n}
    value = row_values(t, m)
    if m.kind == "ratio":  # sum of value over sum of `over`, across the same rows
        over = to_ibis(m.over, t, m.params)  # type: ignore[arg-type]
        return {"value": value.sum() / over.sum().nullif(0), "n": value.count()}
    aggregate = value.quantile(m.q) if m.kind == "quantile" else value.mean()
    return {"value": aggregate, "n": value.count()}


def group(t: ir.Table, req: Request, aggregates: dict[str, ir.Value]) -> ir.Table:
    by = keys(t, req, req.metric.time)
    if not by:
        return t.aggregate(**aggregates)
    return t.group_by(**by).aggregate(**aggregates)
