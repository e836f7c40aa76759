"""Running counts: figures that count what is present at a time, not what happened in it.

The backlog at the end of a period is the contacts opened before its end minus those closed
before its end; the customers active during a period are those who started holding a product
before its end minus those who stopped before its start. Both are running sums over a grid of
periods: each row of the fact is counted once, in the period it entered or left (rows from
before the range go to the first period), a grid of every period adds the empty ones, and a
cumulative sum turns changes into levels. One pass over the table, whatever the number of
periods, instead of one comparison per row and period.
"""

from __future__ import annotations

from datetime import datetime

import ibis
import ibis.expr.types as ir

from cxhub.metrics import facts, from_sums, periods
from cxhub.metrics.plain import dimension, fact_rows, filtered, group, matches
from cxhub.metrics.request import Request
from cxhub.metrics.source import TableSource


def _changes(rows: ir.Table, at: str, sign: int, req: Request, dims: tuple[str, ...], *,
             before: datetime, next_period: bool = False) -> ir.Table:
    """Rows whose `at` is before `before`, counted (times `sign`) in the period they fall in,
    or the one after it with `next_period`; earlier periods are folded into the first."""
    rows = rows.filter(rows[at] < before)
    by = {d: dimension(rows, d, at) for d in dims}
    if not req.grain:
        counted = rows.group_by(**by).aggregate(change=rows.count() * sign) if by else \
            rows.aggregate(change=rows.count() * sign)
        return counted
    period = periods.bucket(rows[at], req.grain)
    if next_period:
        period = period + periods.interval(req.grain)
    period = ibis.greatest(period, ibis.literal(req.moment("first_period")))
    counted = rows.group_by(period=period, **by).aggregate(change=rows.count() * sign)
    return counted.filter(counted.period < req.moment("end"))


def _levels(changes: list[ir.Table], req: Request, dims: tuple[str, ...]) -> ir.Table:
    """Sum the changes of each period and dimension and accumulate them over the periods."""
    every = changes[0]
    for more in changes[1:]:
        every = every.union(more)
    if not req.grain:
        if not dims:
            return every.aggregate(value=every.change.sum().fill_null(0))
        return every.group_by(list(dims)).aggregate(value=every.change.sum())
    grid = (ibis.range(ibis.literal(req.moment("first_period")), ibis.literal(req.moment("end")),
                       periods.interval(req.grain))
            .unnest().name("period").as_table())
    if dims:
        grid = grid.cross_join(every.select(*dims).distinct())
    every = every.union(grid.select("period", *dims, change=ibis.literal(0, "int64")))
    totals = every.group_by(["period", *dims]).aggregate(change=every.change.sum())
    running = totals.change.cumsum(group_by=list(dims) or None, order_by=totals.period)
    return totals.select("period", *dims, value=running)


def backlog(con: TableSource, req: Request) -> ir.Table:
    ready = from_sums.backlog_changes(con, req)
    if ready is not None:
        levels = _levels([ready], req, req.dimensions)
        return levels.mutate(n=levels.value)
    m = req.metric
    t = facts.build(con, m.fact, req.needed())
    t = filtered(t, req, m.opened)  # type: ignore[arg-type]
    # A contact opened and closed before the first period adds one and takes one away.
    closed = t[m.closed]
    t = t.filter(closed.isnull() | (closed >= req.moment("first_period")))
    dims = req.dimensions
    end = req.moment("end")
    opened = _changes(t, m.opened, 1, req, dims, before=end)  # type: ignore[arg-type]
    closed = _changes(t, m.closed, -1, req, dims, before=end)  # type: ignore[arg-type]
    levels = _levels([opened, closed], req, dims)
    return levels.mutate(n=levels.value)


def active_customers(con: TableSource, req: Request) -> ir.Table:
    """Customers holding a product at some time in each period, by segment when asked (any
    of the segment dimensions: value band, persona, portfolio, RFM segment)."""
    dims = facts.segments_in(req.dimensions)
    filters = {d: v for d, v in req.filters.items() if d in facts.SEGMENT_DIMENSIONS}
    t = facts.customer_tenures(con, segments=(*dims, *filters))
    for d, values in filters.items():
        t = t.filter(matches(t[d], values))
    # A customer gone before the first period is counted in and out again: leave them out.
    t = t.filter(t.last_at.isnull() | (t.last_at >= req.moment("first_period")))
    started = _changes(t, "first_at", 1, req, dims, before=req.moment("end"))
    stopped = _changes(t, "last_at", -1, req, dims, before=req.moment("end" if req.grain
                                                                      else "start"),
                       next_period=bool(req.grain))
    return _levels([started, stopped], req, dims)


def per_customer(con: TableSource, req: Request) -> ir.Table:
    """Rows of the fact in each period per `per` customers active in it."""
    m = req.metric
    counts = from_sums.counts(con, req)
    if counts is None:
        rows = fact_rows(con, req)
        counts = group(rows, req, {"n": rows.count()})
    active = active_customers(con, req).rename(active="value")
    on = [k for k in ("period", *facts.SEGMENT_DIMENSIONS) if k in counts.columns]
    if not on:
        joined = counts.cross_join(active)
    else:
        renamed = active.rename(**{f"active_{k}": k for k in on})
        joined = counts.left_join(
            renamed, [counts[k].identical_to(renamed[f"active_{k}"]) for k in on])
        active = renamed
    value = joined.n / joined.active.nullif(0) * m.per
    cols = [c for c in counts.columns if c != "n"]
    return joined.select(*cols, value=value, n=joined.n)
