"""The newest id is read from the row groups that can hold it, not from every block of the
column: the server asks for it every few seconds (the classifier's and the problems' ticks, the
writer's check of its key index), and DuckDB keeps what a query read until its instance closes,
so `max()` made the server hold more of the file with every contact (the soak,
docs/reliability.md). On a file just checkpointed DuckDB answers `max()` from its statistics;
a running server always has rows appended since its last checkpoint, and then it reads every
block of the column."""

from __future__ import annotations

from pathlib import Path

from cxhub.warehouse import Warehouse
from cxhub.warehouse.schema import largest_sql

CONTACTS = 1_500_000  # about 49 of the warehouse's row groups


def _held_mb(wh: Warehouse) -> float:
    row = wh.read_one("SELECT coalesce(sum(memory_usage_bytes), 0) FROM duckdb_memory() "
                      "WHERE tag = 'BASE_TABLE'")
    assert row is not None
    return float(row[0]) / 2**20


def _insert(wh: Warehouse, first: int, n: int) -> None:
    wh.write(lambda con: con.execute(
        "INSERT INTO contacts (contact_id, source, external_id, channel, created_at) "
        "SELECT i + 1, 'api', 'c' || hash(i), ['phone', 'email'][1 + i % 2], "
        f"TIMESTAMP '2026-01-01' + to_seconds(i) FROM range({first}, {first + n}) t(i)"))


def _read_as_served(path: Path, sql: str, first: int) -> tuple[int, float]:
    """The answer of `sql` on a warehouse just opened and written to since (as a server's
    always is), and the MB of the file DuckDB read for it."""
    with Warehouse.open(path) as wh:
        _insert(wh, first, 100)
        before = _held_mb(wh)
        row = wh.read_one(sql)
        assert row is not None
        return int(row[0]), _held_mb(wh) - before


def test_the_newest_id_reads_a_few_row_groups_not_the_column(tmp_path: Path) -> None:
    path = tmp_path / "cxhub.duckdb"
    with Warehouse.open(path) as wh:
        assert wh.read_one(f"SELECT {largest_sql('contacts', 'contact_id')}") == (0,)
        _insert(wh, 0, CONTACTS)
    newest, held = _read_as_served(path, f"SELECT {largest_sql('contacts', 'contact_id')}",
                                   CONTACTS)
    largest, held_by_max = _read_as_served(path, "SELECT max(contact_id) FROM contacts",
                                           CONTACTS + 100)
    assert newest == CONTACTS + 100
    assert largest == CONTACTS + 200
    assert held_by_max > 4 * held, (held, held_by_max)
