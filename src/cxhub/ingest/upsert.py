"""The one write path for records: idempotent insert keyed on (source, external_id).

The policy, for files, the REST API, the live feed, listening's routing and offers' decisions:
- a record whose key is stored already is not written again, and gets the stored id back;
- a key repeated within one batch keeps its first occurrence (the lowest id);
- ids are dense: the table's largest id plus the record's rank among the batch's new records;
- each batch gets a row in `ingest_batches` from one allocator (`keys.BatchIds`), written in
  the batch's own transaction (the API's flushes of a second share one batch: `batches`);
- each write runs in one writer job, so it is one transaction: a file's load or an API flush
  is all there or absent, and nothing races between the look-up and the insert.

Two ways in, for two sizes of batch: `insert_new` takes the rows of an SQL query (a file of
millions of records, checked inside DuckDB) and finds new keys with an anti-join; `write_rows`
takes rows as Python dicts (the API's few hundred) and finds new keys in the writer's key index
(`keys.KeyIndex`) when a server has built it, otherwise with a join on the table. Both tell the
index what they inserted, so no writer rebuilds what another one changed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import chain, repeat
from operator import itemgetter
from typing import Any, NamedTuple

import duckdb
import numpy as np
import orjson
import pyarrow as pa

from cxhub.domain.canonical import FieldType, RecordKind
from cxhub.ingest.batches import batch_for
from cxhub.ingest.derive import run_steps
from cxhub.ingest.keys import KeyIndex, known
from cxhub.warehouse.schema import largest_sql, quote


class Written(NamedTuple):
    """A record's id, and whether this write created it. A tuple: made a thousand times per
    batch, a frozen dataclass cost a fifth of the flush's Python."""

    id: int
    created: bool


@dataclass(frozen=True)
class Inserted:
    count: int
    # Keys that came more than once in the batch with different values: (source, external_id).
    repeated: list[tuple[str, str]] = field(default_factory=list)


def next_id(con: duckdb.DuckDBPyConnection, kind: RecordKind) -> int:
    row = con.execute(f"SELECT {largest_sql(kind.table, kind.id_column)}").fetchone()
    return int(row[0]) + 1 if row else 1


def next_batch_id(con: duckdb.DuckDBPyConnection, *, job: int | None = None) -> int:
    """A new batch id (the caller inserts its `ingest_batches` row in the same job)."""
    state = known(con)
    return state.batch_ids.next(con, trusted=state.trusted(job))


# --- rows from SQL: files ---------------------------------------------------------------

def insert_new(
    con: duckdb.DuckDBPyConnection,
    kind: RecordKind,
    rows_sql: str,
    columns: list[str],
    *,
    batch_id: int,
    row_number: str | None = "_row",
    source: str | None = None,
) -> Inserted:
    """Insert the rows of `rows_sql` whose key is not in the table yet; how many, and the keys
    repeated within the batch with different values.

    `rows_sql` must yield `columns` (canonical field names) and `row_number`, unique per row and
    rising in the order of the records: ids are the table's next id plus that number, so they
    are dense within a batch and need no sequence. Rows repeating a key within the batch keep
    their first occurrence (the lowest id). `source`: every row's source, where it is known.

    `row_number=None` is for rows that come in the order of the records but without a number
    (DuckDB numbers CSV records only with a window, on one thread). Where the table holds no
    record the rows could repeat (it is empty, or has none of `source`), no look-up in the
    table is needed, DuckDB stores the rows in the order they come (`BATCH_INSERT`, checked in
    the plan) and ids are given after the insert in that order. Otherwise the rows are numbered
    by a window, as before.
    """
    base = next_id(con, kind) - 1
    cols = ", ".join(quote(c) for c in columns)
    table, id_col = kind.table, kind.id_column
    values = ", ".join("s." + quote(c) for c in columns)
    present = _may_be_present(con, kind, source)
    anti_join = (
        f" WHERE NOT EXISTS (SELECT 1 FROM {table} t "
        "WHERE t.source = s.source AND t.external_id = s.external_id)" if present else ""
    )
    if row_number is None:
        insert = (
            f"INSERT INTO {table} ({id_col}, {cols}, batch_id) "
            f"SELECT 0, {values}, {batch_id} FROM ({rows_sql}) s{anti_join}"
        )
        if present or not _keeps_order(con, insert):
            rows_sql = f"SELECT row_number() OVER () AS _row, * FROM ({rows_sql})"
            row_number = "_row"
    if row_number is not None:
        insert = (
            f"INSERT INTO {table} ({id_col}, {cols}, batch_id) "
            f"SELECT {base} + s.{row_number}, {values}, {batch_id} FROM ({rows_sql}) s{anti_join}"
        )
    inserted = con.execute(insert).fetchone()
    count = int(inserted[0]) if inserted else 0
    if count and row_number is None:
        # The batch's rows are the transaction's own, stored in the order they came: their
        # rowids rise in the order of the records.
        con.execute(
            f"UPDATE {table} SET {id_col} = {base} + 1 + rowid - (SELECT min(rowid) FROM "
            f"{table} WHERE batch_id = {batch_id}) WHERE batch_id = {batch_id}"
        )
    repeated: list[tuple[str, str]] = []
    if count:
        dropped, repeated = _drop_repeats(con, kind, batch_id, columns)
        count -= dropped
        known(con).index(kind).added_in_batch(con, batch_id)
    return Inserted(count, repeated)


