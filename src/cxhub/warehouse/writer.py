"""The single writer: one thread owns DuckDB's write connection; every write is a job on its queue.

DuckDB allows one writer per file. Sending writes through one thread keeps them ordered and
lets small writes share a transaction (group commit): the writer takes every job waiting in the
queue, runs them in one transaction and commits once. If any job in a group fails, the group is
rolled back and each job is run again alone, so one bad request never fails another.

Checkpoints (moving the write-ahead log into the file) run when the writer is idle. DuckDB's
own checkpoint runs inside the commit that takes the log over its threshold, so some unlucky
API request used to wait for it (p99 373 ms against 112 ms without, in-process); the write
connection's threshold is raised (`CHECKPOINT_THRESHOLD`, kept as a safety net under constant
load) and the writer checkpoints itself once its queue has been empty for `IDLE_SECONDS` and
the log holds more than `IDLE_CHECKPOINT_BYTES`.

Under constant load the queue is never empty for a second, and until the log reaches
`CHECKPOINT_THRESHOLD` DuckDB keeps every row written since the last checkpoint in memory as
well (`duckdb_memory()`'s IN_MEMORY_TABLE: about 800 bytes a contact through the API against
200 in the log, 171 MB after 4 minutes at 1,000 contacts/s, dropping to nothing at a
checkpoint). So between groups the writer also checkpoints once the log passes
`BUSY_CHECKPOINT_BYTES` (looked at every `BUSY_CHECK_SECONDS`): smaller,
more frequent checkpoints, the same total work, and memory that stays level instead of
climbing by a gigabyte before each one. A checkpoint writes again the whole row group that new
rows went into, so the warehouse's row groups are a quarter of DuckDB's default
(`database.ROW_GROUP_SIZE`): a checkpoint of 48,000 new contacts took 0.05-0.06 s, against
0.07-0.75 s (the slowest each time a 122,880-row group filled up). And a checkpoint costs
least when the table's last row group has just been filled: in plain DuckDB, checkpoints of
61,440 rows (two whole groups) took 20 ms each, of 65,440 rows 23-65 ms, and of 76,800 rows
24 and 65 ms in turn. So once the log has passed `BUSY_CHECKPOINT_BYTES`, the busy checkpoint
waits for the end of a flush that left the most written table (`rows_now`, told by the
writers of records) less than an `ALIGN_SHARE` of a group past a group's end, or for the log
to double.

Requests come first. A job submitted with `urgent=True` (the API's flushes, which clients
wait for) runs before every waiting job that is not, in the order submitted; the rest keep
theirs. Background work (the classifier's labels, the ready-made tables) cannot be stopped once
it runs, so it is cut into small jobs, and it can ask `busy()` whether requests wrote within the
last second, to wait for a quieter moment: at 8 connections posting 1,000 contacts each, a 2 s
burst of label writes used to hold every connection together.
"""

from __future__ import annotations

import itertools
import logging
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import duckdb

from cxhub.domain.errors import WarehouseUnavailableError

T = TypeVar("T")
WriteJob = Callable[[duckdb.DuckDBPyConnection], T]

_MAX_GROUP = 256
CHECKPOINT_THRESHOLD = "256MB"
IDLE_SECONDS = 1.0
IDLE_CHECKPOINT_BYTES = 16 * 1024 * 1024  # DuckDB's own default threshold
# The log takes about 200 bytes a contact sent through the API, the memory about 800: at 8 to
# 16 MB of log (a checkpoint every minute or so at 1,000 contacts/s) some 30-65 MB of rows are
# held, not 1 GB. Looked at every BUSY_CHECK_SECONDS (a `stat`): at 100,000 contacts/s the log
# grows 20 MB a second, and looked at every 2 s it was 47-58 MB at each checkpoint.
BUSY_CHECKPOINT_BYTES = 8 * 1024 * 1024
BUSY_CHECK_SECONDS = 0.1
# How far past a row group's end a busy checkpoint may start: an eighth of a group (3,840 rows
# of 30,720). `bench/bench_checkpoints.py`, flushes of 4,000 contacts: checkpoints of 77 ms
# (median; slowest 122) and 121 ms per 100,000 contacts, flushes' p99 109 ms; not waiting for
# a group's end, 84 ms (slowest 202), 209 ms per 100,000 and p99 209 ms (BENCHMARKS.md).
ALIGN_SHARE = 8
log = logging.getLogger(__name__)
# What the operating system says when the disk refuses a write, as DuckDB quotes it.
_DISK_REASONS = ("No space left on device", "Disk quota exceeded", "File too large",
                 "Read-only file system", "Permission denied")


