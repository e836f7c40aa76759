"""Answer a request from the stored hourly and daily sums (sums.py) where they can answer it.

The range is cut into its whole hours (or days) and the slivers before and after them: the
whole ones are read from `metric_hours` (cut by channel, hour of day, weekday) or
`metric_days` (by channel, category, cause, team, product), the slivers are computed from the
records as a plain query would, and both are added up before the value is made. A quantile is
answered from the stored values of whole days by channel. Requests they cannot answer (a
segment, a queue, quarter hours, a definition they were not made from) return None and are
computed from the records.
"""

from __future__ import annotations

import functools
import operator
from datetime import datetime
from typing import cast

import ibis
import ibis.expr.types as ir

from cxhub.metrics import facts, periods, source, sums
from cxhub.metrics.definitions import Metric
from cxhub.metrics.plain import (
    dimension,
    fact_rows,
    filtered,
    keys,
    matches,
    row_values,
    share_counts,
)
from cxhub.metrics.request import Request
from cxhub.metrics.source import TableSource

_TIME_OF_DAY = {"hour_of_day", "weekday"}
_UNIT = {sums.HOURS: "hour", sums.DAYS: "day"}  # the whole ones are the request's moments
_FINGERPRINTS: dict[int, tuple[Metric, str]] = {}


def stored(con: TableSource, metric: Metric) -> bool:
    """The sums (or values) of this very definition are stored and up to date."""
    kept = _FINGERPRINTS.get(id(metric))
    if kept is None or kept[0] is not metric:
        if len(_FINGERPRINTS) > 1024:
            _FINGERPRINTS.clear()
        kept = _FINGERPRINTS[id(metric)] = (metric, sums.fingerprint(metric))
    return f"{metric.name}:{kept[1]}" in source.ready(con).sums


def choose(con: TableSource, req: Request) -> str | None:
    """The stored table that can answer `req`, or None."""
    m = req.metric
    if not sums.storable(m) or not stored(con, m):
        return None
    used = set(req.dimensions) | set(req.filters)
    if used <= {*sums.HOUR_DIMS, *_TIME_OF_DAY} and req.grain != "15min":
        table = sums.HOURS
    elif used <= set(sums.dims_of(m.fact)) and req.grain in (None, "day", "week", "month"):
        table = sums.DAYS
    else:
        return None
    real, unit = req.moments(), _UNIT[table]
    return table if real[f"{unit}_first"] < real[f"{unit}_last"] else None


def _rows(con: TableSource, table: str, key: str, start: datetime | ir.Value,
          end: datetime | ir.Value, req: Request) -> ir.Table:
    """Stored rows of series `key` placed in [start, end), with the request's filters."""
    t = con.table(table)
    t = t.filter(t.metric == key, t.starts_at >= start, t.starts_at < end)
    for name, values in req.filters.items():
        t = t.filter(matches(dimension(t, name, "starts_at"), values))
    return t


def _keyed(t: ir.Table, req: Request, time_column: str, **values: ir.Value) -> ir.Table:
    by = keys(t, req, time_column)
    if "period" in by:
        by["period"] = by["period"].cast("timestamp")
    return t.select(**by, **values)


def _partial(t: ir.Table, req: Request) -> dict[str, ir.Value]:
    """A plain query's sums over fact rows `t` (already filtered): (total, n) as stored."""
    m = req.metric
    if m.kind in ("count", "per_customer"):
        return {"total": t.count().cast("float64"), "n": t.count()}
    if m.kind == "share":
        hits, n = share_counts(t, m)
        return {"total": hits.cast("float64"), "n": n}
    value = row_values(t, m)
    return {"total": value.sum().cast("float64"), "n": value.count()}


def _sliver_rows(con: TableSource, req: Request, spans: list[tuple[str, str]]) -> ir.Table:
    """The fact rows (filtered as a plain query filters them) in the slivers, each a pair of
    moments: read in one pass over the records, the slivers picked out before any join."""
    if len(spans) == 1:
        return fact_rows(con, req.within(*spans[0]))
    m = req.metric
    bounds = [(req.moment(a), req.moment(b)) for a, b in spans]
    t = facts.build(con, m.fact, req.needed(), times_in={m.time: bounds})
    ts = t[m.time]
    t = t.filter(functools.reduce(operator.or_, [(ts >= a) & (ts < b) for a, b in bounds]))
    return filtered(t, req, m.time)


