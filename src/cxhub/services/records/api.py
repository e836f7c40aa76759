"""Records posted to the API: validated rows in, ids out, each key written once.

Requests do not write one by one. Each request's rows join a pending list and one writer job
takes everything pending, so a burst of single-record POSTs becomes one insert per kind
(group commit). A key posted twice, in one request or in two, gets the same id both times;
an in-memory index of the keys (`KeyIndex`) tells new keys from known ones without scanning the
table, so a flush costs the same on an empty warehouse and on one of millions of records.
Requests learn their ids only after the writer has committed.
"""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import UTC, datetime
from operator import itemgetter
from typing import Any

import duckdb
import numpy as np
import orjson

from cxhub.domain.canonical import RECORD_KINDS, FieldType, RecordKind
from cxhub.ingest.derive import run_steps
from cxhub.ingest.upsert import next_id
from cxhub.warehouse import Warehouse


@dataclass(frozen=True)
class Written:
    id: int
    created: bool


@dataclass
class _Request:
    rows: list[dict[str, Any]]
    future: Future[list[Written]] | None = None  # for callers in threads
    waiter: asyncio.Future[list[Written]] | None = None  # for callers on an event loop


class RecordSink:
    """Collects validated rows per kind and writes them in as few transactions as possible.

    Made when the server starts: it builds the key indexes then (a quarter of a second per
    million records) rather than on the first request, which would wait for it.
    """

    def __init__(self, wh: Warehouse, *, build_indexes: bool = True) -> None:
        self._wh = wh
        self._lock = threading.Lock()
        self._pending: dict[str, list[_Request]] = {}
        self._scheduled = False
        # Used by the writer thread only:
        self._indexes: dict[str, KeyIndex] = {}
        self._batch_ids = _BatchIds()
        self._last_job = -1  # the writer's job number of this sink's last committed flush
        if build_indexes:
            wh.writer.run(self._build, groupable=False)

    def submit(self, kind: str, rows: list[dict[str, Any]]) -> Future[list[Written]]:
        """Queue rows for the next flush; the future holds their ids once committed."""
        request = _Request(rows, future=Future())
        self._add(kind, request)
        assert request.future is not None
        return request.future

    async def write(self, kind: str, rows: list[dict[str, Any]]) -> list[Written]:
        """`submit` for code on an event loop, without a thread per waiting request: a flush
        wakes each loop once for all of its requests."""
        request = _Request(rows, waiter=asyncio.get_running_loop().create_future())
        self._add(kind, request)
        assert request.waiter is not None
        return await request.waiter

    def _add(self, kind: str, request: _Request) -> None:
        with self._lock:
            self._pending.setdefault(kind, []).append(request)
            if not self._scheduled:
                self._scheduled = True
                flush = _Flush(self)
                self._wh.writer.submit(flush.run).add_done_callback(flush.done)

    def _take(self) -> dict[str, list[_Request]]:
        with self._lock:
            pending, self._pending, self._scheduled = self._pending, {}, False
        return pending

    def _index(self, kind: str) -> KeyIndex:
        if kind not in self._indexes:
            self._indexes[kind] = KeyIndex(RECORD_KINDS[kind])
        return self._indexes[kind]

    def _build(self, con: duckdb.DuckDBPyConnection) -> None:
        for kind in RECORD_KINDS:
            self._index(kind).next_id(con)
        self._batch_ids.sync(con)
        self._last_job = self._wh.writer.job_number

    def _trusted(self) -> bool:
        """Whether no other writer job ran since this sink's last flush committed: then the
        indexes and the next batch id are still right without asking the tables."""
        return self._last_job == self._wh.writer.job_number - 1


class _Flush:
    """One writer job: the requests pending when it first runs, written in one transaction.

    The requests learn their ids only once the writer has committed: the writer may roll a
    group of jobs back and run each again alone, and then this job writes the same requests
    again rather than answer for rows that were rolled back.
    """

    def __init__(self, sink: RecordSink) -> None:
        self._sink = sink
        self._requests: dict[str, list[_Request]] | None = None
        self._job = -1

    def run(self, con: duckdb.DuckDBPyConnection) -> list[tuple[_Request, list[Written]]]:
        sink = self._sink
        trusted = sink._trusted() and self._requests is None  # a rerun follows a rollback
        if self._requests is None:
            self._requests = sink._take()
        self._job = sink._wh.writer.job_number
        out = []
        for kind, requests in self._requests.items():
            index = sink._index(kind)
            results = write_rows(con, RECORD_KINDS[kind], [r.rows for r in requests], index,
                                 batch_ids=sink._batch_ids, trusted=trusted)
            out += zip(requests, results, strict=True)
        return out

    def done(self, job: Future[list[tuple[_Request, list[Written]]]]) -> None:
        """On the writer thread, after the commit (or the failure)."""
        exc = job.exception()
        self._sink._last_job = self._job if exc is None else -1
        if exc is not None:  # every waiting request learns of it
            answers: list[tuple[_Request, Any]] = [
                (r, exc) for rs in (self._requests or {}).values() for r in rs
            ]
        else:
            answers = list(job.result())
        by_loop: dict[asyncio.AbstractEventLoop, list[tuple[_Request, Any]]] = {}
        for request, answer in answers:
            if request.waiter is not None:
                by_loop.setdefault(request.waiter.get_loop(), []).append((request, answer))
            elif request.future is not None:
                if isinstance(answer, BaseException):
                    request.future.set_exception(answer)
                else:
                    request.future.set_result(answer)
        for loop, items in by_loop.items():
            try:
                loop.call_soon_threadsafe(_answer, items)
            except RuntimeError:  # the loop is closed: nobody is waiting any more
                pass