def _may_be_present(con: duckdb.DuckDBPyConnection, kind: RecordKind, source: str | None) -> bool:
    """Whether the table may hold a key of the rows to insert: not when it is empty, nor when
    all the rows have one source that no stored record has."""
    if source:
        row = con.execute(
            f"SELECT EXISTS (SELECT 1 FROM {kind.table} WHERE source = ?)", [source]
        ).fetchone()
    else:
        row = con.execute(f"SELECT EXISTS (SELECT 1 FROM {kind.table})").fetchone()
    return bool(row and row[0])


def _keeps_order(con: duckdb.DuckDBPyConnection, insert: str) -> bool:
    """Whether DuckDB stores the rows of `insert` in the order the query yields them: it does
    with `preserve_insertion_order` when the plan's insert is a BATCH_INSERT (a join, or a
    long IN list, which DuckDB plans as one, makes it an unordered INSERT)."""
    setting = con.execute("SELECT current_setting('preserve_insertion_order')").fetchone()
    if not (setting and setting[0]):
        return False
    plan = con.execute(f"EXPLAIN (FORMAT json) {insert}").fetchone()
    return plan is not None and json.loads(plan[1])[0].get("name") == "BATCH_INSERT"


def _drop_repeats(con: duckdb.DuckDBPyConnection, kind: RecordKind, batch_id: int,
                  columns: list[str]) -> tuple[int, list[tuple[str, str]]]:
    """Keys repeated inside one batch: keep the first row, delete the others. Returns how many
    were deleted, and the keys whose repeats differ from the first in any field (the same
    record sent twice is no news; two records under one id are)."""
    table, id_col = kind.table, kind.id_column
    repeated = con.execute(
        f"SELECT source, external_id FROM {table} WHERE batch_id = ? "
        f"GROUP BY source, external_id HAVING count(*) > 1 ORDER BY min({id_col})",
        [batch_id],
    ).fetchall()
    if not repeated:
        return 0, []
    fields = ", ".join(quote(c) for c in columns if c not in ("source", "external_id"))
    differing = {tuple(r) for r in con.execute(
        f"SELECT t.source, t.external_id FROM {table} t SEMI JOIN (SELECT unnest(?::VARCHAR[]) "
        "AS source, unnest(?::VARCHAR[]) AS external_id) k USING (source, external_id) "
        f"WHERE t.batch_id = ? GROUP BY ALL HAVING count(DISTINCT hash({fields or 'NULL'})) > 1",
        [[r[0] for r in repeated], [r[1] for r in repeated], batch_id],
    ).fetchall()}
    deleted = con.execute(
        f"DELETE FROM {table} WHERE batch_id = ? AND {id_col} NOT IN ("
        f"SELECT min({id_col}) FROM {table} WHERE batch_id = ? GROUP BY source, external_id)",
        [batch_id, batch_id],
    ).fetchone()
    return (int(deleted[0]) if deleted else 0), [
        (s, e) for s, e in repeated if (s, e) in differing]


# --- rows from Python: the API, the live feed, routing ------------------------------------

