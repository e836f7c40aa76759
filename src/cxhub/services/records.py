"""Records posted to the API: validated rows in, ids out, each key written once.

Requests do not write one by one. Each request's rows join a pending list and one writer job
takes everything pending, so a burst of single-record POSTs becomes one insert per kind
(group commit). A key posted twice, in one request or in two, gets the same id both times.
"""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import duckdb
import orjson
import pyarrow as pa

from cxhub.domain.canonical import RECORD_KINDS, FieldType, RecordKind
from cxhub.ingest.derive import run_steps
from cxhub.ingest.upsert import insert_new, next_batch_id, next_id
from cxhub.warehouse import Warehouse

_ARROW = {
    FieldType.TEXT: pa.string(),
    FieldType.INT: pa.int64(),
    FieldType.FLOAT: pa.float64(),
    FieldType.BOOL: pa.bool_(),
    FieldType.DATE: pa.date32(),
    FieldType.TIMESTAMP: pa.timestamp("us"),
    FieldType.DURATION: pa.float64(),
    FieldType.JSON: pa.string(),
}


@dataclass(frozen=True)
class Written:
    id: int
    created: bool


@dataclass
class _Request:
    rows: list[dict[str, Any]]
    future: Future[list[Written]] = field(default_factory=Future)


class RecordSink:
    """Collects validated rows per kind and writes them in as few transactions as possible."""

    def __init__(self, wh: Warehouse) -> None:
        self._wh = wh
        self._lock = threading.Lock()
        self._pending: dict[str, list[_Request]] = {}
        self._scheduled = False

    def submit(self, kind: str, rows: list[dict[str, Any]]) -> Future[list[Written]]:
        request = _Request(rows)
        with self._lock:
            self._pending.setdefault(kind, []).append(request)
            if not self._scheduled:
                self._scheduled = True
                self._wh.writer.submit(self._flush)
        return request.future

    def _flush(self, con: duckdb.DuckDBPyConnection) -> None:
        with self._lock:
            pending, self._pending, self._scheduled = self._pending, {}, False
        for kind, requests in pending.items():
            try:
                results = write_rows(con, RECORD_KINDS[kind], [r.rows for r in requests])
            except Exception as exc:  # every waiting request learns of it
                for r in requests:
                    r.future.set_exception(exc)
                raise
            for r, written in zip(requests, results, strict=True):
                r.future.set_result(written)


def write_rows(
    con: duckdb.DuckDBPyConnection, kind: RecordKind, groups: list[list[dict[str, Any]]]
) -> list[list[Written]]:
    """Insert the rows of several requests of one kind as one batch; ids per request."""
    columns = list(kind.field_names)
    flat = [row for rows in groups for row in rows]
    table = _arrow(kind, flat)
    view = f"_api_{uuid.uuid4().hex[:12]}"
    con.register(view, table)
    try:
        batch_id = next_batch_id(con)
        first_new = next_id(con, kind)
        loaded = insert_new(con, kind, f"SELECT * FROM {view}", columns, batch_id=batch_id)
        ids = con.execute(
            f"SELECT s._row, t.{kind.id_column} FROM {view} s JOIN {kind.table} t "
            "ON t.source = s.source AND t.external_id = s.external_id"
        ).fetchall()
        for source in sorted({r["source"] for r in flat}):
            run_steps(con, kind.table, (), batch_id, source)
        now = datetime.now(UTC).replace(tzinfo=None)
        con.execute(
            "INSERT INTO ingest_batches VALUES (?, 'api', ?, NULL, NULL, ?, ?, 'loaded', ?, ?, ?, 0)",
            [batch_id, kind.table, now, now, len(flat), loaded, len(flat) - loaded],
        )
    finally:
        con.unregister(view)
    by_row = {int(r): int(i) for r, i in ids}
    out: list[list[Written]] = []
    n = 0
    for rows in groups:
        written = []
        for _ in rows:
            n += 1
            rid = by_row[n]
            written.append(Written(rid, rid >= first_new))
        out.append(written)
    return out


def _arrow(kind: RecordKind, rows: list[dict[str, Any]]) -> pa.Table:
    arrays = {"_row": pa.array(range(1, len(rows) + 1), pa.int64())}
    for f in kind.fields:
        values = [r.get(f.name) for r in rows]
        if f.type == FieldType.JSON:
            values = [orjson.dumps(v).decode() if v is not None else None for v in values]
        arrays[f.name] = pa.array(values, _ARROW[f.type])
    return pa.table(arrays)


def read_record(wh: Warehouse, kind: RecordKind, record_id: int) -> dict[str, Any] | None:
    cur = wh.cursor()
    cur.execute(f"SELECT * FROM {kind.table} WHERE {kind.id_column} = ?", [record_id])
    row = cur.fetchone()
    if row is None:
        return None
    names = [d[0] for d in cur.description]
    record = dict(zip(names, row, strict=True))
    if isinstance(record.get("attributes"), str):
        record["attributes"] = orjson.loads(record["attributes"])
    return record