@dataclass
class _Job:
    fn: Callable[[duckdb.DuckDBPyConnection], Any]
    future: Future[Any] = field(default_factory=Future)
    groupable: bool = True
    swap: bool = False  # `fn` closes the connection and returns the next one (`replace`)


# Queue ranks: urgent jobs first, then the others, and the stop sign after everything queued.
_URGENT, _NORMAL, _STOP = 0, 1, 2


class Writer:
    def __init__(self, con: duckdb.DuckDBPyConnection, name: str = "cxhub-writer", *,
                 path: Path | None = None, row_group_size: int = 122_880) -> None:
        self._con = con
        self._path = path
        self._queue: queue.PriorityQueue[tuple[int, int, _Job | None]] = queue.PriorityQueue()
        self._order = itertools.count()  # keeps jobs of one rank in the order submitted
        self.urgent_at = float("-inf")  # monotonic time of the last urgent submit
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._closed = False
        self._dirty = False  # written since the last idle checkpoint
        self._last_busy_check = 0.0
        self._busy_due = False  # the log passed BUSY_CHECKPOINT_BYTES at the last look
        self._row_group_size = row_group_size
        # Rows in the table written most (the contacts), for busy checkpoints at a row group's
        # end: set by the writers of records once they know it (`ingest.sink`), read on this
        # thread after each group of jobs. None: checkpoints as soon as the log is big enough.
        self.rows_now: Callable[[], int] | None = None
        self.checkpoints = 0  # made by this writer, idle or busy (read by tests and benchmarks)
        # Run once the last job is done, when the writer closes: what writers of records keep
        # beside the file (`ingest.keys.Known.close`).
        self.on_close: list[Callable[[], None]] = []
        # How many times a job has started (read by jobs, on the writer thread): a job that
        # sees the number one above its own last run knows no other job ran in between, and
        # that what it cached about the tables is still true.
        self.job_number = 0
        self._thread.start()

    def submit(self, fn: WriteJob[T], *, groupable: bool = True,
               urgent: bool = False) -> Future[T]:
        """Queue `fn(connection)` to run in a transaction; the future holds its result.

        Jobs that are slow (bulk loads) should pass groupable=False so that they run alone.
        `urgent` jobs (a client is waiting) run before every waiting job that is not.
        """
        if self._closed:
            raise RuntimeError("the warehouse writer is closed")
        job = _Job(fn, groupable=groupable)
        if urgent:
            self.urgent_at = time.monotonic()
        self._queue.put((_URGENT if urgent else _NORMAL, next(self._order), job))
        return job.future

    def replace(self, fn: Callable[[duckdb.DuckDBPyConnection], duckdb.DuckDBPyConnection]
                ) -> duckdb.DuckDBPyConnection:
        """Run `fn(connection)` between two groups of jobs, outside any transaction; it closes
        the connection and returns the one the writer uses from then on (`Warehouse.renew`).
        Waits for it, before every job queued after it and after the urgent ones."""
        if self._closed:
            raise RuntimeError("the warehouse writer is closed")
        job = _Job(fn, groupable=False, swap=True)
        self._queue.put((_URGENT, next(self._order), job))
        new: duckdb.DuckDBPyConnection = job.future.result()
        return new

    def busy(self, within: float = 1.0) -> bool:
        """Whether an urgent job was submitted in the last `within` seconds: background work
        asks before a round of writes, and waits when requests are coming in."""
        return time.monotonic() - self.urgent_at < within

    def run(self, fn: WriteJob[T], *, groupable: bool = True) -> T:
        return self.submit(fn, groupable=groupable).result()

    def progress(self) -> float:
        """Percent done of the statement the writer is running now (-1 when idle)."""
        try:
            return float(self._con.query_progress())
        except duckdb.Error:
            return -1.0

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._queue.put((_STOP, next(self._order), None))
            self._thread.join()
            for fn in self.on_close:
                fn()

    def _run(self) -> None:
        while True:
            try:
                _, _, job = self._queue.get(timeout=IDLE_SECONDS if self._dirty else None)
            except queue.Empty:
                self._dirty = False
                self._checkpoint_if_big()
                continue
            self._dirty = True
            if job is None:
                return
            group = [job]
            while job.groupable and len(group) < _MAX_GROUP:
                try:
                    _, _, nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is None or not nxt.groupable:
                    self._run_group(group)
                    group = []
                    if nxt is None:
                        return
                    self._run_group([nxt])
                    break
                group.append(nxt)
            if group:
                self._run_group(group)
            self._after_busy_group()

    def _after_busy_group(self) -> None:
        """Between groups of jobs: a busy checkpoint when the log is big enough, at the end of
        a row group if one comes before the log doubles (one look at the log each time)."""
        now = time.monotonic()
        if not self._busy_due and now - self._last_busy_check < BUSY_CHECK_SECONDS:
            return
        self._last_busy_check = now
        wal = self._wal_bytes()
        self._busy_due = wal > BUSY_CHECKPOINT_BYTES
        if not self._busy_due or (wal <= 2 * BUSY_CHECKPOINT_BYTES and not self._at_group_end()):
            return
        self._busy_due = False
        self._checkpoint_if_big(BUSY_CHECKPOINT_BYTES)

    def _at_group_end(self) -> bool:
        """Whether the table written most is less than an ALIGN_SHARE of a row group past a
        group's end (or nobody tells its rows)."""
        if self.rows_now is None:
            return True
        try:
            past_end = self.rows_now() % self._row_group_size
        except Exception:  # noqa: BLE001 - a probe that fails must not stop the writer
            return True
        return past_end < self._row_group_size // ALIGN_SHARE

    def _wal_bytes(self) -> int:
        if self._path is None:
            return 0
        try:
            return self._path.with_name(self._path.name + ".wal").stat().st_size
        except OSError:
            return 0

    def _checkpoint_if_big(self, limit: int | None = None) -> None:
        """Move the log into the file once it holds more than `limit` bytes (default
        IDLE_CHECKPOINT_BYTES, read when called)."""
        if self._path is None:
            return
        try:
            if self._wal_bytes() <= (IDLE_CHECKPOINT_BYTES if limit is None else limit):
                return
            self._con.execute("CHECKPOINT")
            self.checkpoints += 1
        except (OSError, duckdb.Error) as exc:  # DuckDB checkpoints at its threshold anyway
            log.debug("checkpoint skipped: %s", exc)

    def _run_group(self, group: list[_Job]) -> None:
        if len(group) == 1:
            self._run_alone(group[0])
            return
        con = self._con
        results: list[Any] = []
        try:
            con.execute("BEGIN TRANSACTION")
            for job in group:
                self.job_number += 1
                results.append(job.fn(con))
            con.execute("COMMIT")
        except BaseException:
            _rollback(con)
            for job in group:
                self._run_alone(job)
            return
        for job, result in zip(group, results, strict=True):
            job.future.set_result(result)

    def _run_alone(self, job: _Job) -> None:
        con = self._con
        if not job.future.set_running_or_notify_cancel():
            return
        if job.swap:
            try:
                self._con = job.fn(con)
            except BaseException as exc:  # noqa: BLE001 - the caller gets it
                job.future.set_exception(exc)
            else:
                job.future.set_result(self._con)
            return
        try:
            con.execute("BEGIN TRANSACTION")
            self.job_number += 1
            result = job.fn(con)
            con.execute("COMMIT")
        except BaseException as exc:  # the caller gets the error through the future
            _rollback(con)
            job.future.set_exception(refused_by_disk(exc, self._path) or exc)
            return
        job.future.set_result(result)


