"""The one write path for records (`cxhub.ingest.upsert`, `keys`, `sink`): files, the API's
sink and other writers (listening's routing, offers) share one idempotent-insert policy, one
batch-id allocator and one key index; what the writer keeps in memory between jobs stays right
when other jobs write, when a flush fails or is rolled back with its group, and from the start.
Crash safety of a file load killed midway: `test_write_path_crash.py`; over HTTP:
`tests/web/test_api_records.py`."""

from __future__ import annotations

import asyncio
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import run_cli

from cxhub.domain.api_models import MODELS
from cxhub.domain.canonical import CONTACTS
from cxhub.ingest.keys import KEY_HASH_SQL, key_hashes, known
from cxhub.ingest.sink import RecordSink
from cxhub.ingest.upsert import Written, write_rows
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


def test_lingering_rows_wait_for_company_but_not_for_ever(warehouse: Warehouse) -> None:
    """Rows nobody waits for (decisions) linger to share a commit; rows a client waits for go
    at once and take them along; a flush at shutdown writes whatever still lingers."""
    sink = RecordSink(warehouse)
    count = "SELECT count(*) FROM contacts"
    for i in range(3):
        sink.put("contacts", [contact(f"l{i}")], linger=5)
    assert warehouse.read_one(count) == (0,)
    sink.submit("contacts", [contact("now")]).result(timeout=30)  # takes the three along
    assert warehouse.read_one(count) == (4,)
    sink.put("contacts", [contact("later")], linger=0.2)
    deadline = time.monotonic() + 30
    while warehouse.read_one(count) != (5,) and time.monotonic() < deadline:
        time.sleep(0.05)  # by its own timer
    assert warehouse.read_one(count) == (5,)
    sink.put("contacts", [contact("held")], linger=60)
    sink.flush(timeout=30)
    assert warehouse.read_one(count) == (6,)
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


def test_keys_hash_alike_in_the_table_and_in_a_flush(warehouse: Warehouse) -> None:
    """The index is built from the table in SQL and asked with a flush's keys hashed in Python:
    both must agree, whatever the characters, or a stored key would be taken for a new one."""
    keys = ["C1", "é漢字-1", " spaced ", "a\x1fb", "BA60000002"]
    warehouse.write(lambda con: write_rows(con, CONTACTS, [[contact(k, "crm") for k in keys]]))
    in_sql = warehouse.read(f"SELECT {KEY_HASH_SQL} FROM contacts ORDER BY contact_id")
    assert [h for (h,) in in_sql] == key_hashes([("crm", k) for k in keys]).tolist()
    stored = dict(warehouse.read("SELECT external_id, contact_id FROM contacts"))
    sink = RecordSink(warehouse)  # the index, built from the table
    written = sink.submit("contacts", [contact(k, "crm") for k in keys]).result(timeout=30)
    assert [(w.id, w.created) for w in written] == [(stored[k], False) for k in keys]
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


def test_the_sink_sees_rows_another_writer_added(warehouse: Warehouse, tmp_path: Path) -> None:
    def row(ext: str) -> dict[str, Any]:
        return MODELS["contacts"](source="crm", external_id=ext, channel="chat",
                                  created_at=datetime(2024, 5, 6, 9)).model_dump()

    sink = RecordSink(warehouse)
    assert sink.submit("contacts", [row("a")]).result() == [Written(1, True)]
    (tmp_path / "contacts.csv").write_text(
        "source,external_id,channel,created_at\ncrm,b,phone,2024-05-01 10:00:00\n")
    report = ingest_paths(warehouse, "generic", [tmp_path / "contacts.csv"], kind="contacts")
    assert report.totals["loaded"] == 1
    got = sink.submit("contacts", [row("b"), row("a"), row("c"), row("c")]).result()
    assert got == [Written(2, False), Written(1, False), Written(3, True), Written(3, False)]
    assert warehouse.read("SELECT external_id, contact_id FROM contacts ORDER BY 2") == [
        ("a", 1), ("b", 2), ("c", 3)]


