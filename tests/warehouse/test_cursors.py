"""Each thread reads on a cursor of its own (`Warehouse.cursor`); a server starts threads as it
goes (pooled request threads, background work), so the cursors of threads that have ended
must go with them: kept, each one's DuckDB client stayed in memory (11 a minute in a soak)."""

from __future__ import annotations

import threading

import duckdb
import pytest

from cxhub.warehouse import Warehouse


def read_in_a_thread(wh: Warehouse) -> duckdb.DuckDBPyConnection:
    got: list[duckdb.DuckDBPyConnection] = []

    def run() -> None:
        assert wh.read_one("SELECT 41 + 1") == (42,)
        got.append(wh.cursor())

    t = threading.Thread(target=run)
    t.start()
    t.join()
    return got[0]


def test_cursors_of_ended_threads_are_closed_and_dropped(warehouse: Warehouse) -> None:
    first = read_in_a_thread(warehouse)
    for _ in range(30):
        read_in_a_thread(warehouse)
    assert len(warehouse._cursors) == 1  # the last thread's, until the next one starts
    with pytest.raises(duckdb.ConnectionException):
        first.execute("SELECT 1")  # closed
    assert warehouse.read_one("SELECT 2") == (2,)  # this thread's own, still open
    assert len(warehouse._cursors) == 1


def test_a_living_thread_keeps_its_cursor(warehouse: Warehouse) -> None:
    go_on = threading.Event()
    ready = threading.Event()
    answers: list[tuple[int]] = []

    def reader() -> None:
        warehouse.read_one("SELECT 1")
        ready.set()
        go_on.wait(10)
        answers.append(warehouse.read_one("SELECT 7"))  # the same cursor, after others came

    t = threading.Thread(target=reader)
    t.start()
    ready.wait(10)
    for _ in range(5):
        read_in_a_thread(warehouse)
    go_on.set()
    t.join()
    assert answers == [(7,)]