def write_rows(
    con: duckdb.DuckDBPyConnection,
    kind: RecordKind,
    groups: list[list[dict[str, Any]]],
    *,
    job: int | None = None,
    origin: str = "api",
    arrow: bool = False,
    window: float = 0.0,
) -> list[list[Written]]:
    """Insert the rows of several requests of one kind as one batch; ids per request.

    Runs in the writer's transaction, so looking the keys up and then inserting the missing
    ones cannot race with another insert. `job`: the writer's number of the running job, when
    the caller knows it (the API's flushes): if no other job ran since the last flush, what the
    writer knows of the tables is not checked again. `origin`: the batch's format in
    `ingest_batches`. `arrow`: insert as an Arrow table however few the rows (`_insert`).
    `window`: seconds for which later calls may write into this call's batch (the API's
    flushes: `batches`); 0, a batch of its own.
    """
    state = known(con)
    trusted = state.trusted(job)
    flat = [row for rows in groups for row in rows]
    keys = list(zip(map(itemgetter("source"), flat), map(itemgetter("external_id"), flat),
                    strict=True))
    index = state.index(kind)
    if index.built:
        first_new = index.next_id(con, trusted=trusted)
        hashes, maybe = index.find(con, keys)
        found = maybe if maybe is not None else _existing_ids(con, kind, keys)
    else:
        found = _existing_ids(con, kind, keys)
        first_new = next_id(con, kind)
    # Each row's id is either found, or first_new + the rank of its key among the new keys;
    # only the first occurrence of a new key is inserted and reported as created.
    rank: dict[tuple[str, str], int] = {}
    fresh: list[int] = []
    all_new = not found and len(set(keys)) == len(keys)  # the common case, without a loop
    if all_new:
        fresh = list(range(len(keys)))
    else:
        for i, key in enumerate(keys):
            if key not in found and key not in rank:
                rank[key] = len(rank)
                fresh.append(i)
    now = datetime.now(UTC).replace(tzinfo=None)
    batch_id = batch_for(con, state, kind, origin, trusted=trusted, read=len(flat),
                         loaded=len(fresh), now=now, window=window)
    if fresh:
        _insert(con, kind, flat if all_new else [flat[i] for i in fresh], first_new, batch_id,
                index, arrow=arrow)
        if index.built:
            index.added(hashes[fresh], np.arange(first_new, first_new + len(fresh)))
        for source in sorted({flat[i]["source"] for i in fresh}):
            run_steps(con, kind.table, (), batch_id, source)
    state.job = job if job is not None else -1
    if all_new:
        written = [Written(i, True) for i in range(first_new, first_new + len(keys))]
    else:
        created = set(fresh)
        written = [
            Written(found[key], False) if key in found
            else Written(first_new + rank[key], i in created)
            for i, key in enumerate(keys)
        ]
    out: list[list[Written]] = []
    n = 0
    for rows in groups:
        out.append(written[n : n + len(rows)])
        n += len(rows)
    return out


def _insert(con: duckdb.DuckDBPyConnection, kind: RecordKind, rows: list[dict[str, Any]],
            first_id: int, batch_id: int, index: KeyIndex, *, arrow: bool = False) -> None:
    """Only the columns that hold a value in some row: each column left out (a contact posted
    with 7 of its 34 fields) saves a tenth of the insert. A column left out gets its default,
    which is NULL for every field (`_no_default`). Up to `ARROW_ROWS` rows through DuckDB's
    appender (for the few rows of a single-record flush it costs half of an Arrow table, a
    tenth of an `executemany`); more as an Arrow table (`_insert_arrow`), and any number when
    `arrow` is asked for: the appender converts the rows while it holds the interpreter
    (100 decisions: the other threads waited up to 10 ms; as Arrow, 5), so rows that nobody
    waits for while requests are served go that way (the sink's lingering rows)."""
    n = len(rows)
    if index.appenders_of is not con:
        index.appenders_of, index.appenders = con, {}
        index.nullable = _no_default(con, kind)
        index.json_fields = frozenset(f.name for f in kind.fields if f.type == FieldType.JSON)
    columns: list[str] = []
    values: list[list[Any]] = []
    names = kind.field_names
    # Rows may leave fields out (the API's plain batches, other writers' rows): the fields that
    # no row holds are known at once rather than looked up in every row.
    held = set(chain.from_iterable(rows)) if min(map(len, rows)) < len(names) else None
    for name in names:
        if held is not None and name not in held:
            column: list[Any] = [None] * n
        else:
            try:
                column = list(map(itemgetter(name), rows))
            except KeyError:  # some rows leave it out
                column = [row.get(name) for row in rows]
        if column.count(None) == n and name in index.nullable:
            continue
        if name in index.json_fields:
            column = [_json(v) for v in column]
        columns.append(name)
        values.append(column)
    if (arrow or n > ARROW_ROWS) and _insert_arrow(con, kind, columns, values, first_id, batch_id):
        return
    appender = _appender(con, kind, index, tuple(columns))
    appender.append_rows(list(zip(range(first_id, first_id + n), *values,
                                  repeat(batch_id, n), strict=True)))
    appender.flush()