def _answer(items: list[tuple[_Request, Any]]) -> None:
    for request, answer in items:
        waiter = request.waiter
        if waiter is None or waiter.done():  # a client that went away cancels its wait
            continue
        if isinstance(answer, BaseException):
            waiter.set_exception(answer)
        else:
            waiter.set_result(answer)


class _BatchIds:
    """The next `ingest_batches` id, kept by the writer thread between flushes: asking the
    table costs a statement per flush."""

    def __init__(self) -> None:
        self._next: int | None = None

    def next(self, con: duckdb.DuckDBPyConnection, *, trusted: bool) -> int:
        if not trusted or self._next is None:
            self.sync(con)
        assert self._next is not None
        batch_id, self._next = self._next, self._next + 1
        return batch_id

    def sync(self, con: duckdb.DuckDBPyConnection) -> None:
        row = con.execute("SELECT coalesce(max(batch_id), 0) FROM ingest_batches").fetchall()
        self._next = int(row[0][0]) + 1


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
        self.appender: tuple[duckdb.DuckDBPyConnection, duckdb.Appender] | None = None

    def next_id(self, con: duckdb.DuckDBPyConnection, *, trusted: bool = False) -> int:
        """Bring the index up to date with the table; the next free id. `trusted`: no other
        job has written since this index was last up to date, so the table is not asked."""
        if trusted and self._count >= 0:
            return self._max_id + 1
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
    *,
    batch_ids: _BatchIds | None = None,
    trusted: bool = False,
) -> list[list[Written]]:
    """Insert the rows of several requests of one kind as one batch; ids per request.

    Runs in the writer's transaction, so looking the keys up and then inserting the missing
    ones cannot race with another insert. Without an index the keys are looked up in the table.
    `trusted` (with an index and `batch_ids`): no other job wrote since they were last right.
    """
    flat = [row for rows in groups for row in rows]
    keys = [(r["source"], r["external_id"]) for r in flat]
    if index is not None:
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
    for i, key in enumerate(keys):
        if key not in found and key not in rank:
            rank[key] = len(rank)
            fresh.append(i)
    now = datetime.now(UTC).replace(tzinfo=None)
    counts = [kind.table, now, now, len(flat), len(fresh), len(flat) - len(fresh)]
    if batch_ids is not None:
        batch_id = batch_ids.next(con, trusted=trusted)
        con.execute(
            "INSERT INTO ingest_batches VALUES "
            "(?, 'api', ?, NULL, NULL, ?, ?, 'loaded', ?, ?, ?, 0)",
            [batch_id, *counts],
        )
    else:
        batch_id = con.execute(
            "INSERT INTO ingest_batches SELECT coalesce(max(batch_id), 0) + 1, 'api', ?, NULL, "
            "NULL, ?, ?, 'loaded', ?, ?, ?, 0 FROM ingest_batches RETURNING batch_id",
            counts,
        ).fetchall()[0][0]
    if fresh:
        _insert(con, kind, [flat[i] for i in fresh], first_new, batch_id, index)
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
            first_id: int, batch_id: int, index: KeyIndex | None) -> None:
    """DuckDB's appender: for the few rows of a flush it costs half of registering an Arrow
    table and inserting from it, and a tenth of an `executemany`."""
    names = kind.field_names
    json_fields = [f.name for f in kind.fields if f.type == FieldType.JSON]
    take = itemgetter(*names)  # rows from the API's models hold every field
    appender = _appender(con, kind, index)
    values = []
    for n, row in enumerate(rows):
        if json_fields and any(row.get(f) is not None for f in json_fields):
            row = {**row, **{f: _json(row.get(f)) for f in json_fields}}
        try:
            fields = take(row)
        except KeyError:  # rows from elsewhere may leave fields out
            fields = tuple(row.get(name) for name in names)
        values.append((first_id + n, *fields, batch_id))
    appender.append_rows(values)
    appender.flush()


def _appender(con: duckdb.DuckDBPyConnection, kind: RecordKind,
              index: KeyIndex | None) -> duckdb.Appender:
    """The index keeps its table's appender for its connection (making one costs half a
    flush); rows that a failed flush left in it are dropped."""
    if index is None:
        return _new_appender(con, kind)
    if index.appender is None or index.appender[0] is not con:
        index.appender = (con, _new_appender(con, kind))
    index.appender[1].clear()
    return index.appender[1]


def _new_appender(con: duckdb.DuckDBPyConnection, kind: RecordKind) -> duckdb.Appender:
    return con.appender(kind.table, columns=[kind.id_column, *kind.field_names, "batch_id"])


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

