"""Idempotent insert into a record table, keyed on (source, external_id).

Used by file ingestion and by the REST API alike. Runs on the writer's connection, inside the
writer's transaction, so the anti-join below cannot race with another insert.
"""

from __future__ import annotations

import json

import duckdb

from cxhub.domain.canonical import RecordKind
from cxhub.warehouse.schema import quote


def next_id(con: duckdb.DuckDBPyConnection, kind: RecordKind) -> int:
    row = con.execute(f"SELECT coalesce(max({kind.id_column}), 0) FROM {kind.table}").fetchone()
    return int(row[0]) + 1 if row else 1


def insert_new(
    con: duckdb.DuckDBPyConnection,
    kind: RecordKind,
    rows_sql: str,
    columns: list[str],
    *,
    batch_id: int,
    row_number: str | None = "_row",
    source: str | None = None,
) -> int:
    """Insert the rows of `rows_sql` whose key is not in the table yet; return how many.

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
    if count:
        count -= _drop_repeats(con, kind, batch_id)
    return count


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
    return bool(plan) and json.loads(plan[1])[0].get("name") == "BATCH_INSERT"


def _drop_repeats(con: duckdb.DuckDBPyConnection, kind: RecordKind, batch_id: int) -> int:
    """Keys repeated inside one batch: keep the first row, delete the others."""
    table, id_col = kind.table, kind.id_column
    repeated = con.execute(
        f"SELECT count(*) FROM (SELECT 1 FROM {table} WHERE batch_id = ? "
        "GROUP BY source, external_id HAVING count(*) > 1)",
        [batch_id],
    ).fetchone()
    if not repeated or not repeated[0]:
        return 0
    deleted = con.execute(
        f"DELETE FROM {table} WHERE batch_id = ? AND {id_col} NOT IN ("
        f"SELECT min({id_col}) FROM {table} WHERE batch_id = ? GROUP BY source, external_id)",
        [batch_id, batch_id],
    ).fetchone()
    return int(deleted[0]) if deleted else 0


def next_batch_id(con: duckdb.DuckDBPyConnection) -> int:
    row = con.execute("SELECT coalesce(max(batch_id), 0) + 1 FROM ingest_batches").fetchone()
    return int(row[0]) if row else 1
