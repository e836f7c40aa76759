"""A metric definition, a range, a grain, dimensions and filters -> one Ibis expression.

The expression has the columns `period` (with a grain), one per dimension, `value` and `n`
(how many contacts or answers the value is built from). Counts, shares, means and quantiles
are one grouped aggregation over the fact rows in the range; backlog and the per-customer
rate are running counts over a grid of periods (stocks.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

import ibis
import ibis.expr.types as ir

from cxhub.metrics import facts, periods
from cxhub.metrics.definitions import Metric
from cxhub.metrics.facts import TableSource
from cxhub.metrics.formula import Formula, to_ibis


@dataclass(frozen=True)
class Request:
    """What to compute: a metric over [start, end), cut by grain and dimensions, filtered.

    Every instant a query writes into its SQL is one of the request's `moments` (the range,
    its first period, its whole hours and days), taken through `moment(name)`: a query can
    then be compiled once with stand-ins (`at`) and reused for any range whose moments are in
    the same order (query.py keeps such compiled queries)."""

    metric: Metric
    start: datetime
    end: datetime
    grain: str | None = None
    dimensions: tuple[str, ...] = ()
    filters: Mapping[str, tuple[Any, ...]] = field(default_factory=dict)
    at: Mapping[str, datetime] | None = None  # stand-ins written instead of the moments

    @property
    def first_period(self) -> datetime:
        return periods.floor(self.start, self.grain) if self.grain else self.start

    def moments(self) -> dict[str, datetime]:
        """The real instants, by name: the range, the first period, the first and last whole
        hour and day of the range (`*_first` rounded up, `*_last` down) and the first
        period rounded down to the hour and to the day."""
        out = {"start": self.start, "end": self.end, "first_period": self.first_period}
        for unit in ("hour", "day"):
            first = periods.floor(self.start, unit)
            out[f"{unit}_first"] = first if first == self.start else periods.step(first, unit)
            out[f"{unit}_last"] = periods.floor(self.end, unit)
            out[f"period_{unit}"] = periods.floor(self.first_period, unit)
        return out

    def moment(self, name: str) -> datetime:
        """The instant to write into SQL: the stand-in when compiling for reuse."""
        if self.at is not None:
            return self.at[name]
        return self.moments()[name]

    def within(self, start: str, end: str) -> Request:
        """The same request over [moment start, moment end) of this one."""
        real = self.moments()
        return replace(self, start=real[start], end=real[end], at=None if self.at is None else
                       {**self.at, "start": self.at[start], "end": self.at[end]})

    def needed(self) -> set[str]:
        """Fact columns to build: the definition's, the dimensions' and the filters'."""
        asked = set(self.dimensions) | set(self.filters)
        return self.metric.columns() | (asked - set(facts.TIME_DIMENSIONS))


def compile_metric(con: TableSource, req: Request) -> ir.Table:
    from cxhub.metrics import cube_query, stocks  # both build on this module's helpers

    if req.metric.kind == "backlog":
        return stocks.backlog(con, req)
    if req.metric.kind == "per_customer":
        return stocks.per_customer(con, req)
    ready = cube_query.answer(con, req)
    if ready is not None:
        return ready
    rows = fact_rows(con, req)
    return group(rows, req, measures(rows, req.metric))


def condition(formula: Formula | None, t: ir.Table, metric: Metric) -> ir.BooleanValue | None:
    if formula is None:
        return None
    value = to_ibis(formula, t, metric.params)
    if not isinstance(value, ir.BooleanValue):
        value = ibis.literal(value) if not isinstance(value, ir.Value) else value
    return value.fill_null(False)  # type: ignore[union-attr]


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
    # When the period is the creation time, contacts created outside the range cannot count,
    # so they are dropped before any join or window.
    by_creation = m.fact == "contacts" and m.time == "created_at"
    start, end = req.moment("start"), req.moment("end")
    t = facts.build(con, m.fact, req.needed(), created_since=start if by_creation else None,
                    created_before=end if by_creation else None)
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
        num = num & den  # type: ignore[operator]
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
    aggregate = value.quantile(m.q) if m.kind == "quantile" else value.mean()
    return {"value": aggregate, "n": value.count()}


def group(t: ir.Table, req: Request, aggregates: dict[str, ir.Value]) -> ir.Table:
    by = keys(t, req, req.metric.time)
    if not by:
        return t.aggregate(**aggregates)
    return t.group_by(**by).aggregate(**aggregates)
