"""The single writer: writes in order on one thread, small writes committed together, one bad
job never failing the others, and readers never waiting for (or seeing inside) a write."""

from __future__ import annotations

import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import duckdb
import pytest

from cxhub.warehouse import Warehouse

_WAIT = 10.0  # seconds; generous, a healthy run takes milliseconds


@pytest.fixture
def wh(warehouse: Warehouse) -> Warehouse:
    warehouse.write(lambda con: con.execute("CREATE TABLE t (job INTEGER, txid BIGINT)"))
    return warehouse


def _block_writer(wh: Warehouse) -> tuple[threading.Event, Future[None]]:
    """Occupy the writer until the returned event is set, so that later jobs queue up."""
    started, release = threading.Event(), threading.Event()

    def hold(con: duckdb.DuckDBPyConnection) -> None:
        started.set()
        assert release.wait(_WAIT)

    future = wh.writer.submit(hold, groupable=False)
    assert started.wait(_WAIT)
    return release, future


def _insert(job: int, fail: bool = False):  # type: ignore[no-untyped-def]
    def fn(con: duckdb.DuckDBPyConnection) -> int:
        txid = con.execute("SELECT txid_current()").fetchone()[0]  # type: ignore[index]
        con.execute("INSERT INTO t VALUES (?, ?)", [job, txid])
        if fail:
            raise ValueError(f"job {job} is bad")
        return int(txid)

    return fn


def test_writes_from_many_threads_run_one_at_a_time_on_the_writer_thread(wh: Warehouse) -> None:
    wh.write(lambda con: con.execute("CREATE TABLE counter AS SELECT 0 AS v"))
    threads: set[str] = set()
    running = [0, 0]  # now, most at once
    lock = threading.Lock()

    def increment(con: duckdb.DuckDBPyConnection) -> None:
        with lock:
            running[0] += 1
            running[1] = max(running)
            threads.add(threading.current_thread().name)
        # A read-modify-write: two of these at once would lose an increment.
        v = con.execute("SELECT v FROM counter").fetchone()[0]  # type: ignore[index]
        con.execute("UPDATE counter SET v = ?", [v + 1])
        with lock:
            running[0] -= 1

    with ThreadPoolExecutor(8) as pool:
        for f in [pool.submit(wh.write, increment) for _ in range(200)]:
            f.result(timeout=_WAIT)
    assert wh.read_one("SELECT v FROM counter") == (200,)
    assert running[1] == 1
    assert len(threads) == 1 and threading.current_thread().name not in threads


def test_jobs_waiting_together_share_one_commit(wh: Warehouse) -> None:
    release, blocker = _block_writer(wh)
    futures = [wh.writer.submit(_insert(i)) for i in range(20)]
    release.set()
    blocker.result(timeout=_WAIT)
    txids = {f.result(timeout=_WAIT) for f in futures}
    assert len(txids) == 1
    assert wh.read_one("SELECT count(*), count(DISTINCT txid) FROM t") == (20, 1)


def test_a_slow_job_runs_alone_between_groups(wh: Warehouse) -> None:
    release, blocker = _block_writer(wh)
    before = [wh.writer.submit(_insert(i)) for i in range(5)]
    alone = wh.writer.submit(_insert(100), groupable=False)
    after = [wh.writer.submit(_insert(i)) for i in range(5, 10)]
    release.set()
    blocker.result(timeout=_WAIT)
    tx_before = {f.result(timeout=_WAIT) for f in before}
    tx_alone = alone.result(timeout=_WAIT)
    tx_after = {f.result(timeout=_WAIT) for f in after}
    assert len(tx_before) == 1 and len(tx_after) == 1
    assert len(tx_before | {tx_alone} | tx_after) == 3
    # Order is kept: the group queued first committed first.
    assert max(tx_before) < tx_alone < min(tx_after)


def test_urgent_jobs_run_before_waiting_background_jobs(wh: Warehouse) -> None:
    """A request's flush does not wait behind queued background writes (issue 12's bursts)."""
    assert not wh.writer.busy()
    release, blocker = _block_writer(wh)
    background = [wh.writer.submit(_insert(i), groupable=False) for i in range(3)]
    urgent = [wh.writer.submit(_insert(10 + i), urgent=True) for i in range(2)]
    assert wh.writer.busy(within=5.0)
    release.set()
    blocker.result(timeout=_WAIT)
    tx_background = [f.result(timeout=_WAIT) for f in background]
    tx_urgent = {f.result(timeout=_WAIT) for f in urgent}
    assert len(tx_urgent) == 1  # the two urgent ones still share a commit
    assert max(tx_urgent) < min(tx_background)
    assert tx_background == sorted(tx_background)  # the others keep their order
    assert not wh.writer.busy(within=0.0)


