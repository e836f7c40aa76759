"""In a server, a metric read right after a write does not wait for the ready-made tables: it
answers from them as they are, saying as of when, while a background refresh catches up."""

from __future__ import annotations

import threading
from datetime import datetime

import pytest

from cxhub.ingest.sink import RecordSink
from cxhub.services.metrics import compute as metrics
from cxhub.services.metrics import ready_tables
from cxhub.warehouse import Warehouse

pytestmark = pytest.mark.filterwarnings(
    "ignore:fetch_arrow_table\\(\\) is deprecated:DeprecationWarning")

DAY = {"start": "2024-03-04", "end": "2024-03-04"}


def contact(key: str) -> dict[str, object]:
    return {"source": "api", "external_id": key, "channel": "phone",
            "created_at": datetime(2024, 3, 4, 10, 0)}


def count(wh: Warehouse) -> int:
    [row] = metrics.compute(wh, "contacts", **DAY)
    return int(row["value"])


def test_a_read_after_a_write_answers_as_of_the_tables_while_they_catch_up(
    warehouse: Warehouse, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(ready_tables, "BUSY_SECONDS", 0.0)  # the API's write load: below
    sink = RecordSink(warehouse)
    sink.submit("contacts", [contact(f"a{i}") for i in range(3)]).result(timeout=30)
    ready_tables.start_background(warehouse)  # as `cxhub serve` does at start
    keeper = ready_tables._keeper(warehouse)
    try:
        assert keeper.thread is not None
        keeper.thread.join(60)
        assert count(warehouse) == 3
        made = ready_tables.available(warehouse)
        assert not isinstance(made, ready_tables.Behind) and made.sums

        # Hold the writer, so that the refresh this read starts cannot finish before we look.
        gate = threading.Event()
        sink.submit("contacts", [contact("b")]).result(timeout=30)
        warehouse.writer.submit(lambda con: gate.wait(30))
        behind = ready_tables.available(warehouse)
        assert isinstance(behind, ready_tables.Behind) and behind.sums
        assert behind.as_of is not None and behind.as_of <= datetime.now()
        assert count(warehouse) == 3  # the tables as they were made, without the new contact
        said = metrics.report(warehouse, "contacts", **DAY)  # what the API answers
        assert said["as_of"] is not None and said["rows"][0]["value"] == 3
        gate.set()
        keeper.thread.join(60)
        caught_up = ready_tables.available(warehouse)
        assert not isinstance(caught_up, ready_tables.Behind) and caught_up.sums
        assert count(warehouse) == 4
        assert metrics.report(warehouse, "contacts", **DAY)["as_of"] is None
    finally:
        ready_tables.stop_background(warehouse, timeout=60)


def test_outside_a_server_a_read_brings_the_tables_up_to_date_first(
    warehouse: Warehouse,
) -> None:
    sink = RecordSink(warehouse)
    sink.submit("contacts", [contact("a")]).result(timeout=30)
    assert count(warehouse) == 1
    sink.submit("contacts", [contact("b")]).result(timeout=30)
    assert not isinstance(ready_tables.available(warehouse), ready_tables.Behind)
    assert count(warehouse) == 2


def test_while_requests_write_no_refresh_starts_and_reads_answer_as_of_the_tables(
    warehouse: Warehouse, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The refresh's writer jobs and Python work made every API connection wait together
    (issue 12's p99): while requests write it waits, at most MAX_DEFER_SECONDS."""
    monkeypatch.setattr(ready_tables, "BUSY_SECONDS", 60.0)  # however slow this machine is
    sink = RecordSink(warehouse)
    sink.submit("contacts", [contact(f"a{i}") for i in range(3)]).result(timeout=30)
    ready_tables.start_background(warehouse)
    keeper = ready_tables._keeper(warehouse)
    try:
        assert keeper.thread is not None
        keeper.thread.join(60)
        first = keeper.thread
        sink.submit("contacts", [contact("b")]).result(timeout=30)  # urgent: the writer is busy
        behind = ready_tables.available(warehouse)
        assert isinstance(behind, ready_tables.Behind) and behind.sums
        assert count(warehouse) == 3 and keeper.deferred >= 2
        assert keeper.thread is first  # no refresh was started
        monkeypatch.setattr(ready_tables, "MAX_DEFER_SECONDS", 0.0)  # waited long enough
        ready_tables.available(warehouse)
        assert keeper.thread is not first
        keeper.thread.join(60)
        assert count(warehouse) == 4
    finally:
        ready_tables.stop_background(warehouse, timeout=60)


def test_contacts_written_between_two_steps_of_a_refresh_still_answer_as_of_the_tables(
    warehouse: Warehouse, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each step of a refresh is its own transaction and the API writes between them, so the
    sums have often seen contacts the repeat gaps had not; the tables as made still answer
    (they did not: under constant writes every figure read every contact)."""
    monkeypatch.setattr(ready_tables, "BUSY_SECONDS", 60.0)  # requests are writing: no refresh
    sink = RecordSink(warehouse)
    sink.submit("contacts", [contact(f"a{i}") for i in range(3)]).result(timeout=30)
    ready_tables.refresh(warehouse)
    sink.submit("contacts", [contact("b")]).result(timeout=30)
    ready_tables.refresh(warehouse, only=("labels", "repeats", "tenures"))
    sink.submit("contacts", [contact("c")]).result(timeout=30)  # between the two steps
    ready_tables.refresh(warehouse, only=("sums",))
    sink.submit("contacts", [contact("d")]).result(timeout=30)
    keeper = ready_tables._keeper(warehouse)
    keeper.background = True  # as in a server, without its thread: nothing catches up here
    try:
        behind = ready_tables.available(warehouse)
        assert isinstance(behind, ready_tables.Behind) and behind.sums
        assert count(warehouse) == 5  # the sums as made, with "c", without "d"
    finally:
        keeper.background = False
    ready_tables.refresh(warehouse)
    assert count(warehouse) == 6