def totals(con: TableSource, req: Request, table: str) -> ir.Table:
    """(period, dimensions, total, n) of the request: stored sums of the whole hours or days,
    a plain query's sums over the slivers."""
    m, unit, real = req.metric, _UNIT[table], req.moments()
    first, last = f"{unit}_first", f"{unit}_last"
    stored_rows = _rows(con, table, m.name, req.moment(first), req.moment(last), req)
    parts = [_keyed(stored_rows, req, "starts_at", total=stored_rows.total.cast("float64"),
                    n=stored_rows.n.cast("int64"))]
    spans = [(a, b) for a, b in (("start", first), (last, "end")) if real[a] < real[b]]
    if spans:
        rows = _sliver_rows(con, req, spans)
        by = keys(rows, req, m.time)
        if "period" in by:
            by["period"] = by["period"].cast("timestamp")
        sums_ = _partial(rows, req)
        part = rows.group_by(**by).aggregate(**sums_) if by else rows.aggregate(**sums_)
        parts.append(part.select(*parts[0].columns[:-2], total=part.total.cast("float64"),
                                 n=part.n.cast("int64")))
    every = parts[0]
    for more in parts[1:]:
        every = every.union(more)
    names = [c for c in every.columns if c not in ("total", "n")]
    totals = {"total": every.total.sum(), "n": every.n.sum().fill_null(0)}
    return every.group_by(names).aggregate(**totals) if names else every.aggregate(**totals)


def answer(con: TableSource, req: Request) -> ir.Table | None:
    """The request's (period, dimensions, value, n) from the stored sums, or None."""
    m = req.metric
    if m.kind == "quantile":
        return quantile(con, req)
    if m.kind not in ("count", "share", "mean"):
        return None
    table = choose(con, req)
    if table is None:
        return None
    t = totals(con, req, table)
    names = [c for c in t.columns if c not in ("total", "n")]
    if m.kind == "count":
        value = t.total.fill_null(0).cast("int64")
    else:
        value = t.total / t.n.nullif(0)
    return t.select(*names, value=value, n=t.n)


def counts(con: TableSource, req: Request) -> ir.Table | None:
    """(period, dimensions, n): the fact rows per period, for rates per customer."""
    table = choose(con, req)
    if table is None:
        return None
    t = totals(con, req, table)
    names = [c for c in t.columns if c not in ("total", "n")]
    return t.select(*names, n=t.total.fill_null(0).cast("int64"))


# --- backlog -----------------------------------------------------------------------------------

def backlog_changes(con: TableSource, req: Request) -> ir.Table | None:
    """The backlog's changes (period or none, dimensions, change), as running_counts._changes makes
    them from the records, from the stored opened and closed counts plus the slivers; only
    dimension values with a contact still open at the first period (or opened later) kept."""
    m = req.metric
    if not stored(con, m):
        return None
    used = set(req.dimensions) | set(req.filters)
    if used <= set(sums.HOUR_DIMS):
        table = sums.HOURS
    elif used <= set(sums.dims_of(m.fact)) and req.grain in (None, "day", "week", "month"):
        table = sums.DAYS
    else:
        return None
    dims, unit, real = req.dimensions, _UNIT[table], req.moments()
    start, end = req.moment("first_period"), req.moment("end")
    end_floor, start_floor = req.moment(f"{unit}_last"), req.moment(f"period_{unit}")
    opened = _rows(con, table, m.name, datetime(1, 1, 1), end_floor, req)
    closed = _rows(con, table, m.name + sums.CLOSED, datetime(1, 1, 1), end_floor, req)

    def period(at: ir.Value) -> dict[str, ir.Value]:
        if not req.grain:
            return {}
        return {"period": ibis.greatest(periods.bucket(at, req.grain),
                                        ibis.literal(start)).cast("timestamp")}

    changes = [
        opened.select(**period(opened.starts_at), **{d: opened[d] for d in dims},
                      change=opened.n.cast("int64")),
        closed.select(**period(closed.starts_at), **{d: closed[d] for d in dims},
                      change=(-closed.n).cast("int64")),
    ]
    before_start = closed.filter(closed.starts_at < start_floor)
    alive = [opened.select(*dims, k=opened.n.cast("int64")),
             before_start.select(*dims, k=(-before_start.n).cast("int64"))]
    if real[f"{unit}_last"] < real["end"] or real[f"period_{unit}"] < real["first_period"]:
        # The records in the slivers [floor(end), end) and [floor(first period), first period).
        # Only contacts opened or closed in a sliver can change it: the rest are skipped by
        # their stored times, so the current hour's sliver does not read the whole history.
        opened_at, closed_at = cast(str, m.opened), cast(str, m.closed)  # a backlog has both
        edges = [(end_floor, end)]
        t = facts.build(con, m.fact, req.needed(), times_in={
            opened_at: edges, closed_at: [*edges, (start_floor, start)]})
        t = filtered(t, req, opened_at)
        o, c = t[opened_at], t[closed_at]
        opens = ((o >= end_floor) & (o < end)).fill_null(False)
        closes = ((c >= end_floor) & (c < end)).fill_null(False)
        closed_early = ((c >= start_floor) & (c < start)).fill_null(False)
        t = t.filter(opens | closes | closed_early)
        edge = t.select(*dims, o_end=opens.cast("int64"), c_end=closes.cast("int64"),
                        c_start=closed_early.cast("int64"))
        # Summed per dimension value here, not row by row below: the current hour is one
        # sliver, and at 1,000 contacts/s it holds millions of records, each of which went
        # through the unions and the semi-join (materialised, 110 MB and 3 s a live tick at
        # 3.4 million).
        edge = (edge.group_by(list(dims)) if dims else edge).aggregate(
            change=(edge.o_end - edge.c_end).sum().fill_null(0),
            k=(edge.o_end - edge.c_start).sum().fill_null(0))
        changes.append(edge.select(**period(ibis.literal(end_floor)),
                                   **{d: edge[d] for d in dims}, change=edge.change))
        alive.append(edge.select(*dims, k=edge.k))
    every = changes[0]
    for more in changes[1:]:
        every = every.union(more.select(*changes[0].columns))
    if dims:
        # A value with every contact closed before the first period is not shown (as with
        # the records): opened before the end minus closed before the first period > 0.
        live = alive[0]
        for more in alive[1:]:
            live = live.union(more)
        live = live.group_by(list(dims)).aggregate(k=live.k.sum())
        live = live.filter(live.k > 0).select(*[live[d].name(f"live_{d}") for d in dims])
        every = every.semi_join(live, [every[d].identical_to(live[f"live_{d}"]) for d in dims])
    return every


