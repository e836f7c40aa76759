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
) -> int:
    """Insert the rows of `rows_sql` whose key is not in the table yet; return how many.

    `rows_sql` must yield `columns` (canonical field names) and `row_number`, unique per row:
    ids are the table's next id plus that number, so they are dense within a batch and need no
    sequence. Rows repeating a key within the batch keep their first occurrence.
    """
    base = next_id(con, kind) - 1
    cols = ", ".join(quote(c) for c in columns)
    table, id_col = kind.table, kind.id_column
    inserted = con.execute(
        f"INSERT INTO {table} ({id_col}, {cols}, batch_id) "
        f"SELECT {base} + s.{row_number}, {', '.join('s.' + quote(c) for c in columns)}, {batch_id} "
        f"FROM ({rows_sql}) s WHERE NOT EXISTS (SELECT 1 FROM {table} t "
        "WHERE t.source = s.source AND t.external_id = s.external_id)"
    ).fetchone()
    count = int(inserted[0]) if inserted else 0
    if count:
        count -= _drop_repeats(con, kind, batch_id)
    return count


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
