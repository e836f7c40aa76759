"""The catalogue's public entry point: `compute(backend, name, start=, end=, by=, ...)`.

Returns plain rows, one per period and combination of dimensions:

    {"period": "2024-03-04T00:00:00", "channel": "phone", "value": 0.81, "n": 412,
     "previous": 0.78, "last_year": 0.74, "target": 0.8}

`value` is in the metric's unit (a share is a fraction, a time is in seconds); `n` is the number
of contacts, answers or posts it is built from, for suppressing small counts. With a grain every
period of the range is present, empty ones too (a count of 0, otherwise no value).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Any

import pyarrow as pa
from ibis.backends import BaseBackend

from cxhub.metrics import periods
from cxhub.metrics.compile import Request, compile_metric
from cxhub.metrics.definitions import Catalogue, Metric, default_catalogue
from cxhub.metrics.facts import TIME_DIMENSIONS, Tables
from cxhub.metrics.periods import MetricQueryError

Row = dict[str, Any]
_EPOCH = datetime(1970, 1, 1)
_MICROSECOND = timedelta(microseconds=1)
_ZERO_WHEN_EMPTY = ("count", "per_customer", "backlog")


def compute(backend: BaseBackend | Tables, name: str, *, start: str | date | datetime,
            end: str | date | datetime, by: str | Sequence[str] = (),
            filters: Mapping[str, Any] | None = None, compare: str | Sequence[str] = (),
            catalogue: Catalogue | None = None) -> list[Row]:
    """Metric `name` over [start, end) on an Ibis backend (DuckDB or PySpark).

    by: a period grain (15min, hour, day, week, month) and/or dimensions (channel, category,
    cause, team, segment ...). filters: {dimension: value or values}. compare: previous,
    last_year, target. A date given as `end` includes that whole day.
    """
    metric = (catalogue or default_catalogue()).get(name)
    if not isinstance(backend, Tables):
        backend = Tables(backend)
    req = request(metric, start=start, end=end, by=by, filters=filters)
    wanted = _names(compare)
    for c in wanted:
        if c not in periods.COMPARISONS:
            raise MetricQueryError(
                "compare", f"unknown comparison {c!r}; use {', '.join(periods.COMPARISONS)}")
    rows = run(backend, req)
    for c in ("previous", "last_year"):
        if c in wanted:
            shift = periods.comparison_range(c, req.start, req.end, req.grain)
            earlier = run(backend, replace(req, start=shift.start, end=shift.end))
            found = {_key(r, req, shift): r["value"] for r in earlier}
            for r in rows:
                r[c] = found.get(_key(r, req))
    if "target" in wanted:
        only = req.filters.get("channel", ())
        for r in rows:
            channel = r.get("channel", only[0] if len(only) == 1 else None)
            r["target"] = metric.target_for(channel)
    return rows


def request(metric: Metric, *, start: str | date | datetime, end: str | date | datetime,
            by: str | Sequence[str] = (), filters: Mapping[str, Any] | None = None) -> Request:
    """Check and normalise the parameters; errors name the parameter at fault."""
    t0 = periods.parse_time(start, parameter="from")
    t1 = periods.parse_time(end, parameter="to", end=True)
    if t1 <= t0:
        raise MetricQueryError("to", f"the range must end after it starts ({t0} to {t1})")
    grain, dims = None, []
    for item in _names(by):
        if item in periods.GRAINS:
            if grain is not None:
                raise MetricQueryError("by", f"one period at a time: {grain} and {item}")
            grain = item
        elif item in metric.dimensions:
            if item not in dims:
                dims.append(item)
        else:
            raise MetricQueryError(
                "by", f"{item!r} is neither a period ({', '.join(periods.GRAINS)}) nor a "
                f"dimension of {metric.name} ({', '.join(metric.dimensions)})")
    if grain:
        periods.period_starts(t0, t1, grain)  # refuses absurdly long series early
    return Request(metric, t0, t1, grain, tuple(dims), _filters(metric, filters or {}))


def _names(value: str | Iterable[str]) -> list[str]:
    items = value.split(",") if isinstance(value, str) else list(value)
    return [s.strip() for s in items if s and s.strip()]


def _filters(metric: Metric, filters: Mapping[str, Any]) -> dict[str, tuple[Any, ...]]:
    out: dict[str, tuple[Any, ...]] = {}
    for dim, raw in filters.items():
        if dim not in metric.dimensions:
            raise MetricQueryError(
                dim, f"not a dimension of {metric.name}; filter on one of "
                f"{', '.join(metric.dimensions)}")
        values = _names(raw) if isinstance(raw, str) else (
            list(raw) if isinstance(raw, list | tuple | set | frozenset) else [raw])
        if dim in TIME_DIMENSIONS:
            try:
                values = [int(v) for v in values]
            except (TypeError, ValueError):
                raise MetricQueryError(dim, f"expects whole numbers; got {raw!r}") from None
        if not values:
            raise MetricQueryError(dim, "give at least one value")
        out[dim] = tuple(values)
    return out


def _key(row: Row, req: Request, shift: periods.Shift | None = None) -> tuple[Any, ...]:
    """What a row is matched on across comparisons: its period (moved back onto the
    current range) and its dimension values."""
    period = row.get("period")
    if period is not None and shift is not None:
        period = shift.forward(datetime.fromisoformat(period)).isoformat()
    return (period, *(row.get(d) for d in req.dimensions))


def run(backend: BaseBackend | Tables, req: Request) -> list[Row]:
    """Compute one request and turn the result into complete rows, in order of period and
    dimension values (a missing value last)."""
    table = backend.to_pyarrow(compile_metric(backend, req))
    columns = {name: table.column(name).to_pylist() for name in table.column_names
               if name != "period"}
    whole = req.metric.kind in ("count", "backlog")
    values = [_number(v, whole) for v in columns["value"]]
    counts = [int(n) if n is not None else 0 for n in columns["n"]]
    dims = list(zip(*(columns[d] for d in req.dimensions), strict=True)) if req.dimensions \
        else [()] * len(values)
    if not req.grain:
        rows = [{**dict(zip(req.dimensions, combo, strict=True)), "value": v, "n": n}
                for combo, v, n in zip(dims, values, counts, strict=True)]
        rows.sort(key=lambda r: tuple(_sortable(r[d]) for d in req.dimensions))
        return rows
    # Periods are matched as microseconds since 1970 (UTC), converted inside Arrow: turning
    # tens of thousands of timestamps into Python datetimes costs more than the query.
    period = table.column("period").cast(pa.timestamp("us")).cast(pa.int64()).to_pylist()
    found = dict(zip(zip(period, *(columns[d] for d in req.dimensions), strict=True),
                     zip(values, counts, strict=True), strict=True))
    # Every period, for every combination of dimension values seen: charts need no holes.
    combos = sorted(set(dims), key=lambda c: tuple(_sortable(x) for x in c))
    if not req.dimensions:
        combos = [()]
    named = [dict(zip(req.dimensions, combo, strict=True)) for combo in combos]
    empty = (0 if req.metric.kind in _ZERO_WHEN_EMPTY else None, 0)
    rows = []
    for start in periods.period_starts(req.start, req.end, req.grain):  # type: ignore[arg-type]
        iso, micros = start.isoformat(), (start - _EPOCH) // _MICROSECOND
        for combo, labels in zip(combos, named, strict=True):
            value, n = found.get((micros, *combo), empty)
            rows.append({"period": iso, **labels, "value": value, "n": n})
    return rows


def _number(value: Any, whole: bool) -> int | float | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return int(value) if whole else float(value)


def _sortable(value: Any) -> tuple[int, Any]:
    return (1, "") if value is None else (0, value)