# --- quantiles ---------------------------------------------------------------------------------

def quantile(con: TableSource, req: Request) -> ir.Table | None:
    """The exact interpolated quantile (DuckDB's quantile_cont) of a range of whole days, by
    channel, from the stored values: the class counts locate the ranks on either side of the
    quantile, and only the values of those classes are sorted."""
    m = req.metric
    used = set(req.dimensions) | set(req.filters)
    real = req.moments()
    # Whole days only: for hours before or after them the records are read anyway, and a
    # plain quantile of the records is then as fast.
    if (not stored(con, m) or not used <= {"channel"} or req.grain in ("hour", "15min")
            or real["day_first"] != real["start"] or real["day_last"] != real["end"]
            or real["start"] >= real["end"]):
        return None
    key = sums.series_key(m)
    start, end = req.moment("day_first"), req.moment("day_last")
    counts = _rows(con, sums.VALUE_COUNTS, key, start, end, req)
    counts = _keyed(counts, req, "starts_at", bucket=counts.bucket.cast("int32"),
                    n=counts.n.cast("int64"))
    v = _rows(con, sums.VALUES, key, start, end, req)
    v = _keyed(v, req, "starts_at", bucket=v.bucket.cast("int32"),
               value=v.value.cast("float64"))
    names = [c for c in counts.columns if c not in ("bucket", "n")]
    per_class = counts.group_by([*names, "bucket"]).aggregate(n=counts.n.sum())
    groups = (per_class.group_by(names).aggregate(rows=per_class.n.sum()) if names
              else per_class.aggregate(rows=per_class.n.sum()))
    c = per_class.filter(per_class.bucket.notnull())
    whole = ibis.window(group_by=names or None)
    running = ibis.window(group_by=names or None, order_by=c.bucket, rows=(None, 0))
    c = c.mutate(upto=c.n.sum().over(running), total=c.n.sum().over(whole))
    position = (c.total - 1).cast("float64") * float(m.q)  # type: ignore[arg-type]
    c = c.mutate(before=c.upto - c.n, position=position, low=position.floor(),
                 high=position.ceil())
    wanted = c.filter(((c.before <= c.low) & (c.low < c.upto))
                      | ((c.before <= c.high) & (c.high < c.upto)))
    wanted = wanted.select(*[wanted[k].name(f"w_{k}") for k in names], w_bucket=wanted.bucket,
                           before=wanted.before, position=wanted.position, low=wanted.low,
                           high=wanted.high, total=wanted.total)
    # DuckDB passes the join's range of classes down to the scan of the stored values.
    on = [v[k].identical_to(wanted[f"w_{k}"]) for k in names] + [v.bucket == wanted.w_bucket]
    v = v.inner_join(wanted, on)
    rank = v.before + ibis.row_number().over(group_by=[*names, "bucket"], order_by=v.value)
    v = v.mutate(rank=rank)
    pick = {"v_low": v.value.max(where=v.rank == v.low),
            "v_high": v.value.max(where=v.rank == v.high),
            "position": v.position.max(), "low": v.low.max(), "total": v.total.max()}
    picked = v.group_by(names).aggregate(**pick) if names else v.aggregate(**pick)
    value = picked.v_low + (picked.v_high - picked.v_low) * (picked.position - picked.low)
    picked = picked.select(*[picked[k].name(f"p_{k}") for k in names], value=value,
                           total=picked.total)
    if names:
        out = groups.left_join(picked, [groups[k].identical_to(picked[f"p_{k}"])
                                        for k in names])
    else:
        out = groups.cross_join(picked)
    return out.select(*names, value=out.value, n=out.total.fill_null(0).cast("int64"))
