"""`Warehouse.renew`: DuckDB's instance closed and the file opened again in a new one, while
writers post through the API's record sink and readers read, as a server does every
`CXHUB_RENEW_MINUTES`. Nothing acknowledged is lost or written twice, no read fails, the key
index carries over (no rebuild), and cursors and Ibis backends kept by threads open afresh."""

from __future__ import annotations

import threading
import time
from datetime import datetime
from typing import Any

import duckdb
import pytest

from cxhub.ingest.keys import known
from cxhub.ingest.sink import RecordSink
from cxhub.services.metrics.backend import backend
from cxhub.warehouse import Warehouse


def _rows(writer: int, n: int) -> list[dict[str, Any]]:
    return [{"source": "shop", "external_id": f"w{writer}-{n}-{i}", "channel": "chat",
             "created_at": datetime(2026, 3, 2, 9, i % 60), "wait_seconds": 30}
            for i in range(40)]


def test_renewals_under_writes_and_reads_lose_nothing(warehouse: Warehouse) -> None:
    sink = RecordSink(warehouse)
    stop = threading.Event()
    acked: list[int] = []
    first_batch: list[int] = []
    errors: list[str] = []
    reads = [0]

    def write(writer: int) -> None:
        n = 0
        while not stop.is_set():
            try:
                written = sink.submit("contacts", _rows(writer, n)).result(timeout=30)
                acked.extend(w.id for w in written)
                if (writer, n) == (0, 0):
                    first_batch.extend(w.id for w in written)
            except Exception as exc:  # noqa: BLE001 - counted: the test fails on any
                errors.append(f"write: {exc!r}")
            n += 1

    def read() -> None:
        while not stop.is_set():
            try:
                with warehouse.gate.reading():
                    warehouse.read_one("SELECT count(*) FROM contacts")
                    backend(warehouse).table("contacts").count().execute()
                reads[0] += 1
            except Exception as exc:  # noqa: BLE001
                errors.append(f"read: {exc!r}")

    threads = [threading.Thread(target=write, args=(w,)) for w in range(3)]
    threads += [threading.Thread(target=read) for _ in range(2)]
    for t in threads:
        t.start()
    try:
        time.sleep(0.5)
        index = known(warehouse.writer._con).indexes["contacts"]
        renewed = 0
        for _ in range(8):
            renewed += warehouse.renew(wait=2.0)
            time.sleep(0.15)
    finally:
        stop.set()
        for t in threads:
            t.join(30)
    sink.flush(timeout=30)

    assert errors == []
    assert renewed == 8 and warehouse.generation == 8
    assert reads[0] > 20
    # The index the writer kept is the one it goes on with: nothing was read again.
    assert known(warehouse.writer._con).indexes["contacts"] is index
    count, distinct, lowest, highest = warehouse.read_one(
        "SELECT count(*), count(DISTINCT (source, external_id)), min(contact_id), "
        "max(contact_id) FROM contacts")
    assert count == distinct == len(acked) == len(set(acked)) > 1000
    assert (lowest, highest) == (min(acked), max(acked))
    # Sent again after the renewals, a batch is recognised as known: the ids it had.
    again = sink.submit("contacts", _rows(0, 0)).result(timeout=30)
    assert [w.id for w in again] == first_batch
    assert not any(w.created for w in again)
    assert warehouse.read_one("SELECT count(*) FROM contacts") == (count,)
    sink.close(timeout=30)


def test_a_thread_reads_on_a_new_cursor_after_a_renewal(warehouse: Warehouse) -> None:
    old = warehouse.cursor()
    tables = backend(warehouse)
    assert warehouse.renew()
    with pytest.raises(duckdb.ConnectionException):
        old.execute("SELECT 1")  # the old instance is closed
    assert warehouse.cursor() is not old
    assert warehouse.read_one("SELECT 1 + 1") == (2,)
    assert backend(warehouse) is not tables
    assert backend(warehouse).table("contacts").count().execute() == 0


def test_a_renewal_gives_up_while_a_reader_stays_and_the_warehouse_goes_on(
        warehouse: Warehouse) -> None:
    with warehouse.gate.reading():
        assert warehouse.renew(wait=0.1) is False
        assert warehouse.read_one("SELECT 3") == (3,)
    assert warehouse.renewals_given_up == 1 and warehouse.generation == 0
    assert warehouse.renew(wait=0.1) is True
