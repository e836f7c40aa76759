"""The warehouse: one DuckDB file, migrated on open, written by one writer, read by many."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb

from cxhub.domain.errors import WarehouseBusyError, WarehouseUnavailableError
from cxhub.warehouse.gate import Gate
from cxhub.warehouse.schema import LATEST, current_version, literal, migrate
from cxhub.warehouse.writer import (
    CHECKPOINT_THRESHOLD,
    T,
    WriteJob,
    Writer,
    disk_reason,
    refused_by_disk,
)

log = logging.getLogger(__name__)
Moved = Callable[[duckdb.DuckDBPyConnection], None]
REOPEN_TRIES = 600  # 30 s: `renew` waits this long for a read outside the gate to end


class Warehouse:
    """Open with `Warehouse.open(path)`; close with `close()` or use as a context manager.

    Writes: `writer.run(fn)` / `writer.submit(fn)`. Reads: `read(sql, params)` or `cursor()`,
    which run concurrently with the writer on their own connections. A server renews the
    connections now and then (`renew`): its readers pass `gate`, and take cursors afresh
    (`cursor()` does; a cursor kept elsewhere is kept with the `generation` it came from).
    """

    def __init__(self, path: Path, con: duckdb.DuckDBPyConnection,
                 memory_limit: str | None = None) -> None:
        self.path = path
        self._con = con
        self._memory_limit = memory_limit
        self.writer = Writer(con, path=path, row_group_size=ROW_GROUP_SIZE)
        self.gate = Gate()
        self.generation = 0  # how many times `renew` has opened the file again
        self.renewals_given_up = 0  # renewals that found readers who would not leave in time
        # What is kept per write connection, moved over when `renew` swaps it: each is told
        # the old connection before it closes and returns what to do with the new one
        # (`ingest.keys.carry_over`). On the writer thread.
        self.on_renew: list[Callable[[duckdb.DuckDBPyConnection], Moved]] = []
        self._local = threading.local()
        # Each thread's read cursor, by thread: closed once its thread has ended (a server
        # starts threads as it goes; kept, every one's DuckDB client stayed: 11 a minute).
        self._cursors: dict[threading.Thread, duckdb.DuckDBPyConnection] = {}
        self._cursors_lock = threading.Lock()

    @classmethod
    def open(cls, path: Path | str, *, read_only: bool = False,
             memory_limit: str | None = None) -> Warehouse:
        """`memory_limit` (Settings.memory_limit, e.g. "25%" or "2GB") bounds what DuckDB holds
        for this file; None leaves DuckDB's default (80 % of the machine's memory)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        con = connect(path, read_only=read_only, memory_limit=memory_limit)
        if not read_only:
            try:
                migrate(con)
            except duckdb.Error as exc:  # a folder that is read-only refuses the upgrade
                con.close()
                refused = refused_by_disk(exc, path)
                if refused is None:
                    raise
                raise refused from None
        elif current_version(con) < LATEST:
            con.close()
            raise WarehouseBusyError(
                f"{path} was made by an older cxhub; open it once read-write to upgrade it"
            )
        return cls(path, con, memory_limit)

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """A read connection for the calling thread (DuckDB connections are not thread-safe)."""
        cur = getattr(self._local, "cursor", None)
        if cur is None or self._local.generation != self.generation:
            cur = self.new_cursor()
            self._local.cursor, self._local.generation = cur, self.generation
            with self._cursors_lock:
                for ended in [t for t in self._cursors if not t.is_alive()]:
                    self._cursors.pop(ended).close()  # nobody else reads on a thread's cursor
                self._cursors[threading.current_thread()] = cur
        return cur

    def new_cursor(self) -> duckdb.DuckDBPyConnection:
        """A read connection of its own (for Ibis, or a long read). Use this, not `cursor()`'s
        `.cursor()`: a bare DuckDB cursor starts in the empty in-memory catalog (`connect`)."""
        cur = self._con.cursor()
        cur.execute(f"USE {ALIAS}")
        return cur

    def read(self, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
        return self.cursor().execute(sql, params or []).fetchall()

    def read_one(self, sql: str, params: list[Any] | None = None) -> tuple[Any, ...] | None:
        rows = self.cursor().execute(sql, params or []).fetchall()
        return rows[0] if rows else None

    def read_dicts(self, sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
        """The rows as {column: value}, named as the query names its columns (alias
        computed ones with AS)."""
        cur = self.cursor().execute(sql, params or [])
        names = [d[0] for d in cur.description or ()]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]

    def read_dict(self, sql: str, params: list[Any] | None = None) -> dict[str, Any] | None:
        """The first row as {column: value}, or None. The whole result is read: the thread's
        one read cursor must not be left half-read for the next query."""
        rows = self.read_dicts(sql, params)
        return rows[0] if rows else None

    def write(self, fn: WriteJob[T], *, groupable: bool = True) -> T:
        return self.writer.run(fn, groupable=groupable)

    def renew(self, *, wait: float = 0.5) -> bool:
        """Close DuckDB's instance and open the file again, to give back the memory DuckDB
        gathered (docs/reliability.md, "Where the memory goes"); whether it was done. Shuts
        `gate` and waits up to `wait` seconds for the readers inside to leave (else gives up:
        try again later); the writer swaps its connection between two groups of jobs, so
        nothing written is lost or half-done; the readers' cursors open on the new instance."""
        if not self.gate.shut(wait):
            self.renewals_given_up += 1
            return False
        try:
            self.writer.replace(self._swap)
        finally:
            self.gate.open()
        return True

    def _swap(self, old: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
        """On the writer thread, with the gate shut: the file moved to a new instance."""
        old.execute("CHECKPOINT")  # the log into the file: the new instance need not replay it
        moves = [hook(old) for hook in self.on_renew]
        with self._cursors_lock:
            self._cursors = {}
        old.close()  # closes every cursor made from it, and with them the instance
        # A query that did not pass the gate keeps the old instance until it ends, and the file
        # cannot be attached again meanwhile: writes wait for it rather than fail.
        for attempt in range(REOPEN_TRIES):
            try:
                new = connect(self.path, memory_limit=self._memory_limit)
                break
            except WarehouseBusyError:
                if attempt == REOPEN_TRIES - 1:
                    log.critical("the warehouse %s could not be opened again", self.path)
                    raise
                time.sleep(0.05)
        self._con = new
        self.generation += 1
        for move in moves:
            move(new)
        return new

    @property
    def version(self) -> int:
        row = self.read_one("SELECT max(version) FROM schema_migrations")
        return int(row[0]) if row and row[0] is not None else 0

    def close(self) -> None:
        """Finish the queued writes, stop the reads still running (a server's background
        work, when it stops) and close the file."""
        self.writer.close()
        with self._cursors_lock:
            cursors, self._cursors = list(self._cursors.values()), {}
        for cur in cursors:
            _interrupted(cur)
        for _ in range(100):  # a read being interrupted gives the connection back at once
            try:
                self._con.close()
                return
            except duckdb.Error as exc:
                if "busy" not in str(exc).lower():
                    raise
                for cur in cursors:
                    _interrupted(cur)
                time.sleep(0.05)
        self._con.close()

    def __enter__(self) -> Warehouse:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _interrupted(cur: duckdb.DuckDBPyConnection) -> None:
    try:
        cur.interrupt()
    except duckdb.Error:
        pass  # already closed


# Rows per row group of the warehouse's tables; DuckDB's default is 122,880. A checkpoint writes
# again the whole row group that new rows were appended to, so under a steady stream of API
# writes a checkpoint of 48,000 new contacts took 0.07-0.75 s (the longest each time the group
# filled: every fifth); with 30,720 rows (15 of DuckDB's 2,048-row vectors) 0.05-0.06 s, and a
# scan of the table as fast (BENCHMARKS.md, "REST API under load"). DuckDB takes the size only
# when a file is attached (not in `duckdb.connect`, nor stored in the file), hence `attach`.
ROW_GROUP_SIZE = 30_720
ALIAS = "cxhub"  # the warehouse's catalog name, as `duckdb.connect` named cxhub.duckdb's


def attach(path: Path, *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """A connection whose default catalog is the warehouse file, attached with cxhub's row
    group size. Its cursors start in the in-memory catalog: `Warehouse.new_cursor` uses the
    file's. DuckDB refuses a second attach of one file in a process (where `duckdb.connect`
    shared one database): open a warehouse once and share the `Warehouse`."""
    con = duckdb.connect()
    try:
        # A query too large for memory spills where it did before: beside the file.
        con.execute(f"SET temp_directory = {literal(str(path) + '.tmp')}")
        options = "READ_ONLY" if read_only else f"ROW_GROUP_SIZE {ROW_GROUP_SIZE}"
        con.execute(f"ATTACH {literal(str(path))} AS {ALIAS} ({options})")
        con.execute(f"USE {ALIAS}")
    except BaseException:
        con.close()
        raise
    return con


def connect(path: Path, *, read_only: bool = False,
            memory_limit: str | None = None) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with cxhub's session settings (UTC, no progress bar on stdout, the
    memory limit when one is given: it holds for the whole database, cursors included)."""
    try:
        con = attach(path, read_only=read_only)
    except duckdb.ResourceInUseException as exc:  # attached already, in this process
        raise WarehouseBusyError(
            f"{path} is already open in this process: share its `Warehouse` ({exc})") from None
    except duckdb.IOException as exc:
        if "lock" in str(exc).lower():
            raise WarehouseBusyError(
                f"{path} is open in another cxhub process (is `cxhub serve` running?). "
                "Stop it, or send data through the REST API instead."
            ) from None
        # A read-only or unreadable file was a traceback; say which file and why instead.
        raise WarehouseUnavailableError(
            f"the warehouse {path} cannot be opened{'' if read_only else ' for writing'}: "
            f"{disk_reason(exc)} (check the permissions of the file and of its folder)"
        ) from None
    con.execute("SET TimeZone = 'UTC'")
    con.execute("SET enable_progress_bar = false")
    if memory_limit:
        con.execute("SET memory_limit = ?", [memory_limit])
    if not read_only:  # the writer checkpoints when idle (writer.py); this is the safety net
        con.execute(f"SET checkpoint_threshold = '{CHECKPOINT_THRESHOLD}'")
    return con