def test_close_runs_every_queued_job_first(tmp_path: Path) -> None:
    wh = Warehouse.open(tmp_path / "w.duckdb")
    wh.write(lambda con: con.execute("CREATE TABLE t (job INTEGER, txid BIGINT)"))
    release, blocker = _block_writer(wh)
    queued = [wh.writer.submit(_insert(i), urgent=i % 2 == 0) for i in range(6)]
    release.set()
    wh.close()
    assert all(f.done() and f.exception() is None for f in [blocker, *queued])
    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        assert con.execute("SELECT count(*) FROM t").fetchone() == (6,)


def test_one_failing_job_in_a_group_fails_alone(wh: Warehouse) -> None:
    release, blocker = _block_writer(wh)
    futures = [wh.writer.submit(_insert(i, fail=(i == 3))) for i in range(6)]
    release.set()
    blocker.result(timeout=_WAIT)
    with pytest.raises(ValueError, match="job 3 is bad"):
        futures[3].result(timeout=_WAIT)
    for i, f in enumerate(futures):
        if i != 3:
            assert isinstance(f.result(timeout=_WAIT), int)
    # The bad job's own insert was rolled back; the others' were committed.
    assert [r[0] for r in wh.read("SELECT job FROM t ORDER BY job")] == [0, 1, 2, 4, 5]


def test_a_database_error_fails_only_its_job(wh: Warehouse) -> None:
    wh.write(lambda con: con.execute("CREATE TABLE u (k INTEGER PRIMARY KEY)"))
    release, blocker = _block_writer(wh)
    ok = wh.writer.submit(lambda con: con.execute("INSERT INTO u VALUES (1)"))
    dup = wh.writer.submit(lambda con: con.execute("INSERT INTO u VALUES (2), (2)"))
    ok2 = wh.writer.submit(lambda con: con.execute("INSERT INTO u VALUES (3)"))
    release.set()
    blocker.result(timeout=_WAIT)
    ok.result(timeout=_WAIT)
    ok2.result(timeout=_WAIT)
    with pytest.raises(duckdb.ConstraintException):
        dup.result(timeout=_WAIT)
    assert wh.read("SELECT k FROM u ORDER BY k") == [(1,), (3,)]


def test_reads_during_a_long_write_see_the_state_before_it(wh: Warehouse) -> None:
    wh.write(lambda con: con.execute("INSERT INTO t SELECT i, 0 FROM range(10) r(i)"))
    inserted, release = threading.Event(), threading.Event()

    def long_write(con: duckdb.DuckDBPyConnection) -> None:
        con.execute("INSERT INTO t SELECT i, 0 FROM range(10, 110) r(i)")
        inserted.set()
        assert release.wait(_WAIT)

    future = wh.writer.submit(long_write, groupable=False)
    try:
        assert inserted.wait(_WAIT)
        # Several readers at once, each on its own thread: none waits for the writer.
        with ThreadPoolExecutor(4) as pool:
            seen = [f.result(timeout=_WAIT) for f in [
                pool.submit(wh.read_one, "SELECT count(*) FROM t") for _ in range(8)
            ]]
        assert seen == [(10,)] * 8
        assert not future.done()
    finally:
        release.set()
    future.result(timeout=_WAIT)
    assert wh.read_one("SELECT count(*) FROM t") == (110,)


def test_writes_after_close_are_refused(tmp_path: Path) -> None:
    wh = Warehouse.open(tmp_path / "w.duckdb")
    wh.close()
    with pytest.raises(RuntimeError, match="closed"):
        wh.write(lambda con: con.execute("SELECT 1"))


def test_close_stops_a_read_still_running_in_another_thread(tmp_path: Path) -> None:
    """A server's background work may be reading when it shuts down: closing interrupts the
    read (which fails in its own thread) instead of refusing to close the file."""
    wh = Warehouse.open(tmp_path / "w.duckdb")
    reading, failed = threading.Event(), []

    def long_read() -> None:
        cur = wh.cursor()
        reading.set()
        try:
            cur.execute("SELECT count(*) FROM range(1000000000000) a WHERE a.range % 7 = 3")
            cur.fetchall()
        except duckdb.Error as exc:
            failed.append(exc)

    thread = threading.Thread(target=long_read, daemon=True)
    thread.start()
    assert reading.wait(_WAIT)
    time.sleep(0.2)  # the query is running
    wh.close()
    thread.join(_WAIT)
    assert not thread.is_alive() and len(failed) == 1
    assert duckdb.connect(str(tmp_path / "w.duckdb")).execute("SELECT 1").fetchone() == (1,)


def _wal_bytes(wh: Warehouse) -> int:
    wal = wh.path.with_name(wh.path.name + ".wal")
    return wal.stat().st_size if wal.exists() else 0


