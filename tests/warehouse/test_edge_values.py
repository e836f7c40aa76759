"""The smallest and largest values of a column (the newest id, the first and the newest
contact's time) are read from the row groups that can hold them, not from every block of the
column: the server asks for them every few seconds (the classifier's and the problems' ticks,
the writer's check of its key index, the public page's first day, the dashboard's "as of"), and
DuckDB keeps what a query read until its instance closes, so `min()` and `max()` made the server
hold more of the file with every contact (the soak, docs/reliability.md). On a file just
checkpointed DuckDB answers them from its statistics; a running server always has rows appended
since its last checkpoint, and then it reads every block of the column."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from cxhub.metrics import coverage
from cxhub.services.metrics.backend import backend
from cxhub.services.metrics.compute import definition
from cxhub.warehouse import Warehouse
from cxhub.warehouse.schema import edge_sql, largest_sql, span_sql

CONTACTS = 1_500_000  # about 49 of the warehouse's row groups


def _held_mb(wh: Warehouse) -> float:
    row = wh.read_one("SELECT coalesce(sum(memory_usage_bytes), 0) FROM duckdb_memory() "
                      "WHERE tag = 'BASE_TABLE'")
    assert row is not None
    return float(row[0]) / 2**20


def _insert(wh: Warehouse, first: int, n: int) -> None:
    """Contacts `first` + 1 ... `first` + n, a second apart from 2026-01-01 (those after the
    first `CONTACTS` an hour later), e-mail at the odd ones."""
    wh.write(lambda con: con.execute(
        "INSERT INTO contacts (contact_id, source, external_id, channel, created_at) "
        "SELECT i + 1, 'api', 'c' || hash(i), ['phone', 'email'][1 + i % 2], "
        f"TIMESTAMP '2026-01-01' + to_seconds(i + 3600 * (i >= {CONTACTS})::INT) "
        f"FROM range({first}, {first + n}) t(i)"))


def _read_as_served(path: Path, sql: str, first: int,
                    params: list[Any] | None = None) -> tuple[tuple[Any, ...], float]:
    """The answer of `sql` on a warehouse just opened and written to since (as a server's
    always is), and the MB of the file DuckDB read for it."""
    with Warehouse.open(path) as wh:
        _insert(wh, first, 100)
        before = _held_mb(wh)
        row = wh.read_one(sql, params)
        assert row is not None
        return row, _held_mb(wh) - before


@pytest.fixture(scope="module")
def filled(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("edges") / "cxhub.duckdb"
    with Warehouse.open(path) as wh:
        assert wh.read_one(f"SELECT {largest_sql('contacts', 'contact_id')}") == (0,)
        assert wh.read_one(span_sql("contacts", "created_at")) == (None, None)
        _insert(wh, 0, CONTACTS)
    return path


def test_the_newest_id_reads_a_few_row_groups_not_the_column(filled: Path) -> None:
    (newest,), held = _read_as_served(
        filled, f"SELECT {largest_sql('contacts', 'contact_id')}", CONTACTS)
    (largest,), held_by_max = _read_as_served(
        filled, "SELECT max(contact_id) FROM contacts", CONTACTS + 100)
    assert newest == CONTACTS + 100
    assert largest == CONTACTS + 200
    assert held_by_max > 4 * held, (held, held_by_max)


@pytest.mark.parametrize("where, params", [("", None), ("channel = ?", ["email"])])
def test_the_span_of_times_reads_a_few_row_groups_not_the_column(
        filled: Path, where: str, params: list[str] | None) -> None:
    appended = CONTACTS + (200 if params is None else 400)  # rows no other test appends
    edges = (f"SELECT {edge_sql('contacts', 'created_at', 'min', where)}, "
             f"{edge_sql('contacts', 'created_at', 'max', where)}")
    span, held = _read_as_served(filled, edges, appended, (params or []) * 2)
    filtered = f" WHERE {where}" if where else ""
    _, held_by_min_max = _read_as_served(
        filled, f"SELECT min(created_at), max(created_at) FROM contacts{filtered}",
        appended + 100, params)
    last = appended + 99  # the newest of the rows appended before the first read, an e-mail
    first = 0 if params is None else 1
    assert span == (dt.datetime(2026, 1, 1) + dt.timedelta(seconds=first),
                    dt.datetime(2026, 1, 1) + dt.timedelta(seconds=last + 3600))
    assert held_by_min_max > 4 * held, (held, held_by_min_max)


def test_the_span_of_a_metrics_data_reads_a_few_row_groups(filled: Path) -> None:
    """Every compared figure carries its coverage: the first and the last day of the data."""
    appended = CONTACTS + 600
    with Warehouse.open(filled) as wh:
        _insert(wh, appended, 100)
        before = _held_mb(wh)
        span = coverage.data_span(backend(wh), definition("contacts"))
        held = _held_mb(wh) - before
    assert span == (dt.datetime(2026, 1, 1), dt.datetime(2026, 1, 18))  # 1.5 million seconds
    _, held_by_min_max = _read_as_served(
        filled, "SELECT min(created_at), max(created_at) FROM contacts", appended + 100)
    assert held_by_min_max > 4 * held, (held, held_by_min_max)
