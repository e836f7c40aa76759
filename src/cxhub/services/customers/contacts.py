"""The contacts behind a figure (drill-down lists) and one contact's full page.

A drill-down is built from the metric's own definition: the same fact rows, time column,
`where`, dimension filters and population that `n` counts (the denominator of a share, the
rows with a value for a mean, the contacts still open at the period's end for a backlog), so
the list holds exactly the contacts counted in the figure. Without a metric it is a plain
filter on contacts. A contact's category and cause come from the same place as the metrics'
(`cxhub.metrics.facts`: a human label wins, then the newest model label, else the contact's
own), so a list filtered on a category agrees with the figures by category.

Lists stay fast on millions of contacts: the period is a range on `created_at` where the
metric's time allows it (DuckDB skips row groups outside it); the default order, by creation
time, pages by key rather than by offset, so page 1,000 costs what page 1 costs; other orders
page by offset, served by a top-N sort.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import ibis.expr.types as ir
import pyarrow as pa

from cxhub.domain.canonical import CATEGORIES, CAUSES
from cxhub.domain.errors import CxhubError
from cxhub.metrics import default_catalogue, periods
from cxhub.metrics.facts import build
from cxhub.metrics.formula import to_ibis
from cxhub.metrics.plain import condition, filtered
from cxhub.metrics.query import request
from cxhub.services.metrics.backend import backend
from cxhub.warehouse import Warehouse

# Dimensions that are plain columns of `contacts`: filtering on them needs no join.
PLAIN_DIMENSIONS = ("channel", "team", "queue", "agent", "source", "product", "region",
                    "company")
DRILL_DIMENSIONS = (*PLAIN_DIMENSIONS, "category", "cause", "segment", "persona", "portfolio",
                    "rfm_segment", "hour_of_day", "weekday")

LIST_COLUMNS = ("contact_id", "source", "external_id", "channel", "created_at", "team", "agent",
                "queue", "outcome", "subject", "text", "wait_seconds", "resolved_at",
                "category", "cause")

_EARLIEST, _LATEST = datetime(1800, 1, 1), datetime(3000, 1, 1)

# The contacts columns the list's filters and sort keys read.
_SORT_COLUMNS = ("contact_id", "created_at", "wait_seconds", "talk_seconds", "hold_seconds",
                 "wrap_seconds", "resolved_at", "abandoned_at", "channel", "team", "external_id")

# Sort keys offered to users; the SQL is ours, never theirs.
SORTS: dict[str, str] = {
    "created_at": "c.created_at",
    "wait": "c.wait_seconds",
    "handle": "coalesce(c.talk_seconds, 0) + coalesce(c.hold_seconds, 0) "
              "+ coalesce(c.wrap_seconds, 0)",
    "resolution": "date_diff('second', c.created_at, c.resolved_at)",
    "channel": "c.channel",
    "team": "c.team",
}


@dataclass(frozen=True)
class ContactQuery:
    """Which contacts: those behind `metric` over [start, end) at the given dimension values
    (`filters`, None standing for a missing value), or, without a metric, the contacts created
    in [start, end) with those values."""

    metric: str | None = None
    start: datetime | None = None
    end: datetime | None = None
    filters: tuple[tuple[str, str | None], ...] = ()
    open_only: bool = False
    external_id: str | None = None

    @classmethod
    def of(cls, metric: str | None = None, start: datetime | None = None,
           end: datetime | None = None, filters: dict[str, str | None] | None = None,
           **more: Any) -> ContactQuery:
        return cls(metric, start, end, tuple(sorted((filters or {}).items())), **more)


@dataclass(frozen=True)
class Population:
    """`SELECT ... FROM {source} c WHERE {where}` selects the query's contacts; `source` is
    the contacts table or the metric's fact rows (which carry every contacts column used to
    sort), so a large drill-down needs no join back to contacts."""

    where: str
    params: tuple[Any, ...] = ()
    source: str = "contacts"
    fact: str = "contacts"
    notes: tuple[str, ...] = field(default=())


def figure_range(start: datetime, end: datetime, period: datetime | str | None,
                 grain: str | None) -> tuple[datetime, datetime]:
    """The part of [start, end) a figure of `period` (of `grain`) covers."""
    if period is None or grain is None:
        return start, end
    p = datetime.fromisoformat(period) if isinstance(period, str) else period
    return max(p, start), min(periods.step(p, grain), end)


def population(wh: Warehouse, q: ContactQuery) -> Population:
    dims = dict(q.filters)
    unknown = set(dims) - set(DRILL_DIMENSIONS)
    if unknown:
        raise ValueError(f"cannot filter contacts on {', '.join(sorted(unknown))}")
    if q.metric is None:
        if set(dims) <= set(PLAIN_DIMENSIONS):
            return _plain(q, dims)
        # A category, cause or segment is resolved as the metrics resolve it: through the
        # `contacts` metric, over all time unless a range is given.
        return _from_metric(wh, "contacts", q.start or _EARLIEST, q.end or _LATEST,
                            q.filters, _extra(q))
    return _from_metric(wh, q.metric, q.start, q.end, q.filters, _extra(q))


def _extra(q: ContactQuery) -> tuple[str, tuple[Any, ...]]:
    sql, params = [], []
    if q.open_only:
        sql.append("c.resolved_at IS NULL AND c.abandoned_at IS NULL")
    if q.external_id:
        sql.append("c.external_id = ?")
        params.append(q.external_id)
    return " AND ".join(sql), tuple(params)


def _plain(q: ContactQuery, dims: dict[str, str | None]) -> Population:
    sql: list[str] = []
    params: list[Any] = []
    for column, op, value in (("created_at", ">=", q.start), ("created_at", "<", q.end)):
        if value is not None:
            sql.append(f"c.{column} {op} ?")
            params.append(value)
    for column, label in sorted(dims.items()):
        sql.append(f"c.{column} IS NULL" if label is None else f"c.{column} = ?")
        if label is not None:
            params.append(label)
    extra, extra_params = _extra(q)
    if extra:
        sql.append(extra)
    return Population(" AND ".join(sql) or "TRUE", (*params, *extra_params), "contacts")


_compiled: OrderedDict[tuple[Any, ...], tuple[str, str, tuple[str, ...]]] = OrderedDict()
_compiled_lock = threading.Lock()


def _metric_sql(wh: Warehouse, metric_name: str, start: datetime, end: datetime,
                filters: tuple[tuple[str, str | None], ...]) -> tuple[str, str, tuple[str, ...]]:
    """SQL listing the ids behind a figure, made by Ibis from the metric's definition.
    Compiling takes 50-200 ms, so it is kept: paging through a drill-down compiles once."""
    key = (id(default_catalogue()), metric_name, start, end, filters)
    with _compiled_lock:
        if key in _compiled:
            _compiled.move_to_end(key)
            return _compiled[key]
    made = _compile(backend(wh), metric_name, start, end, filters)
    with _compiled_lock:
        _compiled[key] = made
        while len(_compiled) > 256:
            _compiled.popitem(last=False)
    return made


# Columns the drill-down reads beyond the metric's own: to list and sort contacts, or to find
# the contact a survey answer is about.
_EXTRA = {"contacts": set(_SORT_COLUMNS), "surveys": {"source", "contact_external_id"}}


def _compile(con: Any, metric_name: str, start: datetime, end: datetime,
             filters: tuple[tuple[str, str | None], ...]) -> tuple[str, str, tuple[str, ...]]:
    metric = default_catalogue().get(metric_name)
    req = request(metric, start=start, end=end, filters={d: [v] for d, v in filters})
    needed = req.needed() | _EXTRA.get(metric.fact, set())
    notes: list[str] = []
    if metric.kind == "backlog":
        assert metric.opened is not None  # the catalogue requires it of a backlog
        t = filtered(build(con, metric.fact, needed), req, metric.opened)
        closed = t[metric.closed]
        rows = t.filter(t[metric.opened] < end, closed.isnull() | (closed >= end))
        notes.append(f"open at {end:%Y-%m-%d %H:%M}: created before then, not closed by then")
    else:
        # As compile.fact_rows, with the extra columns: the rows in the range that pass the
        # definition's `where` and the figure's dimension values.
        since = start if metric.fact == "contacts" and metric.time == "created_at" else None
        rows = build(con, metric.fact, needed, created_since=since)
        rows = filtered(rows.filter(rows[metric.time] >= start, rows[metric.time] < end), req,
                        metric.time)
        if metric.kind == "share" and metric.denominator is not None:
            rows = rows.filter(condition(metric.denominator, rows, metric))
        if metric.kind in ("mean", "quantile"):
            value = to_ibis(metric.value, rows, metric.params)  # type: ignore[arg-type]
            if isinstance(value, ir.Value):
                rows = rows.filter(value.notnull())
    if metric.fact == "contacts":
        ids = rows.select(*_SORT_COLUMNS)
    elif metric.fact == "surveys":
        ids = rows.select(src=rows.source, ext=rows.contact_external_id)
        notes.append("answers that name no contact are not listed")
    else:
        return "", metric.fact, tuple(notes)
    return str(con.compile(ids)), metric.fact, tuple(notes)


def _from_metric(wh: Warehouse, metric_name: str, start: datetime | None, end: datetime | None,
                 filters: tuple[tuple[str, str | None], ...],
                 extra: tuple[str, tuple[Any, ...]]) -> Population:
    if start is None or end is None:
        raise ValueError("a drill-down from a metric needs the figure's start and end")
    metric = default_catalogue().get(metric_name)
    sql, fact, notes = _metric_sql(wh, metric_name, start, end, filters)
    if not sql:
        return Population("FALSE", (), "contacts", fact,
                          (f"{metric.label} counts {fact}, not contacts",))
    if fact == "surveys":
        where = f"(c.source, c.external_id) IN (SELECT (src, ext) FROM ({sql}))"
        return Population(where + (f" AND {extra[0]}" if extra[0] else ""), extra[1], "contacts",
                          fact, notes)
    return Population(extra[0] or "TRUE", extra[1], f"({sql})", fact, notes)


def count_contacts(wh: Warehouse, q: ContactQuery | Population) -> int:
    pop = q if isinstance(q, Population) else population(wh, q)
    row = wh.read_one(f"SELECT count(*) FROM {pop.source} c WHERE {pop.where}",
                      list(pop.params))
    return int(row[0]) if row else 0


@dataclass(frozen=True)
class Page:
    rows: list[dict[str, Any]]
    total: int
    next_cursor: str | None
    prev_cursor: str | None
    notes: tuple[str, ...] = ()


def contacts_page(wh: Warehouse, q: ContactQuery, *, sort: str = "created_at",
                  descending: bool = True, cursor: str | None = None, limit: int = 50) -> Page:
    """One page of contacts. `cursor` is what a previous page returned as next or previous."""
    if sort not in SORTS:
        raise ValueError(f"unknown sort {sort!r}; sorts: {', '.join(SORTS)}")
    limit = max(1, min(limit, 500))
    pop = population(wh, q)
    base = f"SELECT c.contact_id, {SORTS[sort]} AS _key FROM {pop.source} c WHERE {pop.where}"
    params = list(pop.params)
    direction = "DESC" if descending else "ASC"
    if sort == "created_at":
        ids, nxt, prv = _keyset(wh, base, params, direction, cursor, limit)
    else:
        offset = int(cursor[2:]) if cursor and cursor.startswith("o|") else 0
        rows = wh.read(f"{base} ORDER BY _key {direction} NULLS LAST, contact_id {direction} "
                       f"LIMIT {limit + 1} OFFSET {offset}", params)
        ids = [r[0] for r in rows[:limit]]
        nxt = f"o|{offset + limit}" if len(rows) > limit else None
        prv = f"o|{max(0, offset - limit)}" if offset > 0 else None
    return Page(_rows_by_id(wh, ids), count_contacts(wh, pop), nxt, prv, pop.notes)


def _keyset(wh: Warehouse, base: str, params: list[Any], direction: str, cursor: str | None,
            limit: int) -> tuple[list[int], str | None, str | None]:
    """Page by (created_at, contact_id): `a|ts|id` continues after a row, `b|ts|id` before it."""
    forward = cursor is None or not cursor.startswith("b|")
    order = direction if forward else ("ASC" if direction == "DESC" else "DESC")
    cond, extra = "TRUE", []
    if cursor and cursor[:2] in ("a|", "b|"):
        try:  # a cursor comes back from the browser's URL: anything may be in it
            _, ts, cid = cursor.split("|")
            key: tuple[Any, int] = (datetime.fromisoformat(ts), int(cid))
        except ValueError:
            raise CxhubError(f"invalid page cursor {cursor!r}; start from the first page") from None
        cmp = "<" if order == "DESC" else ">"
        cond, extra = f"(_key, contact_id) {cmp} (?::TIMESTAMP, ?)", [*key]
    rows = wh.read(f"SELECT contact_id, _key FROM ({base}) WHERE {cond} "
                   f"ORDER BY _key {order}, contact_id {order} LIMIT {limit + 1}",
                   [*params, *extra])
    more = len(rows) > limit
    rows = rows[:limit]
    if not forward:
        rows.reverse()
    if not rows:
        return [], None, None
    first, last = rows[0], rows[-1]
    has_next = more if forward else True
    has_prev = cursor is not None if forward else more
    nxt = f"a|{last[1].isoformat()}|{last[0]}" if has_next else None
    prv = f"b|{first[1].isoformat()}|{first[0]}" if has_prev else None
    return [r[0] for r in rows], nxt, prv


# The best label per contact and dimension, ranked as cxhub.metrics.facts ranks them.
_BEST_LABELS = """
SELECT target_id AS contact_id,
  arg_max(label, rank) FILTER (WHERE dimension = 'category') AS category,
  arg_max(label, rank) FILTER (WHERE dimension = 'cause') AS cause
