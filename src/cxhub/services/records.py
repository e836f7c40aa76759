"""Records posted to the API: validated rows in, ids out, each key written once.

Requests do not write one by one. Each request's rows join a pending list and one writer job
takes everything pending, so a burst of single-record POSTs becomes one insert per kind
(group commit). A key posted twice, in one request or in two, gets the same id both times;
an in-memory index of the keys (`KeyIndex`) tells new keys from known ones without scanning the
table, so a flush costs the same on an empty warehouse and on one of millions of records.
Requests learn their ids only after the writer has committed.
"""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import duckdb
import numpy as np
import orjson
import pyarrow as pa

from cxhub.domain.canonical import RECORD_KINDS, FieldType, RecordKind
from cxhub.ingest.derive import run_steps
from cxhub.ingest.upsert import next_id
from cxhub.warehouse import Warehouse
from cxhub.warehouse.schema import quote

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
        self._indexes: dict[str, KeyIndex] = {}  # used by the writer thread only

    def submit(self, kind: str, rows: list[dict[str, Any]]) -> Future[list[Written]]:
        request = _Request(rows)
        with self._lock:
            self._pending.setdefault(kind, []).append(request)
            if not self._scheduled:
                self._scheduled = True
                flush = _Flush(self)
                self._wh.writer.submit(flush.run).add_done_callback(flush.done)
        return request.future

    def _take(self) -> dict[str, list[_Request]]:
        with self._lock:
            pending, self._pending, self._scheduled = self._pending, {}, False
        return pending

    def _index(self, kind: str) -> KeyIndex:
        if kind not in self._indexes:
            self._indexes[kind] = KeyIndex(RECORD_KINDS[kind])
        return self._indexes[kind]


class _Flush:
    """One writer job: the requests pending when it first runs, written in one transaction.

    The requests learn their ids only once the writer has committed: the writer may roll a
    group of jobs back and run each again alone, and then this job writes the same requests
    again rather than answer for rows that were rolled back.
    """

    def __init__(self, sink: RecordSink) -> None:
        self._sink = sink
        self._requests: dict[str, list[_Request]] | None = None

    def run(self, con: duckdb.DuckDBPyConnection) -> list[tuple[_Request, list[Written]]]:
        if self._requests is None:
            self._requests = self._sink._take()
        out = []
        for kind, requests in self._requests.items():
            index = self._sink._index(kind)
            results = write_rows(con, RECORD_KINDS[kind], [r.rows for r in requests], index)
            out += zip(requests, results, strict=True)
        return out

    def done(self, job: Future[list[tuple[_Request, list[Written]]]]) -> None:
        exc = job.exception()
        if exc is not None:  # every waiting request learns of it
            for requests in (self._requests or {}).values():
                for r in requests:
                    r.future.set_exception(exc)
            return
        for request, written in job.result():
            request.future.set_result(written)


