"""Sums of the additive metrics, kept per hour and per day: what is stored and how it is made.

A count, a share or a mean over any set of hours is a sum of per-hour sums: contacts created
(a count), contacts answered in time and contacts counted (a share), the sum and the number of
waits (a mean). `metric_hours` keeps those sums per metric, hour and channel; `metric_days` per
metric, day, channel, category, cause, team and product. Each row also carries `part`, the day
its records belong to (a contact's creation day, a survey's answer day), so that records
arriving late, or changed by an event or a new label, only make their own days be summed again.
Rows of recent days (`recent_from`: today and yesterday) also carry `slot`, the 10 minutes of
that day their records belong to, so that the contacts of a busy day only make their own 10
minutes be summed again: summing a whole day again at every refresh read every block of it,
which at 1,000 contacts a second grew with the day. Older days' rows are merged to the whole
day (`slot` missing, `merge_slots_sql`), as few rows as before.

The sums are computed from the catalogue's own definitions, by the same Ibis code as a plain
query (`facts`, `plain.condition`), so both give the same numbers; from_sums.py answers a
request from them.

A quantile is not a sum. For those, `metric_values` keeps every value (per day and channel)
with its size class (`bucket`: 32 classes per doubling, in value order), and
`metric_value_counts` how many values each class holds per day: the counts say which class
holds the wanted rank, and only that class's values are then sorted. The result is the exact
interpolated quantile of the records, for any set of whole days.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

import ibis
import ibis.expr.types as ir

from cxhub.metrics import facts
from cxhub.metrics.definitions import Metric
from cxhub.metrics.formula import to_ibis
from cxhub.metrics.plain import condition
from cxhub.metrics.source import TableSource

# Bump when what a stored row means changes: every definition's sums are then made again.
VERSION = "1"
HOURS, DAYS = "metric_hours", "metric_days"
VALUES, VALUE_COUNTS = "metric_values", "metric_value_counts"
BUCKETS_PER_DOUBLING = 32
HOUR_DIMS = ("channel",)
DAY_DIMS = ("channel", "category", "cause", "team", "product")
ADDITIVE = ("count", "share", "mean", "per_customer")
FACTS = ("contacts", "surveys")
# The column whose day a record belongs to (`part`), per fact.
PART_TIME = {"contacts": "created_at", "surveys": "answered_at"}
SLOT_MINUTES = 10
RECENT_DAYS = 2  # today and yesterday are kept per slot
CLOSED = ":closed"  # suffix of the backlog's second entry (contacts leaving it)
NO_DAY = "0001-01-01"  # the part of a record with no time


@dataclass(frozen=True)
class Entry:
    """One stored series: `key` (the metric's name, or name + CLOSED), the fact rows it
    counts and the time column that places them."""

    key: str
    metric: Metric
    time: str


def fingerprint(m: Metric) -> str:
    """Changes when the definition (or what the sums store for it) changes."""
    text = json.dumps({"v": VERSION, **m.to_dict()}, sort_keys=True, default=str)
    return hashlib.sha1(text.encode()).hexdigest()[:16]


def storable(m: Metric) -> bool:
    # A business clock's values change with the calendar (a holiday added moves every span
    # over it), which the sums' marks do not watch: such metrics are always computed from the
    # records, with two look-ups in business_days per contact.
    if m.clock != "clock":
        return False
    return m.fact in FACTS and (m.kind in (*ADDITIVE, "quantile") or (
        m.kind == "backlog" and m.fact == "contacts"))


def fingerprints(metrics: Iterable[Metric]) -> dict[str, str]:
    """Name -> fingerprint of every definition the sums keep: what the stored sums were made
    from, compared with the catalogue's to know whether they still hold."""
    return {m.name: fingerprint(m) for m in metrics if storable(m)}


def part(t: ir.Table, fact: str) -> ir.DateValue:
    """The part of each record of `fact` in `t`: the day of its PART_TIME, NO_DAY without one."""
    value: ir.DateValue = t[PART_TIME[fact]].date().fill_null(ibis.date(NO_DAY))
    return value


def slot(t: ir.Table, fact: str) -> ir.IntegerValue:
    """The 10 minutes of its part's day each record of `fact` belongs to (0-143), missing
    without a time."""
    at = t[PART_TIME[fact]]
    value: ir.IntegerValue = ((at.hour() * 60 + at.minute()) // SLOT_MINUTES).cast("int16")
    return value


def part_sql(fact: str, alias: str = "") -> str:
    """`part` in DuckDB SQL, for the refresh's own statements (which days changed)."""
    column = f"{alias}.{PART_TIME[fact]}" if alias else PART_TIME[fact]
    return f"coalesce(CAST({column} AS DATE), DATE '{NO_DAY}')"


def slot_sql(fact: str, alias: str = "") -> str:
    """`slot` in DuckDB SQL."""
    column = f"{alias}.{PART_TIME[fact]}" if alias else PART_TIME[fact]
    return f"CAST((hour({column}) * 60 + minute({column})) // {SLOT_MINUTES} AS SMALLINT)"


def recent_from(today: date) -> date:
    """The first day whose rows are kept per slot."""
    return today - timedelta(days=RECENT_DAYS - 1)


def _kept_slot(recent: date) -> str:
    """The slot a row of `part` is stored with: its own on recent days, none before."""
    return f"CASE WHEN part >= DATE '{recent.isoformat()}' THEN slot END"


def series_key(m: Metric) -> str:
    """Where a quantile's values are kept: shared by definitions with the same values (the
    median and the 90th percentile of the same times)."""
    text = json.dumps([VERSION, m.fact, m.time, str(m.where), str(m.value), dict(m.params)],
                      sort_keys=True, default=str)
    return "values:" + hashlib.sha1(text.encode()).hexdigest()[:12]


def value_series(metrics: Iterable[Metric]) -> dict[str, Metric]:
    """The distinct value series of the quantile metrics, by key."""
    return {series_key(m): m for m in metrics if storable(m) and m.kind == "quantile"}


def entries(metrics: Iterable[Metric]) -> list[Entry]:
    out = []
    for m in metrics:
        if not storable(m) or m.kind == "quantile":
            continue
        if m.kind == "backlog":
            out += [Entry(m.name, m, m.opened), Entry(m.name + CLOSED, m, m.closed)]  # type: ignore[arg-type]
        else:
            out.append(Entry(m.name, m, m.time))
    return out


def dims_of(fact: str) -> tuple[str, ...]:
    return tuple(d for d in DAY_DIMS if d in facts.FACTS[fact].dimensions)


def families(items: Iterable[Entry]) -> dict[tuple[str, str], list[Entry]]:
    """Entries grouped by (fact, time column): each group is summed in one pass."""
    out: dict[tuple[str, str], list[Entry]] = {}
    for e in items:
        out.setdefault((e.metric.fact, e.time), []).append(e)
    return out


def _sums(t: ir.Table, e: Entry) -> tuple[ir.Value, ir.Value, ir.Value]:
    """(rows, total, n) of one entry over the fact rows `t`: rows passing the definition's
    filter, and the numerator and denominator of its value."""
    m = e.metric
    where = condition(m.where, t, m)
    if e.key.endswith(CLOSED):
        closed = t[e.time].notnull()
        where = closed if where is None else where & closed
    rows = t.count(where=where)
    if m.kind in ("count", "per_customer", "backlog"):
        return rows, rows.cast("float64"), rows
    if m.kind == "share":
        den = condition(m.denominator, t, m)
        den = where if den is None else (den if where is None else den & where)
        num = condition(m.numerator, t, m)
        num = num if den is None else num & den
        n = t.count(where=den)
        return rows, t.count(where=num).cast("float64"), n
    value = to_ibis(m.value, t, m.params)  # type: ignore[arg-type]
    if not isinstance(value, ir.Value):
        value = ibis.literal(value)
    if isinstance(value, ir.BooleanValue):
        value = value.cast("int64")
    return rows, value.sum(where=where).cast("float64"), value.count(where=where)


def fine_sums(con: TableSource, fact: str, time: str, items: list[Entry]) -> ir.Table:
    """Per part, hour and every day dimension, the sums of each entry (columns e<i>_rows,
    e<i>_total, e<i>_n): the finest grain both stored tables are summed from."""
    dims = dims_of(fact)
    needed = set(dims) | {time, PART_TIME[fact]}
    for e in items:
        needed |= e.metric.columns()
    t = facts.build(con, fact, needed)
    t = t.filter(t[time].notnull())
    keys = {"part": part(t, fact), "slot": slot(t, fact), "starts_at": t[time].truncate("h")}
    keys |= {d: t[d] if d in dims else ibis.null("string") for d in DAY_DIMS}
    aggs: dict[str, ir.Value] = {}
    for i, e in enumerate(items):
        rows, total, n = _sums(t, e)
        aggs |= {f"e{i}_rows": rows, f"e{i}_total": total, f"e{i}_n": n}
    return t.group_by(**keys).aggregate(**aggs)


# What identifies a stored row besides its metric, part, slot and time, per table.
_KEYS = {HOURS: HOUR_DIMS, DAYS: DAY_DIMS, VALUES: ("channel", "bucket"),
         VALUE_COUNTS: ("channel", "bucket")}


def _columns(table: str, *, slot: bool = True) -> str:
    return ", ".join(("metric", "part", *(("slot",) if slot else ()), "starts_at",
                      *_KEYS[table]))


def store_sql(fine: str, table: str, keys: list[str], recent: date) -> str:
    """One SQL statement moving every entry's sums (entry i named keys[i]) from the temporary
    table `fine` into `table`, per slot on days from `recent`."""
    if table == HOURS:
        by = f"part, {_kept_slot(recent)}, starts_at, channel"
    else:
        by = (f"part, {_kept_slot(recent)}, date_trunc('day', starts_at)::TIMESTAMP, "
              + ", ".join(DAY_DIMS))
    selects = [f"SELECT '{key.replace(chr(39), chr(39) * 2)}', {by}, sum(e{i}_total), "
               f"sum(e{i}_n) FROM {fine} GROUP BY ALL HAVING sum(e{i}_rows) > 0"
               for i, key in enumerate(keys)]
    return (f"INSERT INTO {table} ({_columns(table)}, total, n) "
            + " UNION ALL ".join(selects))


def merge_slots_sql(recent: date) -> list[str]:
    """SQL merging the per-slot rows of days before `recent` into whole days (stored values
    keep their slot: a value is one row either way)."""
    before = f"part < DATE '{recent.isoformat()}' AND slot IS NOT NULL"
    out = []
    for table, kept in ((HOURS, "total, n"), (DAYS, "total, n"), (VALUE_COUNTS, "n")):
        rest = _columns(table, slot=False)
        sums_ = ", ".join(f"sum({c})" for c in kept.split(", "))
        out += [f"CREATE OR REPLACE TEMP TABLE _d_merged AS SELECT {rest}, {sums_} "
                f"FROM {table} WHERE {before} GROUP BY ALL",
                f"DELETE FROM {table} WHERE {before}",
                f"INSERT INTO {table} ({rest}, {kept}) SELECT * FROM _d_merged"]
    return out


def bucket(value: ir.NumericValue) -> ir.IntegerValue:
    """The size class of a value, rising with it: 32 per doubling of 1 + |value|."""
    up = ((value + 1).log2() * BUCKETS_PER_DOUBLING).floor()
    down = -1 - ((1 - value).log2() * BUCKETS_PER_DOUBLING).floor()
    return ibis.ifelse(value >= 0, up, down).cast("int32")


def values(con: TableSource, m: Metric) -> ir.Table:
    """(part, slot, starts_at: the day, channel, bucket, value) of every fact row passing the
    definition's filter; value (and bucket) missing where the row has none."""
    needed = {m.time, PART_TIME[m.fact], "channel"} | m.columns()
    t = facts.build(con, m.fact, needed)
    t = t.filter(t[m.time].notnull())
    where = condition(m.where, t, m)
    if where is not None:
        t = t.filter(where)
    value = to_ibis(m.value, t, m.params)  # type: ignore[arg-type]
    if not isinstance(value, ir.Value):
        value = ibis.literal(value)
    value = value.cast("float64")
    return t.select(part=part(t, m.fact), slot=slot(t, m.fact),
                    starts_at=t[m.time].truncate("D"), channel=t.channel, bucket=bucket(value),
                    value=value)


def store_values_sql(staged: str, key: str, recent: date) -> list[str]:
    """SQL moving a series' staged values into metric_values (in class order, so that a query
    reads only the classes it needs) and their counts into metric_value_counts."""
    quoted = "'" + key.replace("'", "''") + "'"
    return [f"INSERT INTO {VALUES} ({_columns(VALUES)}, value) SELECT {quoted}, part, "
            f"{_kept_slot(recent)}, starts_at, channel, bucket, value "
            f"FROM {staged} WHERE value IS NOT NULL ORDER BY bucket, value",
            f"INSERT INTO {VALUE_COUNTS} ({_columns(VALUE_COUNTS)}, n) SELECT {quoted}, part, "
            f"{_kept_slot(recent)}, starts_at, channel, bucket, count(*) FROM {staged} "
            "GROUP BY ALL"]
