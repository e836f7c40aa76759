"""The API's record sink between flushes: what it keeps in memory (the key index, the next batch
id) stays right when other jobs write, when a flush fails, and from the start."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

import pytest

from cxhub.domain.canonical import CONTACTS
from cxhub.services.records.api import RecordSink, write_rows
from cxhub.services.records.files import ingest_paths
from cxhub.warehouse import Warehouse


def contact(key: str, source: str = "api") -> dict[str, object]:
    return {"source": source, "external_id": key, "channel": "phone",
            "created_at": datetime(2024, 5, 1, 9, 0), "subject": f"about {key}"}


def check_consistent(wh: Warehouse) -> None:
    """No key twice, no id twice, no batch id twice."""
    assert wh.read_one(
        "SELECT count(*) = count(DISTINCT (source, external_id)), "
        "count(*) = count(DISTINCT contact_id) FROM contacts") == (True, True)
    assert wh.read_one(
        "SELECT count(*) = count(DISTINCT batch_id) FROM ingest_batches") == (True,)


def test_writes_by_other_jobs_between_flushes_are_seen(
    warehouse: Warehouse, tmp_path: Path
) -> None:
    sink = RecordSink(warehouse)
    [first] = sink.submit("contacts", [contact("a")]).result(timeout=30)
    assert first.created
    # Another job writes contacts and batches the way mentions routed to contacts do, and a
    # file load adds its own batch and rows.
    warehouse.write(lambda con: write_rows(con, CONTACTS, [[contact("b")]]))
    path = tmp_path / "contacts.csv"
    path.write_text("source,external_id,channel,created_at\napi,c,email,2024-05-02 10:00:00\n")
    assert not ingest_paths(warehouse, "generic", [path]).failed
    ids = dict(warehouse.read("SELECT external_id, contact_id FROM contacts"))
    written = sink.submit("contacts", [contact(k) for k in "abcd"]).result(timeout=30)
    assert [(w.id, w.created) for w in written[:3]] == [(ids[k], False) for k in "abc"]
    assert written[3].created and written[3].id > max(ids.values())
    check_consistent(warehouse)


def test_a_failed_flush_leaves_nothing_behind(warehouse: Warehouse) -> None:
    sink = RecordSink(warehouse)
    sink.submit("contacts", [contact("a")]).result(timeout=30)
    broken = contact("b")
    broken["source"] = None  # the request models never let this through; the table refuses it
    with pytest.raises(Exception):  # noqa: B017 - DuckDB's constraint error, whatever its class
        sink.submit("contacts", [contact("c"), broken]).result(timeout=30)
    assert warehouse.read("SELECT external_id FROM contacts") == [("a",)]
    written = sink.submit("contacts", [contact(k) for k in "acd"]).result(timeout=30)
    assert [w.created for w in written] == [False, True, True]
    assert warehouse.read("SELECT external_id FROM contacts ORDER BY contact_id") == [
        ("a",), ("c",), ("d",)]
    check_consistent(warehouse)


def test_the_index_of_stored_keys_is_built_when_the_sink_is_made(
    warehouse: Warehouse,
) -> None:
    warehouse.write(lambda con: write_rows(con, CONTACTS, [[contact(k) for k in "xyz"]]))
    stored = dict(warehouse.read("SELECT external_id, contact_id FROM contacts"))
    sink = RecordSink(warehouse)
    written = sink.submit("contacts", [contact("y"), contact("new")]).result(timeout=30)
    assert (written[0].id, written[0].created) == (stored["y"], False)
    assert written[1].created
    check_consistent(warehouse)


def test_requests_on_an_event_loop_get_their_own_ids(warehouse: Warehouse) -> None:
    sink = RecordSink(warehouse)

    async def post_all() -> list[list[tuple[int, bool]]]:
        answers = await asyncio.gather(*(
            sink.write("contacts", [contact(f"k{i}"), contact(f"k{i % 5}")])
            for i in range(40)))
        return [[(w.id, w.created) for w in a] for a in answers]

    # An event loop of its own, in a thread of its own: the browser tests' Playwright session
    # keeps a loop running in the main thread.
    with ThreadPoolExecutor(1) as pool:
        answers = pool.submit(lambda: asyncio.run(post_all())).result(timeout=60)
    ids = dict(warehouse.read("SELECT external_id, contact_id FROM contacts"))
    assert len(ids) == 40
    for i, [(own, _), (shared, _)] in enumerate(answers):
        assert own == ids[f"k{i}"] and shared == ids[f"k{i % 5}"]
    # Each key was created once, by whichever request wrote it first.
    created = [key for i, a in enumerate(answers)
               for key, (_, new) in zip((f"k{i}", f"k{i % 5}"), a, strict=True) if new]
    assert sorted(created) == sorted(ids)
    check_consistent(warehouse)
