"""The API's flushes of one second share one batch (`cxhub.ingest.batches`): one row in
`ingest_batches` for many flushes, whose counts agree with the records once the batch closes,
whether it closes by time, by another writer's job, when the server stops, or after a failed
flush rolled back."""

from __future__ import annotations

import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from cxhub.domain.canonical import CONTACTS
from cxhub.ingest import sink as sink_module
from cxhub.ingest.keys import known
from cxhub.ingest.sink import RecordSink
from cxhub.ingest.upsert import write_rows
from cxhub.services.records.files import ingest_paths
from cxhub.warehouse import Warehouse


def contact(key: str) -> dict[str, object]:
    return {"source": "api", "external_id": key, "channel": "chat",
            "created_at": datetime(2024, 5, 1, 9, 0)}


def batches(wh: Warehouse) -> list[tuple[Any, ...]]:
    return wh.read("SELECT batch_id, format, kind, rows_read, rows_loaded, rows_existing "
                   "FROM ingest_batches ORDER BY batch_id")


def counts_agree(wh: Warehouse) -> None:
    """Every contact's batch has its row, and each row counts the contacts it holds."""
    assert wh.read_one("SELECT count(*) FROM contacts c WHERE NOT EXISTS "
                       "(SELECT 1 FROM ingest_batches b WHERE b.batch_id = c.batch_id)") == (0,)
    assert wh.read(
        "SELECT b.batch_id, b.rows_loaded, count(c.contact_id) FROM ingest_batches b "
        "LEFT JOIN contacts c USING (batch_id) WHERE b.kind = 'contacts' "
        "GROUP BY ALL HAVING b.rows_loaded <> count(c.contact_id)") == []


@pytest.fixture
def long_window(monkeypatch: pytest.MonkeyPatch) -> None:
    """A window no slow machine outlasts between two requests of a test."""
    monkeypatch.setattr(sink_module, "WINDOW_SECONDS", 60.0)


@pytest.mark.usefixtures("long_window")
def test_the_flushes_of_a_window_share_one_row_that_counts_them_all(
        warehouse: Warehouse) -> None:
    sink = RecordSink(warehouse)
    for keys in (["a"], ["b", "c"], ["a", "d"]):  # "a" a second time: existing
        sink.submit("contacts", [contact(k) for k in keys]).result(timeout=30)
    assert len(batches(warehouse)) == 1
    assert warehouse.read("SELECT DISTINCT batch_id FROM contacts") == [(1,)]
    # While open, the row says what its first flush wrote; closed, what all of them did.
    assert batches(warehouse) == [(1, "api", "contacts", 1, 1, 0)]
    sink.close(timeout=30)
    assert batches(warehouse) == [(1, "api", "contacts", 5, 4, 1)]
    assert known(warehouse.writer.run(lambda con: con)).open_batches == {}
    counts_agree(warehouse)


def test_a_window_closes_by_itself_when_no_flush_follows(
        warehouse: Warehouse, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sink_module, "WINDOW_SECONDS", 0.5)
    sink = RecordSink(warehouse)
    gate = threading.Event()
    warehouse.writer.submit(lambda con: gate.wait(10))  # both requests in one flush...
    first = sink.submit("contacts", [contact("a")])
    gate.set()
    first.result(timeout=30)
    sink.submit("contacts", [contact("b")]).result(timeout=30)  # ...or two, both in time
    deadline = time.monotonic() + 30
    while batches(warehouse)[-1][3:] != (2, 2, 0) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert [row[3:] for row in batches(warehouse)] in ([(2, 2, 0)], [(1, 1, 0), (1, 1, 0)])
    counts_agree(warehouse)


@pytest.mark.usefixtures("long_window")
def test_another_writer_closes_the_window_so_batch_ids_follow_the_writes(
        warehouse: Warehouse, tmp_path: Path) -> None:
    sink = RecordSink(warehouse)
    sink.submit("contacts", [contact("a")]).result(timeout=30)
    sink.submit("contacts", [contact("b")]).result(timeout=30)
    path = tmp_path / "contacts.csv"
    path.write_text("source,external_id,channel,created_at\napi,f,email,2024-05-02 10:00:00\n")
    assert not ingest_paths(warehouse, "generic", [path]).failed
    warehouse.write(lambda con: write_rows(con, CONTACTS, [[contact("r")]], origin="routing"))
    sink.submit("contacts", [contact("c")]).result(timeout=30)
    sink.close(timeout=30)
    assert [(b[0], b[1], b[3:]) for b in batches(warehouse)] == [
        (1, "api", (2, 2, 0)), (2, "generic", (1, 1, 0)), (3, "routing", (1, 1, 0)),
        (4, "api", (1, 1, 0))]
    assert warehouse.read("SELECT external_id, batch_id FROM contacts ORDER BY contact_id") == [
        ("a", 1), ("b", 1), ("f", 2), ("r", 3), ("c", 4)]
    counts_agree(warehouse)


@pytest.mark.usefixtures("long_window")
def test_a_flush_rolled_back_with_its_group_is_not_counted(warehouse: Warehouse) -> None:
    """A flush that wrote into an open batch, then rolled back with a failing job of its
    group, runs again alone: its rows are counted once, in the batch that holds them."""
    first, second = RecordSink(warehouse), RecordSink(warehouse)
    many = [contact(f"m{i}") for i in range(100_000)]  # keeps the writer busy meanwhile
    started = warehouse.writer.job_number
    opening = first.submit("contacts", many)
    deadline = time.monotonic() + 30
    while warehouse.writer.job_number == started and time.monotonic() < deadline:
        time.sleep(0.001)  # the opening flush is running: the next two queue up behind it
    reusing = second.submit("contacts", [contact("x")])

    def fails(con: Any) -> None:
        raise RuntimeError("a job that fails in the same group")

    failed = warehouse.writer.submit(fails)
    assert len(opening.result(timeout=60)) == 100_000
    assert reusing.result(timeout=60)[0].created
    with pytest.raises(RuntimeError):
        failed.result(timeout=60)
    first.close(timeout=30)
    second.close(timeout=30)
    assert warehouse.read_one("SELECT count(*) FROM contacts") == (100_001,)
    assert warehouse.read_one("SELECT sum(rows_loaded) FROM ingest_batches") == (100_001,)
    counts_agree(warehouse)


@pytest.mark.usefixtures("long_window")
def test_contact_events_keep_a_batch_a_flush(warehouse: Warehouse) -> None:
    """Their derive step reads the batch's events, and the ready-made tables find the contacts
    that events changed by the events' batch ids."""
    sink = RecordSink(warehouse)
    sink.submit("contacts", [contact("a")]).result(timeout=30)
    for i, event in enumerate(("queued", "answered")):
        sink.submit("contact_events", [{
            "source": "api", "external_id": f"e{i}", "contact_external_id": "a",
            "event_type": event, "occurred_at": datetime(2024, 5, 1, 9, i)}]).result(timeout=30)
    sink.close(timeout=30)
    assert [b[2] for b in batches(warehouse)] == ["contacts", "contact_events", "contact_events"]
    assert warehouse.read("SELECT queued_at, answered_at, wait_seconds FROM contacts") == [
        (datetime(2024, 5, 1, 9, 0), datetime(2024, 5, 1, 9, 1), 60)]