def test_the_writer_checkpoints_when_idle_not_inside_a_request(
    wh: Warehouse, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Small writes stay in the write-ahead log (the raised threshold keeps DuckDB from
    checkpointing inside a commit); once the queue is idle the writer moves the log into the
    file itself, and the rows are all there."""
    from cxhub.warehouse import writer

    monkeypatch.setattr(writer, "IDLE_CHECKPOINT_BYTES", 0)
    monkeypatch.setattr(writer, "IDLE_SECONDS", 0.2)
    for job in range(20):
        wh.writer.submit(_insert(job))
    wh.write(lambda con: None)
    deadline = time.monotonic() + _WAIT
    while _wal_bytes(wh) > 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _wal_bytes(wh) == 0
    assert wh.read_one("SELECT count(*) FROM t")[0] == 20


def test_a_small_log_is_left_to_grow_while_writes_go_on(
    wh: Warehouse, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cxhub.warehouse import writer

    monkeypatch.setattr(writer, "IDLE_SECONDS", 0.2)  # the log is far under 16 MB
    for job in range(5):
        wh.writer.submit(_insert(job))
    wh.write(lambda con: None)
    before = _wal_bytes(wh)
    time.sleep(0.6)
    assert before > 0 and _wal_bytes(wh) == before


def _in_memory_table_bytes(wh: Warehouse) -> int:
    row = wh.read_one(
        "SELECT memory_usage_bytes FROM duckdb_memory() WHERE tag = 'IN_MEMORY_TABLE'")
    return int(row[0]) if row else 0


def test_under_constant_writes_the_writer_checkpoints_once_the_log_is_big(
    wh: Warehouse, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the queue never idle, the rows written since the last checkpoint are held in
    memory too (the soak's growing IN_MEMORY_TABLE): the writer moves a log past
    BUSY_CHECKPOINT_BYTES into the file between groups, which frees that memory."""
    from cxhub.warehouse import writer

    monkeypatch.setattr(writer, "IDLE_SECONDS", 60.0)  # never idle in this test
    monkeypatch.setattr(writer, "BUSY_CHECKPOINT_BYTES", 256 * 1024)
    monkeypatch.setattr(writer, "BUSY_CHECK_SECONDS", 0.0)
    rows = 20_000  # a few hundred KB of log per job

    def insert(con: duckdb.DuckDBPyConnection) -> None:
        con.execute(f"INSERT INTO t SELECT i, txid_current() FROM range({rows}) r(i)")

    held = []
    for _ in range(30):
        wh.write(insert)
        # A job of nothing: the writer has done its work between groups (the checkpoint) before
        # the read below, which would otherwise race it (a checkpoint refused while another
        # transaction is open is skipped, and under load the held rows then piled up).
        wh.write(lambda con: None)
        held.append(_in_memory_table_bytes(wh))
    assert wh.read_one("SELECT count(*) FROM t")[0] == 30 * rows
    assert wh.writer.checkpoints >= 5
    # Without the busy checkpoints the held rows grow with every job (to 30 jobs' worth).
    assert max(held[10:]) < 2 * max(held[:3]) + 1, held
    assert _wal_bytes(wh) < 4 * 256 * 1024


def test_busy_checkpoints_wait_for_a_row_group_end_until_the_log_doubles(
    wh: Warehouse, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A checkpoint that leaves a row group partly full makes the next one two to three times
    as long, so past BUSY_CHECKPOINT_BYTES the writer waits for a flush that ends just past a
    group's end (as `rows_now` tells it), unless the log doubles first."""
    from cxhub.warehouse import writer

    monkeypatch.setattr(writer, "IDLE_SECONDS", 60.0)  # never idle in this test
    monkeypatch.setattr(writer, "BUSY_CHECKPOINT_BYTES", 256 * 1024)
    monkeypatch.setattr(writer, "BUSY_CHECK_SECONDS", 0.0)
    group = wh.writer._row_group_size
    told = [0]

    def insert(con: duckdb.DuckDBPyConnection) -> None:  # about 24 KB of log
        con.execute("INSERT INTO t SELECT i, txid_current() FROM range(2000) r(i)")

    def run(jobs: int, step: int) -> list[int]:
        """Where each checkpoint left the told rows, past a group's end."""
        at = []
        for _ in range(jobs):
            told[0] += step
            before = wh.writer.checkpoints
            wh.write(insert)
            wh.write(lambda con: None)  # runs after the job's checkpoint, if any
            if wh.writer.checkpoints > before:
                at.append(told[0] % group)
        return at

    wh.writer.rows_now = lambda: told[0]
    aligned = run(80, group // 6)  # a group's end every sixth job
    assert len(aligned) >= 4 and set(aligned) == {0}, aligned
    told[0] = group // 2
    never = run(60, 0)  # a group never ends: the log's doubling decides
    assert len(never) >= 2 and _wal_bytes(wh) < 3 * 256 * 1024, never
    wh.writer.rows_now = None  # nobody tells: as soon as the log is big enough
    told[0] = 0
    anywhere = run(80, group // 6)
    assert len(anywhere) >= 4 and set(anywhere) != {0}, anywhere
