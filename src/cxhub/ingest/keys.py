"""What the writer knows of the stored records between its jobs: the keys, the next batch id.

One `Known` per write connection (so per warehouse), shared by every writer of records (files,
the API, the live feed, listening's routing, offers' decisions): each one that inserts rows
tells it, so none of them has to rebuild what another one changed. Only the writer thread
touches it.
"""

from __future__ import annotations

import hashlib
import shutil
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import numpy as np

from cxhub.domain.canonical import RecordKind
from cxhub.ingest.key_runs import RUN_KEYS, Runs, runs_folder
from cxhub.warehouse.schema import largest_sql

# A key's 64-bit hash, the same in SQL (building the index from a table) and in Python (the
# keys of a flush): half of the MD5 of "source<unit separator>external_id". Python's is a
# fiftieth of the time of asking DuckDB for its own `hash` of a flush's keys (32 keys: 0.02
# against 1.0-1.6 ms, a sixth of a single-contact flush), at the price of a slower build
# when the server starts (the demo company's 3.8 million keys: 1.3 s against 0.16 s); a
# collision is still checked by id.
KEY_HASH_SQL = "md5_number_lower(source || chr(31) || external_id)"

# Keys added since the last merge, kept in a dict until there are this many (at most 8 MB).
RECENT_KEYS = 65_536


def key_hashes(keys: Sequence[tuple[str, str]]) -> np.ndarray:
    """`KEY_HASH_SQL` of each (source, external_id), computed here."""
    md5 = hashlib.md5
    return np.fromiter((int.from_bytes(md5(f"{s}\x1f{e}".encode()).digest()[8:], "little")
                        for s, e in keys), np.uint64, len(keys))