FROM (SELECT target_id, dimension, label,
        coalesce(is_human, false)::BIGINT * 10000000000
        + coalesce(epoch(labelled_at)::BIGINT, 0) AS rank
      FROM labels WHERE target = 'contacts' AND dimension IN ('category', 'cause')
        AND target_id IN ({ids}))
GROUP BY target_id
"""
BEST_LABELS_SQL = _BEST_LABELS.format(ids="SELECT unnest(?::BIGINT[])")


def _rows_sql(ids: str = "SELECT unnest(?::BIGINT[])") -> str:
    """The listed columns of the contacts whose ids `ids` selects (by default the two
    parameters), with their best labels (a page and a download of the whole list read the
    same)."""
    cols = ", ".join(f"coalesce(l.{c}, c.{c}) AS {c}" if c in ("category", "cause")
                     else f"c.{c}" for c in LIST_COLUMNS)
    return (f"SELECT {cols} FROM contacts c LEFT JOIN ({_BEST_LABELS.format(ids=ids)}) l "
            f"USING (contact_id) WHERE c.contact_id IN ({ids})")


def _rows_by_id(wh: Warehouse, ids: list[int]) -> list[dict[str, Any]]:
    """The listed columns of these contacts, in this order, with their best labels."""
    if not ids:
        return []
    found = {r["contact_id"]: r for r in wh.read_dicts(_rows_sql(), [ids, ids])}
    return [found[i] for i in ids if i in found]


def whole_list(wh: Warehouse, q: ContactQuery, *, sort: str = "created_at",
               descending: bool = True, batch: int = 20_000) -> tuple[int, Iterator[pa.Table]]:
    """Every contact of a list, in the list's order with the page's columns, as Arrow tables of
    `batch` rows read one after another (a download of the whole list). The count comes
    first, and a bad query fails here rather than once the batches are being read."""
    if sort not in SORTS:
        raise ValueError(f"unknown sort {sort!r}; sorts: {', '.join(SORTS)}")
    pop = population(wh, q)
    direction = "DESC" if descending else "ASC"
    # One pass: the population's ids once (a CTE), the rows and labels joined to them, sorted
    # as the page sorts; DuckDB streams the result in batches and spills a large sort to disk.
    sql = (f"WITH _ids AS (SELECT c.contact_id FROM {pop.source} c WHERE {pop.where}) "
           f"{_rows_sql('SELECT contact_id FROM _ids')} "
           f"ORDER BY {SORTS[sort]} {direction} NULLS LAST, c.contact_id {direction}")
    return count_contacts(wh, pop), _batches(wh, sql, list(pop.params), batch)


def _batches(wh: Warehouse, sql: str, params: list[Any], batch: int) -> Iterator[pa.Table]:
    # A connection of its own: between batches the thread's cursor may serve other requests,
    # which would end a half-read result.
    con = wh.new_cursor()
    try:
        reader = con.sql(sql, params=params).to_arrow_reader(batch)
        empty = True
        for part in reader:
            empty = False
            yield pa.Table.from_batches([part])
        if empty:  # no contact: the columns alone
            yield reader.schema.empty_table()
    finally:
        con.close()


# --- one contact ----------------------------------------------------------------------------

class LabelError(CxhubError):
    """A human label that cannot be stored (unknown dimension, label or contact)."""


# The lifecycle, in the order a contact lives it: (field, what the page calls it).
LIFECYCLE = (("created_at", "created"), ("queued_at", "queued"), ("answered_at", "answered"),
             ("first_response_at", "first response"), ("resolved_at", "resolved"),
             ("abandoned_at", "abandoned"))


def contact_detail(wh: Warehouse, contact_id: int) -> dict[str, Any] | None:
    """Everything known about one contact: fields, lifecycle, events, labels, customer, surveys."""
    c = wh.read_dict("SELECT * EXCLUDE (batch_id) FROM contacts WHERE contact_id = ?",
                     [contact_id])
    if c is None:
        return None
    timeline = sorted(({"step": name, "at": c[col],
                        "after_seconds": (c[col] - c["created_at"]).total_seconds()}
                       for col, name in LIFECYCLE if c.get(col) is not None),
                      key=lambda t: t["at"])
    labels = wh.read_dicts("SELECT dimension, label, score, model, model_version, is_human, "
                           "labelled_by, labelled_at FROM labels WHERE target = 'contacts' "
                           "AND target_id = ? ORDER BY dimension, is_human DESC NULLS LAST, "
                           "labelled_at DESC NULLS LAST", [contact_id])
    best = _rows_by_id(wh, [contact_id])[0]
    customer = None
    if c.get("customer_external_id"):
        customer = wh.read_dict(
            "SELECT l.customer_id, l.match_probability, l.linked_at, "
            "cu.first_name, cu.last_name, cu.email, cu.city "
            "FROM customer_links l LEFT JOIN customers cu USING (customer_id) "
            "WHERE l.source = ? AND l.external_id = ? "
            "ORDER BY l.run_id DESC NULLS LAST, l.linked_at DESC NULLS LAST LIMIT 1",
            [c.get("customer_source") or c["source"], c["customer_external_id"]])
    return {
        "contact": c,
        "timeline": timeline,
        "events": wh.read_dicts(
            "SELECT event_type, occurred_at, agent, team, queue FROM contact_events "
            "WHERE source = ? AND contact_external_id = ? ORDER BY occurred_at, event_id",
            [c["source"], c["external_id"]]),
        "labels": labels,
        "best": {"category": best["category"], "cause": best["cause"]},
        "customer": customer,
        "surveys": wh.read_dicts(
            "SELECT survey_type, score, comment, answered_at FROM surveys "
            "WHERE source = ? AND contact_external_id = ? ORDER BY answered_at",
            [c["source"], c["external_id"]]),
    }


def label_choices(wh: Warehouse) -> dict[str, list[str]]:
    """Labels a person may give: the fixed categories; the default causes plus any cause in use
    (the list of causes is configurable, so the classifier's may be longer)."""
    used = [r[0] for r in wh.read("SELECT DISTINCT label FROM labels WHERE target = 'contacts' "
                                  "AND dimension = 'cause' AND label IS NOT NULL ORDER BY 1")]
    causes = _company_causes(wh)
    return {"category": list(CATEGORIES),
            "cause": [*causes, *(u for u in used if u not in causes)]}


def _company_causes(wh: Warehouse) -> list[str]:
    """The causes of $CXHUB_HOME/taxonomy.yaml (docs/classification.md), else the defaults."""
    from cxhub.analytics.classify.taxonomy import TaxonomyError, taxonomy_for_home

    try:
        return taxonomy_for_home(Path(wh.path).parent).names("cause")
    except TaxonomyError:
        return list(CAUSES)


def set_human_label(wh: Warehouse, contact_id: int, *, dimension: str, label: str,
                    username: str) -> None:
    """Record a person's label. Earlier labels stay, so the history (and the model's guesses)
    can be audited; the newest human label is the one that counts."""
    allowed = label_choices(wh).get(dimension)
    if allowed is None:
        raise LabelError(f"unknown label dimension {dimension!r}; use category or cause")
    if label not in allowed:
        raise LabelError(f"{label!r} is not a {dimension}; choose one of {', '.join(allowed)}")

    def job(con: duckdb.DuckDBPyConnection) -> None:
        if not con.execute("SELECT 1 FROM contacts WHERE contact_id = ?", [contact_id]).fetchone():
            raise LabelError(f"no contact with id {contact_id}")
        con.execute("INSERT INTO labels (target, target_id, dimension, label, score, model, "
                    "is_human, labelled_by, labelled_at) "
                    "VALUES ('contacts', ?, ?, ?, 1.0, 'human', true, ?, ?)",
                    [contact_id, dimension, label, username,
                     datetime.now(UTC).replace(tzinfo=None)])

    wh.write(job)
