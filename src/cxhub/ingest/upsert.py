"""Idempotent insert into a record table, keyed on (source, external_id).

Used by file ingestion and by the REST API alike. Runs on the writer's connection, inside the
writer's transaction, so the anti-join below cannot race with another insert.
"""

from __future__ import annotations

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
    row_number: str = "_row",
    source: str | None = None,
) -> int:
    """Insert the rows of `rows_sql` whose key is not in the table yet; return how many.

    `rows_sql` must yield `columns` (canonical field names) and `row_number`, unique per row:
    ids are the table's next id plus that number, so they are dense within a batch and need no
    sequence. Rows repeating a key within the batch keep their first occurrence. `source`:
    every row's source, where it is known. Where the table holds no record the rows could
    repeat (it is empty, or has none of `source`), the rows are not looked up in it.
    """
    base = next_id(con, kind) - 1
    cols = ", ".join(quote(c) for c in columns)
    table, id_col = kind.table, kind.id_column
    anti_join = (
        f" WHERE NOT EXISTS (SELECT 1 FROM {table} t "
        "WHERE t.source = s.source AND t.external_id = s.external_id)"
        if _may_be_present(con, kind, source) else ""
    )
    inserted = con.execute(
        f"INSERT INTO {table} ({id_col}, {cols}, batch_id) "
        f"SELECT {base} + s.{row_number}, {', '.join('s.' + quote(c) for c in columns)}, "
        f"{batch_id} FROM ({rows_sql}) s{anti_join}"
    ).fetchone()
    count = int(inserted[0]) if inserted else 0
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
