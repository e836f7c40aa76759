"""The catalogue's public entry point: `compute(backend, name, start=, end=, by=, ...)`.

Returns plain rows, one per period and combination of dimensions:

    {"period": "2024-03-04T00:00:00", "channel": "phone", "value": 0.81, "n": 412,
     "previous": 0.78, "last_year": 0.74, "target": 0.8,
     "previous_coverage": {"days": 1, "covered_days": 1, "status": "full"},
     "last_year_coverage": {"days": 1, "covered_days": 0, "status": "none"}}

`value` is in the metric's unit (a share is a fraction, a time is in seconds); `n` is the number
of contacts, answers or posts it is built from, for suppressing small counts. Each comparison
comes with its coverage (coverage.py): how many days of the compared period the data holds; a
compared period without any data has no value. With a grain every
period of the range is present, empty ones too (a count of 0, otherwise no value).
"""

from __future__ import annotations

import math
import re
import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Any

import ibis
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from ibis.backends import BaseBackend

from cxhub.metrics import coverage, periods, source
from cxhub.metrics.compile import compile_metric
from cxhub.metrics.definitions import Catalogue, Metric, default_catalogue
from cxhub.metrics.facts import TIME_DIMENSIONS
from cxhub.metrics.periods import MetricQueryError
from cxhub.metrics.request import Request
from cxhub.metrics.source import Tables
from cxhub.metrics.sums import fingerprint

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
    span = coverage.data_span(backend, metric) if {"previous", "last_year"} & set(wanted) \
        else None
    for c in ("previous", "last_year"):
        if c in wanted:
            shift = periods.comparison_range(c, req.start, req.end, req.grain)
            earlier = run(backend, replace(req, start=shift.start, end=shift.end))
            found = {_key(r, req, shift): r["value"] for r in earlier}
            for r in rows:
                cov = coverage.coverage(span, *_compared(r, req, shift))
                # A period the data does not reach has no figure (not a count of 0).
                r[c] = None if cov["status"] == "none" else found.get(_key(r, req))
                r[f"{c}_coverage"] = cov
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
        periods.check_length(t0, t1, grain)  # refuses absurdly long series early
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
        values: list[Any] = _names(raw) if isinstance(raw, str) else (
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


def _compared(row: Row, req: Request, shift: periods.Shift) -> tuple[datetime, datetime]:
    """The compared period of a row: its own period (cut to the range), moved back."""
    start, end = req.start, req.end
    period = row.get("period")
    if period is not None:
        first = datetime.fromisoformat(period)
        start = max(start, first)
        end = min(end, periods.step(first, req.grain))  # type: ignore[arg-type]
    return shift.back(start), shift.back(end)


def _key(row: Row, req: Request, shift: periods.Shift | None = None) -> tuple[Any, ...]:
    """What a row is matched on across comparisons: its period (moved back onto the
    current range) and its dimension values."""
    period = row.get("period")
    if period is not None and shift is not None:
        period = shift.forward(datetime.fromisoformat(period)).isoformat()
    return (period, *(row.get(d) for d in req.dimensions))


# --- compiled queries, kept -----------------------------------------------------------------
# Building the Ibis expression and compiling it to SQL costs 10-40 ms, more than running it
# on the ready-made sums. So each request shape (definition, grain, dimensions, filters, the
# ready-made tables in use and the order of its moments) is compiled once, with stand-in
# instants, and its SQL reused with the real instants written in.
_MOMENT_NAMES = ("start", "end", "first_period", "hour_first", "hour_last", "period_hour",
                 "day_first", "day_last", "period_day")
_STAND_INS = {name: datetime(1001 + i, 1, 1, 0, 0, 0, 101 + i)
              for i, name in enumerate(_MOMENT_NAMES)}
_KEPT: OrderedDict[tuple[Any, ...], str] = OrderedDict()
_KEPT_MAX = 512
_KEPT_LOCK = threading.Lock()
_STAND_IN_SQL: dict[str, str] = {}


def _stand_in_sql() -> dict[str, str]:
    """How each stand-in instant reads in the compiled SQL."""
    if not _STAND_IN_SQL:
        for name, value in _STAND_INS.items():
            text = str(ibis.to_sql(ibis.literal(value).name("x"), dialect="duckdb"))
            found = re.search(r"MAKE_TIMESTAMP\([^)]*\)", text)
            if found is None:
                raise RuntimeError(f"unexpected SQL for a timestamp: {text}")
            _STAND_IN_SQL[name] = found.group(0)
    return _STAND_IN_SQL


def _shape(backend: Tables, req: Request) -> tuple[Any, ...]:
    """What the SQL of a request depends on besides its instants' values."""
    real = req.moments()
    ranks = sorted(set(real.values()))
    return (fingerprint(req.metric), req.grain, req.dimensions,
            tuple(sorted((k, tuple(v)) for k, v in req.filters.items())),
            source.ready(backend), tuple(ranks.index(real[n]) for n in _MOMENT_NAMES))


def _sql(backend: Tables, req: Request) -> str | None:
    """The request's DuckDB SQL, compiled once per shape; None when it cannot be kept."""
    key = _shape(backend, req)
    with _KEPT_LOCK:
        template = _KEPT.get(key)
        if template is not None:
            _KEPT.move_to_end(key)
    if template is None:
        template = str(backend.backend.compile(
            compile_metric(backend, replace(req, at=_STAND_INS))))
        with _KEPT_LOCK:
            _KEPT[key] = template
            while len(_KEPT) > _KEPT_MAX:
                _KEPT.popitem(last=False)
    sql = template
    real = req.moments()
    for name, text in _stand_in_sql().items():
        sql = sql.replace(text, f"TIMESTAMP '{real[name].isoformat(sep=' ')}'")
    return None if "MAKE_TIMESTAMP(10" in sql else sql


def _table(backend: BaseBackend | Tables, req: Request) -> pa.Table:
    if isinstance(backend, Tables) and backend.backend.name == "duckdb":
        sql = _sql(backend, req)
        if sql is not None:
            return _plain_types(backend.backend.con.sql(sql).to_arrow_table())
    return backend.to_pyarrow(compile_metric(backend, req))


def _plain_types(table: pa.Table) -> pa.Table:
    """DuckDB's own result types where Ibis would have cast: a sum of whole numbers is a
    128-bit integer (an Arrow decimal), made a 64-bit one (or a float if it has decimals)."""
    for i, f in enumerate(table.schema):
        if pa.types.is_decimal(f.type):
            to = pa.int64() if f.type.scale == 0 else pa.float64()
            table = table.set_column(i, f.name, table.column(i).cast(to))
    return table


def run(backend: BaseBackend | Tables, req: Request) -> list[Row]:
    """Compute one request and turn the result into complete rows, in order of period and
    dimension values (a missing value last)."""
    table = _table(backend, req)
    columns = {name: table.column(name).to_pylist() for name in table.column_names
               if name not in ("period", "value")}
    whole = req.metric.kind in ("count", "backlog")
    values = _numbers(table.column("value"), whole)
    counts = [int(n) if n is not None else 0 for n in columns["n"]]
    dims = list(zip(*(columns[d] for d in req.dimensions), strict=True)) if req.dimensions \
        else [()] * len(values)
    if not req.grain:
        rows = [{**dict(zip(req.dimensions, combo, strict=True)), "value": v, "n": n}
                for combo, v, n in zip(dims, values, counts, strict=True)]
        rows.sort(key=lambda r: tuple(_sortable(r[d]) for d in req.dimensions))
        return rows
    return _complete(table, req, values, counts, dims)


def _grid(req: Request) -> list[int]:
    """The start of every period of the range, as microseconds since 1970."""
    grain, first = req.grain, periods.floor(req.start, req.grain)  # type: ignore[arg-type]
    if grain in periods.FIXED:
        step = periods.FIXED[grain] // _MICROSECOND
        count = -((first - req.end) // periods.FIXED[grain])
        origin = (first - _EPOCH) // _MICROSECOND
        return list(range(origin, origin + count * step, step))
    return [(s - _EPOCH) // _MICROSECOND
            for s in periods.period_starts(req.start, req.end, grain)]  # type: ignore[arg-type]


def _complete(table: pa.Table, req: Request, values: list[Any], counts: list[int],
              dims: list[tuple[Any, ...]]) -> list[Row]:
    """Rows for every period and every combination of dimension values seen (charts need no
    holes), empty ones with a count of 0 or no value; built in Arrow, as a year of hours by
    channel is tens of thousands of rows."""
    period = table.column("period").cast(pa.timestamp("us")).cast(pa.int64()).to_pylist()
    combos = sorted(set(dims), key=lambda c: tuple(_sortable(x) for x in c))
    if not req.dimensions:
        combos = [()]
    starts = _grid(req)
    width = len(combos)
    slot_of_period = {p: i * width for i, p in enumerate(starts)}
    slot_of_combo = {c: i for i, c in enumerate(combos)}
    size = len(starts) * width
    empty = 0 if req.metric.kind in _ZERO_WHEN_EMPTY else None
    value_at: list[Any] = [empty] * size
    n_at = [0] * size
    for p, combo, v, n in zip(period, dims, values, counts, strict=True):
        slot = slot_of_period[p] + slot_of_combo[combo]
        value_at[slot], n_at[slot] = v, n
    seconds = pa.array([m // 1_000_000 for m in starts], pa.int64()).cast(pa.timestamp("s"))
    iso = pc.strftime(seconds, format="%Y-%m-%dT%H:%M:%S")
    every_period = pa.array(np.repeat(np.arange(len(starts), dtype=np.int64), width))
    columns: dict[str, Any] = {"period": pc.take(iso, every_period)}
    for k, name in enumerate(req.dimensions):
        seen = [c[k] for c in combos]
        columns[name] = pa.array(seen * len(starts), table.column(name).type)
    columns["value"] = value_at
    columns["n"] = n_at
    return pa.table(columns).to_pylist()  # type: ignore[no-any-return]


def _numbers(column: pa.ChunkedArray, whole: bool) -> list[int | float | None]:
    """The values as Python numbers: whole ones for counts, NaN as missing."""
    if pa.types.is_floating(column.type):
        column = pc.if_else(pc.is_nan(column), pa.scalar(None, column.type), column)
        if whole:
            column = column.cast(pa.int64())
    elif not whole and not pa.types.is_integer(column.type):
        return [_number(v, whole) for v in column.to_pylist()]
    if not whole and pa.types.is_integer(column.type):
        column = column.cast(pa.float64())
    return column.to_pylist()  # type: ignore[no-any-return]


def _number(value: Any, whole: bool) -> int | float | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return int(value) if whole else float(value)


def _sortable(value: Any) -> tuple[int, Any]:
    return (1, "") if value is None else (0, value)
