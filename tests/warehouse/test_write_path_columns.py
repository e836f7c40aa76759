"""`upsert.write_rows` inserts only the columns that hold a value in some row (through DuckDB's
appender, one per set of columns, a few kept; or, for large flushes, as an Arrow table): what
is stored must not depend on which columns a batch happened to leave empty, nor on its size."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from cxhub.domain.canonical import CONTACTS
from cxhub.ingest.keys import known
from cxhub.ingest.sink import RecordSink
from cxhub.ingest.upsert import _APPENDERS, ARROW_ROWS, write_rows
from cxhub.warehouse import Warehouse

OPTIONAL = ["queue", "team", "agent", "wait_seconds", "talk_seconds", "timely", "attributes",
            "subject", "region", "product", "resolved_at"]


def value(name: str, n: int) -> Any:
    return {"wait_seconds": float(n), "talk_seconds": n + 0.5, "timely": n % 2 == 0,
            "attributes": {"n": n, "tags": ["a", "b"]},
            "resolved_at": datetime(2024, 5, 2, 10, n % 60)}.get(name, f"{name}-{n}")


def stored(wh: Warehouse) -> dict[str, dict[str, Any]]:
    names = ["external_id", *OPTIONAL, "channel"]
    rows = wh.read(f"SELECT {', '.join(names)} FROM contacts")
    return {r[0]: dict(zip(names[1:], r[1:], strict=True)) for r in rows}


def test_each_row_stores_its_own_values_whatever_columns_the_batch_held(
    warehouse: Warehouse,
) -> None:
    sink = RecordSink(warehouse)
    expected: dict[str, dict[str, Any]] = {}
    n = 0
    # More sets of columns than the appenders kept, and one set twice after it was dropped.
    sets = [OPTIONAL[:k] for k in range(len(OPTIONAL) + 1)] + [OPTIONAL[:1], []]
    assert len(sets) > _APPENDERS + 2
    for fields in sets:
        rows = []
        for j in range(3):
            n += 1
            # In one batch the rows hold different fields: the middle one only the first.
            own = fields if j != 1 else fields[:1]
            row: dict[str, Any] = dict.fromkeys(CONTACTS.field_names)
            row.update(source="api", external_id=f"k{n}", channel="phone",
                       created_at=datetime(2024, 5, 1, 9, 0))
            row.update({f: value(f, n) for f in own})
            rows.append(row)
            expected[f"k{n}"] = {f: value(f, n) if f in own else None for f in OPTIONAL}
        sink.submit("contacts", rows).result(timeout=30)
    got = stored(warehouse)
    assert set(got) == set(expected)
    for key, fields in expected.items():
        row = got[key]
        attributes = row.pop("attributes")
        assert (json.loads(attributes) if attributes else None) == fields.pop("attributes"), key
        assert row == {**fields, "channel": "phone"}, key
    index = known(warehouse.writer._con).index(CONTACTS)
    assert len(index.appenders) == _APPENDERS


def test_rows_that_leave_fields_out_and_a_column_with_a_default(warehouse: Warehouse) -> None:
    """A column with a default (none has one today; a migration might add one) is always
    given, so a row without a value stores NULL as it always did, not the default."""
    warehouse.write(lambda con: con.execute(
        "ALTER TABLE contacts ALTER COLUMN team SET DEFAULT 'by default'"))
    rows: list[dict[str, Any]] = [  # as listening's routing writes: only some keys
        {"source": "route", "external_id": "a", "channel": "social",
         "created_at": datetime(2024, 5, 1, 9, 0)},
        {"source": "route", "external_id": "b", "channel": "social",
         "created_at": datetime(2024, 5, 1, 9, 0), "queue": "posts"},
    ]
    warehouse.write(lambda con: write_rows(con, CONTACTS, [rows]))
    assert warehouse.read("SELECT external_id, queue, team FROM contacts ORDER BY 1") == [
        ("a", None, None), ("b", "posts", None)]


def test_a_large_flush_stores_the_same_values(warehouse: Warehouse) -> None:
    """Over `ARROW_ROWS` rows go in as an Arrow table: the same values, NULLs and JSON as the
    appender's; a column of another type (rows from outside the API) goes through the
    appender as before."""
    sink = RecordSink(warehouse)
    rows, expected = [], {}
    for n in range(ARROW_ROWS + 7):
        own = OPTIONAL[: n % (len(OPTIONAL) + 1)]
        row: dict[str, Any] = {"source": "api", "external_id": f"k{n}", "channel": "phone",
                               "created_at": datetime(2024, 5, 1, 9, n % 60)}
        row.update({f: value(f, n) for f in own})
        rows.append(row)
        expected[f"k{n}"] = {f: value(f, n) if f in own else None for f in OPTIONAL}
    written = sink.submit("contacts", rows).result(timeout=60)
    assert [w.id for w in written] == list(range(1, len(rows) + 1))
    ids = dict(warehouse.read("SELECT external_id, contact_id FROM contacts"))
    assert [ids[f"k{n}"] for n in range(len(rows))] == [w.id for w in written]
    got = stored(warehouse)
    for key, fields in expected.items():
        row = got[key]
        attributes = row.pop("attributes")
        assert (json.loads(attributes) if attributes else None) == fields.pop("attributes"), key
        assert row == {**fields, "channel": "phone"}, key
    assert warehouse.read_one("SELECT min(created_at), max(created_at) FROM contacts") == (
        datetime(2024, 5, 1, 9, 0), datetime(2024, 5, 1, 9, 59))
    # A text column holding numbers: not an Arrow string column, so the appender takes it.
    odd = [{"source": "other", "external_id": f"o{n}", "channel": "web",
            "created_at": datetime(2024, 5, 2), "queue": n} for n in range(ARROW_ROWS + 1)]
    warehouse.write(lambda con: write_rows(con, CONTACTS, [odd]))
    assert warehouse.read_one(
        "SELECT count(*), max(length(queue)) FROM contacts WHERE source = 'other'") == (
        ARROW_ROWS + 1, len(str(ARROW_ROWS)))