class BatchIds:
    """The next `ingest_batches` id: the one allocator of batch ids, for files and API alike.
    Kept between jobs, because asking the table costs a statement per API flush."""

    def __init__(self) -> None:
        self._next: int | None = None

    def next(self, con: duckdb.DuckDBPyConnection, *, trusted: bool = False) -> int:
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
    telling new keys from known ones would otherwise scan the whole table at every API flush,
    and the API would slow down as the warehouse grows. This keeps a 64-bit hash of each key
    (`KEY_HASH_SQL`) with its id: the latest keys in memory (a dict of those added since the
    last merge, and sorted arrays of up to `RUN_KEYS`), the others in sorted runs on disk
    (`key_runs`), so the server's memory does not grow with its tables. A hash that is found is
    checked against the table by id, so a collision can never merge two records. The index
    checks the table's row count and largest id when it cannot trust itself: rows it was told
    of that were rolled back are dropped; anything else (rows written by hand, or deleted)
    rebuilds it.
    """

    def __init__(self, kind: RecordKind, folder: Callable[[], Path]) -> None:
        self.kind = kind
        self._hashes = np.empty(0, np.uint64)
        self._ids = np.empty(0, np.int64)
        self._recent: dict[int, int] = {}
        self._folder = folder
        self._runs: Runs | None = None
        self._stale = False  # a merge failed halfway (a full disk): made again before use
        self._count = -1
        self._max_id = -1
        # The writer's appenders for this table (`upsert._insert`), per set of columns, and
        # what it needs to know of the table's columns, for one connection.
        self.appenders_of: duckdb.DuckDBPyConnection | None = None
        self.appenders: dict[tuple[str, ...], duckdb.Appender] = {}
        self.nullable: frozenset[str] = frozenset()
        self.json_fields: frozenset[str] = frozenset()

    @property
    def built(self) -> bool:
        return self._count >= 0

    def rows(self) -> int:
        """The table's rows as last known (the writer's busy checkpoints ask: `Writer.rows_now`)."""
        return self._count

    def next_id(self, con: duckdb.DuckDBPyConnection, *, trusted: bool = False) -> int:
        """Bring the index up to date with the table; the next free id. `trusted`: no other
        job has written since this index was last up to date, so the table is not asked."""
        if trusted and self.built and not self._stale:
            return self._max_id + 1
        k = self.kind
        count, max_id = con.execute(
            f"SELECT count(*), {largest_sql(k.table, k.id_column)} FROM {k.table}"
        ).fetchall()[0]
        if self._stale or ((count, max_id) != (self._count, self._max_id)
                           and not self._forget_after(int(count), int(max_id))):
            cols = con.execute(
                f"SELECT {KEY_HASH_SQL} AS h, {k.id_column} AS id FROM {k.table}"
            ).fetchnumpy()
            self._build(np.asarray(cols["h"], np.uint64), np.asarray(cols["id"], np.int64))
            self._count, self._max_id = int(count), int(max_id)
        return self._max_id + 1

    def _build(self, hashes: np.ndarray, ids: np.ndarray) -> None:
        """The index of a whole table: its latest keys (fewer than `RUN_KEYS`) in memory, the
        others as one run on disk."""
        self._recent, self._stale = {}, False
        self.close()
        order = np.argsort(hashes, kind="stable")
        keep = len(ids) % RUN_KEYS
        if keep < len(ids):
            newest = ids > (np.partition(ids, len(ids) - keep - 1)[len(ids) - keep - 1])
            on_disk = order[~newest[order]]
            self.runs().add(hashes[on_disk], ids[on_disk])
            order = order[newest[order]]
        self._hashes, self._ids = hashes[order], ids[order]

    def close(self) -> None:
        if self._runs is not None:
            self._runs.clear()

    def runs(self) -> Runs:
        if self._runs is None:
            self._runs = Runs(self._folder(), self.kind.table)
        return self._runs

    def _forget_after(self, count: int, max_id: int) -> bool:
        """A rolled-back job's rows: the recent keys with ids above the table's largest id.
        Whether dropping them makes the index agree with the table again."""
        dropped = [h for h, i in self._recent.items() if i > max_id]
        if not dropped or self._count - len(dropped) != count:
            return False
        for h in dropped:
            del self._recent[h]
        self._count, self._max_id = count, max_id
        return True

    def find(self, con: duckdb.DuckDBPyConnection, keys: list[tuple[str, str]]
             ) -> tuple[np.ndarray, dict[tuple[str, str], int] | None]:
        """The keys' hashes, and the ids of those already in the table (None when a hash
        collision makes the index unsure: then the caller looks the keys up in the table)."""
        h = key_hashes(keys)
        candidates = self._runs.find(h) if self._runs is not None else {}
        if len(self._hashes):
            # Looked for in sorted order, each search starting where the last ended: 4,000
            # keys in 2 million, 0.45 ms against 0.87 unsorted.
            order = np.argsort(h)
            pos = np.empty(len(h), np.intp)
            pos[order] = np.searchsorted(self._hashes, h[order])
            np.minimum(pos, len(self._hashes) - 1, out=pos)
            for i in np.flatnonzero(self._hashes[pos] == h):
                candidates[int(h[i])] = int(self._ids[pos[i]])
        if self._recent:
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

    def added(self, hashes: list[int] | np.ndarray, ids: list[int] | np.ndarray) -> None:
        """Record rows inserted into the table (call within the same transaction)."""
        if not len(ids):
            return
        try:
            if len(ids) > 10_000:  # a file's batch: straight into the sorted arrays
                self._merge(np.asarray(hashes, np.uint64), np.asarray(ids, np.int64))
            else:  # plain ints: numpy's would reach DuckDB's parameters in `find`
                self._recent.update(zip(np.asarray(hashes, np.uint64).tolist(),
                                        np.asarray(ids, np.int64).tolist(), strict=True))
            self._count += len(ids)
            self._max_id = max(self._max_id, int(np.max(ids)))
            # The recent keys are a dict of Python ints, 117 bytes a key against the sorted
            # arrays' 16 (tracemalloc): merged at RECENT_KEYS into arrays of at most RUN_KEYS.
            if len(self._recent) >= RECENT_KEYS:
                self._merge(np.fromiter(self._recent.keys(), np.uint64, len(self._recent)),
                            np.fromiter(self._recent.values(), np.int64, len(self._recent)))
                self._recent = {}
        except BaseException:
            self._stale = True  # keys of a job that will be rolled back may be in the arrays
            raise

    def added_in_batch(self, con: duckdb.DuckDBPyConnection, batch_id: int) -> None:
        """Record the rows a batch inserted by SQL (a file's), when the index is in use."""
        if not self.built:
            return
        k = self.kind
        cols = con.execute(
            f"SELECT {KEY_HASH_SQL} AS h, {k.id_column} AS id FROM {k.table} "
            "WHERE batch_id = ?", [batch_id]).fetchnumpy()
        self.added(np.asarray(cols["h"], np.uint64), np.asarray(cols["id"], np.int64))

    def _merge(self, new_h: np.ndarray, new_i: np.ndarray) -> None:
        order = np.argsort(new_h, kind="stable")
        at = np.searchsorted(self._hashes, new_h[order])
        self._hashes = np.insert(self._hashes, at, new_h[order])
        self._ids = np.insert(self._ids, at, new_i[order])
        if len(self._ids) >= RUN_KEYS:  # out to disk: memory stays flat as the table grows
            self.runs().add(self._hashes, self._ids)
            self._hashes, self._ids = np.empty(0, np.uint64), np.empty(0, np.int64)


@dataclass
class OpenBatch:
    """An API batch that later flushes of the same kind and format may still write into
    (`batches`): its counts so far; its row says those of its first flush."""

    batch_id: int
    opened: float  # time.monotonic() of its first flush
    last_at: datetime  # UTC, naive, of its last flush
    read: int
    loaded: int
    flushes: int = 1  # more than one: its row's counts are behind


class Known:
    """Per write connection: the key index of each record table (built when a server starts;
    one-off writers look keys up in the table instead), the batch ids, and the writer's job
    number at which all of it was last known to be right."""

    def __init__(self, warehouse: str | None = None) -> None:
        self.indexes: dict[str, KeyIndex] = {}
        self._warehouse = warehouse
        self._folder: Path | None = None
        self.batch_ids = BatchIds()
        self.job = -1
        # The API's batches still open to the next flushes, by (table, format): `batches`.
        self.open_batches: dict[tuple[str, str], OpenBatch] = {}

    def forget(self) -> None:
        """After a write that was rolled back: check the tables again before trusting what is
        known of them, and close every open batch where its row stands."""
        self.job = -1
        self.open_batches.clear()

    def index(self, kind: RecordKind) -> KeyIndex:
        found = self.indexes.get(kind.table)
        if found is None:
            found = self.indexes[kind.table] = KeyIndex(kind, self.folder)
        return found

    def folder(self) -> Path:
        """Where the key indexes write their runs (made the first time one does)."""
        if self._folder is None:
            self._folder = runs_folder(self._warehouse, self)
        return self._folder

    def close(self) -> None:
        """Remove the runs on disk (the writer closes: nothing will ask the index again)."""
        for index in self.indexes.values():
            index.close()
        if self._folder is not None:
            shutil.rmtree(self._folder, ignore_errors=True)

    def trusted(self, job: int | None) -> bool:
        """Whether no other writer job ran since this was last right (`job`: the writer's
        number of the job asking; None when the caller cannot tell)."""
        return job is not None and self.job == job - 1

    def build(self, con: duckdb.DuckDBPyConnection, kinds: dict[str, RecordKind]) -> None:
        for kind in kinds.values():
            self.index(kind).next_id(con)
        self.batch_ids.sync(con)


_KNOWN: weakref.WeakKeyDictionary[Any, Known] = weakref.WeakKeyDictionary()


def known(con: duckdb.DuckDBPyConnection) -> Known:
    """What the writer of `con` knows (made empty the first time)."""
    found = _KNOWN.get(con)
    if found is None:
        path = con.execute("SELECT path FROM duckdb_databases() "
                           "WHERE database_name = current_database()").fetchall()
        found = _KNOWN[con] = Known(path[0][0] if path else None)
    return found


def carry_over(old: duckdb.DuckDBPyConnection) -> Callable[[duckdb.DuckDBPyConnection], None]:
    """The writer's connection is about to be replaced (`Warehouse.renew`, a hook of its
    `on_renew`): its appenders, bound to the old one, are let go (empty: each job flushed its
    rows before its commit), and what it knows holds for the new connection, on the same file."""
    found = _KNOWN.pop(old, None)
    if found is not None:
        for index in found.indexes.values():
            index.appenders_of, index.appenders = None, {}

    def move(new: duckdb.DuckDBPyConnection) -> None:
        if found is not None:
            _KNOWN[new] = found

    return move