def disk_reason(exc: BaseException) -> str:
    """Why the operating system refused DuckDB's read or write, in its own words."""
    text = str(exc)
    return next((r for r in _DISK_REASONS if r in text), text.strip().splitlines()[0])


def refused_by_disk(exc: BaseException, path: Path | None) -> WarehouseUnavailableError | None:
    """A write the disk refused (full, read-only, not permitted) as an error naming the file:
    a full disk answered 500 with DuckDB's traceback in the log. The transaction was rolled
    back, so nothing of it is in the file, and the writer goes on once space is free."""
    # A failed COMMIT is rolled back by DuckDB itself, and a ROLLBACK after it then fails
    # with "no transaction is active": the disk's refusal is that error's context.
    seen: BaseException | None = exc
    for _ in range(5):
        if seen is None:
            return None
        if isinstance(seen, duckdb.Error) and any(r in str(seen) for r in _DISK_REASONS):
            error = WarehouseUnavailableError(
                f"the warehouse {path or 'file'} could not be written: {disk_reason(seen)}; "
                "nothing of this write was kept", reason=disk_reason(seen))
            error.__cause__ = seen
            return error
        seen = seen.__context__
    return None


def _rollback(con: duckdb.DuckDBPyConnection) -> None:
    try:
        con.execute("ROLLBACK")
    except duckdb.Error:
        pass  # no transaction was open
