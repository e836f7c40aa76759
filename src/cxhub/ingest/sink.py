"""Records from callers that send a few at a time (the REST API, the live feed), written in as
few transactions as possible.

Requests do not write one by one. Each request's rows join a pending list and one writer job
takes everything pending, so a burst of single-record POSTs becomes one insert per kind
(group commit), through `upsert.write_rows` like every other writer of records. A key posted
twice, in one request or in two, gets the same id both times. Requests learn their ids only
after the writer has committed.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, wait
from dataclasses import dataclass
from typing import Any

import duckdb

from cxhub.domain.canonical import RECORD_KINDS
from cxhub.ingest.batches import WINDOW_SECONDS, close_open
from cxhub.ingest.keys import carry_over, known
from cxhub.ingest.upsert import Written, write_rows
from cxhub.warehouse import Warehouse

log = logging.getLogger(__name__)


@dataclass
class _Request:
    rows: list[dict[str, Any]]
    future: Future[list[Written]] | None = None  # for callers in threads
    waiter: asyncio.Future[list[Written]] | None = None  # for callers on an event loop


class RecordSink:
    """Collects validated rows per kind and writes them in as few transactions as possible.

    Made when the server starts: it builds the writer's key indexes then (about 0.35 s per
    million records: the demo company's 3.8 million in 1.3 s, the keys' MD5 most of it) rather
    than on the first request, which would wait for it.
    """

    def __init__(self, wh: Warehouse, *, build_indexes: bool = True) -> None:
        self._wh = wh
        self._lock = threading.Lock()
        self._pending: dict[str, list[_Request]] = {}
        self._loose: dict[str, list[dict[str, Any]]] = {}  # rows nobody waits for (`put`)
        self._scheduled = False
        self._timer: threading.Timer | None = None
        self._job: Future[Any] | None = None  # the last flush given to the writer
        self._closer: threading.Timer | None = None  # closes the API's open batches
        if build_indexes:
            wh.writer.run(self._build, groupable=False)

    def submit(self, kind: str, rows: list[dict[str, Any]]) -> Future[list[Written]]:
        """Queue rows for the next flush; the future holds their ids once committed."""
        request = _Request(rows, future=Future())
        self._add(kind, request)
        assert request.future is not None
        return request.future

    def put(self, kind: str, rows: list[dict[str, Any]], *, linger: float) -> None:
        """Rows nobody waits for (the offers engine's decisions: the answer is already given):
        they wait up to `linger` seconds for others to join them, and no future is made.

        A flush every few milliseconds cost the writer a commit each, taking the processor and
        the interpreter from the requests; and a future per row set is some twenty-five objects
        (its condition, lock methods, callbacks) that the garbage collector walks while they
        wait. At 3,500 decisions a second both made the slowest 1 % of decisions wait (issue
        14). Rows that someone waits for still go at once and take these along; `flush` writes
        them now (before an outcome is recorded for one of them, and at shutdown). A failed
        write is logged.

        The rows join one list per kind, with no object of their own: what waits for the
        writer is then only rows, which the garbage collector does not track when they hold
        plain values (see the engine's `_encoded`).
        """
        with self._lock:
            self._loose.setdefault(kind, []).extend(rows)
            self._wake(linger)

    def flush(self, timeout: float | None = None) -> None:
        """Write what is pending now (lingering rows included) and wait for it: before an
        outcome is recorded for a decision, and when the server stops."""
        with self._lock:
            if (self._pending or self._loose) and not self._scheduled:
                self._schedule()
            job = self._job  # a scheduled job takes everything pending when it runs
        if job is not None:
            wait([job], timeout)

    def close(self, timeout: float | None = None) -> None:
        """When the server stops: write what is pending, and the counts of the open batches."""
        self.flush(timeout)
        with self._lock:
            if self._closer is not None:
                self._closer.cancel()
                self._closer = None
        try:
            self._wh.writer.run(lambda con: close_open(con, known(con)), groupable=False)
        except Exception as exc:  # noqa: BLE001 - the records are stored; only counts are short
            log.warning("the API's last batch keeps the counts of its first flush: %s", exc)

    def _close_later(self) -> None:
        """On the writer thread, after a flush left a batch open: close it when its window
        ends, if no flush of its kind has done so by then."""
        with self._lock:
            if self._closer is None:
                self._closer = _started_timer(WINDOW_SECONDS, self._close_ended)

    def _close_ended(self) -> None:
        with self._lock:
            self._closer = None
        try:
            job = self._wh.writer.submit(self._close_old)
        except Exception as exc:  # noqa: BLE001 - the writer stopped: `close` wrote the counts
            log.debug("open batches not closed: %s", exc)
            return
        job.add_done_callback(self._after_closing)

    def _close_old(self, con: duckdb.DuckDBPyConnection) -> int:
        """The writer job that closes batches whose window ended. It only updates their rows,
        so the next flush may trust what the writer knew before it, as if it had not run."""
        state = known(con)
        chained = state.trusted(self._wh.writer.job_number)
        still_open = close_open(con, state, older_than=WINDOW_SECONDS)
        if chained:
            state.job = self._wh.writer.job_number
        return still_open

    def _after_closing(self, job: Future[int]) -> None:
        if job.exception() is None and job.result():
            self._close_later()  # a newer batch is still open

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
            self._wake(0.0)

    def _wake(self, linger: float) -> None:
        """With the lock held: a flush now, or after `linger` seconds if none is due."""
        if self._scheduled:
            return
        if linger <= 0:
            self._schedule()
        elif self._timer is None:
            self._timer = _started_timer(linger, self._after_linger)

    def _after_linger(self) -> None:
        with self._lock:
            self._timer = None
            if not self._scheduled and (self._pending or self._loose):
                self._schedule()

    def _schedule(self) -> Future[Any]:
        """With the lock held: one writer job for everything pending."""
        self._scheduled = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        flush = _Flush(self)
        # Urgent: clients wait for it, background writes do not (the writer runs it before any
        # waiting classifier or ready-table job).
        job = self._wh.writer.submit(flush.run, urgent=True)
        job.add_done_callback(flush.done)
        self._job = job
        return job

    def _take(self) -> tuple[dict[str, list[_Request]], dict[str, list[dict[str, Any]]]]:
        with self._lock:
            pending, loose = self._pending, self._loose
            self._pending, self._loose, self._scheduled = {}, {}, False
        return pending, loose

    def _build(self, con: duckdb.DuckDBPyConnection) -> None:
        state = known(con)
        state.build(con, RECORD_KINDS)
        if state.close not in self._wh.writer.on_close:  # the key index's runs (`key_runs`)
            self._wh.writer.on_close.append(state.close)
        if carry_over not in self._wh.on_renew:  # the index outlives the write connection
            self._wh.on_renew.append(carry_over)
        # One look-up now, so that what DuckDB loads the first time it reads an Arrow table
        # (pandas and pyarrow's compute functions: half a second here) is loaded before the
        # first request rather than during it; nothing is written.
        contacts = state.index(RECORD_KINDS["contacts"])
        contacts.find(con, [("", "")])
        state.job = self._wh.writer.job_number
        self._wh.writer.rows_now = contacts.rows  # busy checkpoints at a row group's end


class _Flush:
    """One writer job: the requests pending when it first runs, written in one transaction.

    The requests learn their ids only once the writer has committed: the writer may roll a
    group of jobs back and run each again alone, and then this job writes the same requests
    again rather than answer for rows that were rolled back.
    """

    def __init__(self, sink: RecordSink) -> None:
        self._sink = sink
        self._requests: dict[str, list[_Request]] | None = None
        self._loose: dict[str, list[dict[str, Any]]] = {}
        self._con: duckdb.DuckDBPyConnection | None = None

    def run(self, con: duckdb.DuckDBPyConnection) -> list[tuple[_Request, list[Written]]]:
        self._con = con
        if self._requests is None:
            self._requests, self._loose = self._sink._take()
        else:  # a rerun after the writer rolled its group back: nothing cached can be trusted
            known(con).forget()
        job = self._sink._wh.writer.job_number
        out: list[tuple[_Request, list[Written]]] = []
        for kind in {**self._requests, **self._loose}:
            requests = self._requests.get(kind, [])
            loose = self._loose.get(kind)
            groups = [r.rows for r in requests] + ([loose] if loose else [])
            # Lingering rows come in numbers, and requests are served meanwhile: as an Arrow
            # table, which holds the interpreter for less time than the appender.
            results = write_rows(con, RECORD_KINDS[kind], groups, job=job, arrow=bool(loose),
                                 window=WINDOW_SECONDS)
            out += zip(requests, results, strict=False)  # the loose rows' ids are not wanted
        return out

    def done(self, job: Future[list[tuple[_Request, list[Written]]]]) -> None:
        """On the writer thread, after the commit (or the failure)."""
        exc = job.exception()
        if exc is not None:
            if self._con is not None:  # rolled back: what the writer knows is checked again
                known(self._con).forget()
            answers: list[tuple[_Request, Any]] = [
                (r, exc) for rs in (self._requests or {}).values() for r in rs
            ]
            for kind, rows in self._loose.items():
                log.error("%d %s rows nobody waited for were not written: %s", len(rows), kind,
                          exc)
        else:
            answers = list(job.result())
            if self._con is not None and known(self._con).open_batches:
                self._sink._close_later()
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


def _started_timer(seconds: float, fn: Callable[[], None]) -> threading.Timer:
    """`fn` on a daemon thread in `seconds` (it must not keep the server from stopping)."""
    timer = threading.Timer(seconds, fn)
    timer.daemon = True
    timer.start()
    return timer


def _answer(items: list[tuple[_Request, Any]]) -> None:
    for request, answer in items:
        waiter = request.waiter
        if waiter is None or waiter.done():  # a client that went away cancels its wait
            continue
        if isinstance(answer, BaseException):
            waiter.set_exception(answer)
        else:
            waiter.set_result(answer)