class KeyIndex:
    """(source, external_id) -> id for one record table, kept in memory by the writer thread.

    The tables have no index on the key (bulk loads are several times faster without one), so
    telling new keys from known ones would otherwise scan the whole table at every flush, and
    the API would slow down as the warehouse grows. This keeps DuckDB's 64-bit hash of each key
    with its id, sorted (16 bytes a record), plus a dict of the keys added since the last merge.
    A hash that is found is checked against the table by id, so a collision can never merge two
    records. The index is rebuilt whenever the table's row count or largest id is not what it
    expects: another writer added or deleted rows, or a flush was rolled back.
    """

    def __init__(self, kind: RecordKind) -> None:
        self.kind = kind
        self._hashes = np.empty(0, np.uint64)
        self._ids = np.empty(0, np.int64)
        self._recent: dict[int, int] = {}
        self._count = -1
        self._max_id = -1

    def next_id(self, con: duckdb.DuckDBPyConnection) -> int:
        """Bring the index up to date with the table; the next free id."""
        k = self.kind
        count, max_id = con.execute(
            f"SELECT count(*), coalesce(max({k.id_column}), 0) FROM {k.table}"
        ).fetchall()[0]
        if (count, max_id) != (self._count, self._max_id):
            cols = con.execute(
                f"SELECT hash(source, external_id) AS h, {k.id_column} AS id FROM {k.table}"
            ).fetchnumpy()
            order = np.argsort(cols["h"], kind="stable")
            self._hashes = np.asarray(cols["h"], np.uint64)[order]
            self._ids = np.asarray(cols["id"], np.int64)[order]
            self._recent = {}
            self._count, self._max_id = int(count), int(max_id)
        return self._max_id + 1

    def find(self, con: duckdb.DuckDBPyConnection, keys: list[tuple[str, str]]
             ) -> tuple[np.ndarray, dict[tuple[str, str], int] | None]:
        """The keys' hashes, and the ids of those already in the table (None when a hash
        collision makes the index unsure: then the caller looks the keys up in the table)."""
        hashes = con.execute(
            "SELECT hash(s, e) FROM (SELECT unnest(?::VARCHAR[]) AS s, "
            "unnest(?::VARCHAR[]) AS e)",
            [[k[0] for k in keys], [k[1] for k in keys]],
        ).fetchnumpy()
        h = np.asarray(next(iter(hashes.values())), np.uint64)
        candidates: dict[int, int] = {}
        if len(self._hashes):
            pos = np.minimum(np.searchsorted(self._hashes, h), len(self._hashes) - 1)
            for i in np.flatnonzero(self._hashes[pos] == h):
                candidates[int(h[i])] = int(self._ids[pos[i]])
        for value in h.tolist():
            if value in self._recent:
                candidates[value] = self._recent[value]
        if not candidates:
            return h, {}
        k = self.kind
        rows = con.execute(
            f"SELECT {k.id_column}, source, external_id FROM {k.table} "
            f"WHERE {k.id_column} IN (SELECT unnest(?::BIGINT[]))",
            [sorted(set(candidates.values()))],
        ).fetchall()
        stored = {int(i): (s, e) for i, s, e in rows}
        found = {}
        for key, value in zip(keys, h.tolist(), strict=True):
            rid = candidates.get(value)
            if rid is None:
                continue
            if stored.get(rid) != key:
                return h, None  # a collision: this hash belongs to another key
            found[key] = rid
        return h, found

    def added(self, hashes: list[int], ids: list[int]) -> None:
        """Record rows this writer inserted (call within the same transaction)."""
        self._recent.update(zip(hashes, ids, strict=True))
        self._count += len(ids)
        self._max_id = max(self._max_id, *ids)
        if len(self._recent) >= max(100_000, len(self._hashes) // 8):
            new_h = np.fromiter(self._recent.keys(), np.uint64, len(self._recent))
            new_i = np.fromiter(self._recent.values(), np.int64, len(self._recent))
            order = np.argsort(new_h, kind="stable")
            at = np.searchsorted(self._hashes, new_h[order])
            self._hashes = np.insert(self._hashes, at, new_h[order])
            self._ids = np.insert(self._ids, at, new_i[order])
            self._recent = {}


def write_rows(
    con: duckdb.DuckDBPyConnection,
    kind: RecordKind,
    groups: list[list[dict[str, Any]]],
    index: KeyIndex | None = None,
) -> list[list[Written]]:
    """Insert the rows of several requests of one kind as one batch; ids per request.

    Runs in the writer's transaction, so looking the keys up and then inserting the missing
    ones cannot race with another insert. Without an index the keys are looked up in the table.
    """
    flat = [row for rows in groups for row in rows]
    keys = [(r["source"], r["external_id"]) for r in flat]
    if index is not None:
        first_new = index.next_id(con)
        hashes, maybe = index.find(con, keys)
        found = maybe if maybe is not None else _existing_ids(con, kind, keys)
    else:
        found = _existing_ids(con, kind, keys)
        first_new = next_id(con, kind)
    # Each row's id is either found, or first_new + the rank of its key among the new keys;
    # only the first occurrence of a new key is inserted and reported as created.
    rank: dict[tuple[str, str], int] = {}
    fresh: list[int] = []
    for i, key in enumerate(keys):
        if key not in found and key not in rank:
            rank[key] = len(rank)
            fresh.append(i)
    now = datetime.now(UTC).replace(tzinfo=None)
    batch_id = con.execute(
        "INSERT INTO ingest_batches SELECT coalesce(max(batch_id), 0) + 1, 'api', ?, NULL, "
        "NULL, ?, ?, 'loaded', ?, ?, ?, 0 FROM ingest_batches RETURNING batch_id",
        [kind.table, now, now, len(flat), len(fresh), len(flat) - len(fresh)],
    ).fetchall()[0][0]
    if fresh:
        _insert(con, kind, [flat[i] for i in fresh], first_new, batch_id)
        if index is not None:
            index.added([int(hashes[i]) for i in fresh], [first_new + n for n in range(len(fresh))])
        for source in sorted({flat[i]["source"] for i in fresh}):
            run_steps(con, kind.table, (), batch_id, source)
    created = set(fresh)
    written = [
        Written(found[key], False) if key in found else Written(first_new + rank[key], i in created)
        for i, key in enumerate(keys)
    ]
    out: list[list[Written]] = []
    n = 0
    for rows in groups:
        out.append(written[n : n + len(rows)])
        n += len(rows)
    return out


def _insert(con: duckdb.DuckDBPyConnection, kind: RecordKind, rows: list[dict[str, Any]],
            first_id: int, batch_id: int) -> None:
    table = _arrow(kind, rows)
    table = table.append_column(
        kind.id_column, pa.array(range(first_id, first_id + len(rows)), pa.int64()))
    cols = ", ".join([kind.id_column, *(quote(c) for c in kind.field_names)])
    view = f"_api_{uuid.uuid4().hex[:12]}"
    con.register(view, table)
    try:
        con.execute(
            f"INSERT INTO {kind.table} ({cols}, batch_id) SELECT {cols}, {int(batch_id)} "
            f"FROM {view}"
        ).fetchall()
    finally:
        con.unregister(view)


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


def _arrow(kind: RecordKind, rows: list[dict[str, Any]]) -> pa.Table:
    arrays = {}
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