# Above this many rows an Arrow table is cheaper than the appender (its fixed cost is paid back
# by converting whole columns): 4,000 contacts 9-11 ms against 13-16 ms, 2,000 6.1-6.4 against
# 7.2-8.1, 1,000 about the same.
ARROW_ROWS = 1500
_ARROW_TYPES = {
    FieldType.TEXT: pa.string(), FieldType.INT: pa.int64(), FieldType.FLOAT: pa.float64(),
    FieldType.BOOL: pa.bool_(), FieldType.DATE: pa.date32(),
    FieldType.TIMESTAMP: pa.timestamp("us"), FieldType.DURATION: pa.float64(),
    FieldType.JSON: pa.string(),
}


def _insert_arrow(con: duckdb.DuckDBPyConnection, kind: RecordKind, columns: list[str],
                  values: list[list[Any]], first_id: int, batch_id: int) -> bool:
    """The rows as an Arrow table of the columns' own types; False (nothing inserted) when a
    column holds values of another type (rows from outside the API's models): the appender
    converts those as it always did."""
    types = {f.name: _ARROW_TYPES[f.type] for f in kind.fields}
    n = len(values[0]) if values else 0
    try:
        arrays = [pa.array(range(first_id, first_id + n), pa.int64()),
                  *(pa.array(v, types[c]) for c, v in zip(columns, values, strict=True)),
                  pa.array(repeat(batch_id, n), pa.int64(), size=n)]
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError, OverflowError):
        return False
    names = [kind.id_column, *columns, "batch_id"]
    # Read by DuckDB by its name (no table in the warehouse has it, which would come first).
    posted_rows_arrow = pa.Table.from_arrays(arrays, names=names)  # noqa: F841
    con.execute(f"INSERT INTO {kind.table} ({', '.join(quote(c) for c in names)}) "
                "SELECT * FROM posted_rows_arrow")
    return True


_APPENDERS = 8  # column sets kept per table: a source posts the same fields again and again


def _appender(con: duckdb.DuckDBPyConnection, kind: RecordKind, index: KeyIndex,
              columns: tuple[str, ...]) -> duckdb.Appender:
    """The index keeps its table's appenders for its connection (`_insert` resets them for a
    new one), one per set of columns (making one costs half a flush); rows that a failed flush
    left in one are dropped."""
    appender = index.appenders.pop(columns, None)
    if appender is None:
        if len(index.appenders) >= _APPENDERS:  # the least recently used goes (empty: flushed)
            del index.appenders[next(iter(index.appenders))]
        appender = con.appender(kind.table, columns=[kind.id_column, *columns, "batch_id"])
    index.appenders[columns] = appender  # most recently used last
    appender.clear()
    return appender


def _no_default(con: duckdb.DuckDBPyConnection, kind: RecordKind) -> frozenset[str]:
    """The fields whose column has no default other than NULL: the appender may leave them
    out when no row has a value (a column with a default is always given, NULLs included)."""
    rows = con.execute(
        "SELECT column_name FROM duckdb_columns() WHERE table_name = ? "
        "AND schema_name = current_schema() AND database_name = current_database() "
        "AND (column_default IS NULL OR upper(column_default) = 'NULL')", [kind.table],
    ).fetchall()
    return frozenset(r[0] for r in rows) & set(kind.field_names)


def _json(value: Any) -> str | None:
    return orjson.dumps(value).decode() if value is not None else None


def _existing_ids(
    con: duckdb.DuckDBPyConnection, kind: RecordKind, keys: list[tuple[str, str]]
) -> dict[tuple[str, str], int]:
    """The ids already given to any of `keys`, by a look-up in the table."""
    unique = list(dict.fromkeys(keys))
    rows = con.execute(
        f"SELECT t.source, t.external_id, t.{kind.id_column} FROM {kind.table} t JOIN "
        "(SELECT unnest(?::VARCHAR[]) AS source, unnest(?::VARCHAR[]) AS external_id) k "
        "ON t.source = k.source AND t.external_id = k.external_id",
        [[k[0] for k in unique], [k[1] for k in unique]],
    ).fetchall()
    return {(s, e): int(i) for s, e, i in rows}