@pytest.mark.slow
def test_ids_are_given_only_for_rows_that_were_committed(warehouse: Warehouse) -> None:
    """The writer commits jobs in groups; when another job of the group fails, the group is
    rolled back and each job runs again alone. A request must then still find its rows."""
    gate = threading.Event()
    warehouse.writer.submit(lambda con: gate.wait(10))  # holds the writer while jobs queue up
    sink = RecordSink(warehouse)
    # Two requests in one flush, then a job that fails and rolls the group back.
    answer = sink.submit("contacts", [contact("g-1")])
    later = sink.submit("contacts", [contact("g-2"), contact("g-1")])

    def fails(con: Any) -> None:
        raise RuntimeError("a job that fails in the same group")

    failed = warehouse.writer.submit(fails)
    gate.set()
    assert answer.result(timeout=10) == [Written(1, True)]
    assert later.result(timeout=10) == [Written(2, True), Written(1, False)]
    with pytest.raises(RuntimeError):
        failed.result(timeout=10)
    assert warehouse.read("SELECT contact_id, external_id FROM contacts ORDER BY 1") == [
        (1, "g-1"), (2, "g-2")]
    assert sink.submit("contacts", [contact("g-3")]).result(timeout=10) == [Written(3, True)]
    check_consistent(warehouse)


def test_every_writer_shares_one_batch_allocator_and_one_key_index(
    warehouse: Warehouse, tmp_path: Path
) -> None:
    """The API's sink, a file and a writer of its own (as listening's routing) in turns: batch
    ids one after the other, and the index the sink built at the start still agrees with the
    table after each writer, without being built again."""
    sink = RecordSink(warehouse)
    index = warehouse.writer.run(lambda con: known(con).index(CONTACTS))
    sink.submit("contacts", [contact("a")]).result(timeout=30)
    path = tmp_path / "contacts.csv"
    path.write_text("source,external_id,channel,created_at\n"
                    + "".join(f"api,f{i},email,2024-05-02 10:00:00\n" for i in range(3)))
    assert ingest_paths(warehouse, "generic", [path]).totals["loaded"] == 3
    routed = warehouse.write(lambda con: write_rows(con, CONTACTS, [[contact("f1"),
                                                                      contact("r")]]))
    assert [(w.id, w.created) for w in routed[0]] == [(3, False), (5, True)]
    hashes = index._hashes  # the sorted keys of the start; a rebuild would replace them
    written = sink.submit("contacts", [contact(k) for k in ("r", "f2", "a", "s")]).result(30)
    assert [(w.id, w.created) for w in written] == [(5, False), (4, False), (1, False),
                                                     (6, True)]
    assert index._hashes is hashes and index._count == 6
    assert warehouse.read("SELECT batch_id FROM ingest_batches ORDER BY 1") == [
        (1,), (2,), (3,), (4,)]
    check_consistent(warehouse)


def test_a_file_that_gives_one_id_to_different_records_says_where(
    warehouse: Warehouse, tmp_path: Path
) -> None:
    path = tmp_path / "contacts.csv"
    path.write_text(
        "source,external_id,channel,created_at,subject\n"
        "crm,a,phone,2024-01-01,one\n"        # line 2
        "crm,b,phone,2024-01-01,two\n"
        "crm,a,phone,2024-01-02,three\n"      # line 4: the id of line 2, other values
        "crm,b,phone,2024-01-01,two\n"        # line 5: line 3 again, the same values
        "crm,a,phone,2024-01-01,one\n")       # line 6: line 2 again
    [result] = ingest_paths(warehouse, "generic", [path]).files
    assert (result.rows_read, result.loaded, result.existing) == (5, 2, 3)
    assert result.repeated_ids == 1
    [example] = result.repeated_examples
    assert example.startswith(f"{path}:2 id=a (source crm)")
    assert "lines 4, 6" in example
    assert warehouse.read("SELECT external_id, subject FROM contacts ORDER BY 1") == [
        ("a", "one"), ("b", "two")]
    # Loaded again: nothing is new, nothing repeats within what is inserted.
    [again] = ingest_paths(warehouse, "generic", [path]).files
    assert (again.loaded, again.existing, again.repeated_ids) == (0, 5, 0)
    # The CLI's summary says it, with the file, the lines and the id.
    out = run_cli("ingest", "generic", str(path), home=tmp_path / "home",
                  env={"COLUMNS": "200"}).stdout
    assert "1 id(s) given to different records in contacts.csv" in out
    assert f"e.g. {path}:2 id=a (source crm): the same id with different values on lines 4, 6" \
        in out
