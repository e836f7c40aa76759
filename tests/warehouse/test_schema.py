"""The warehouse schema: tables generated from the canonical kinds, and versioned migrations."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from cxhub.domain.canonical import RECORD_KINDS
from cxhub.domain.errors import WarehouseBusyError
from cxhub.warehouse import Warehouse, schema


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> dict[str, str]:
    rows = con.execute(
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_name = ? ORDER BY ordinal_position",
        [table],
    ).fetchall()
    return dict(rows)


def _tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    rows = con.execute("SELECT table_name FROM information_schema.tables").fetchall()
    return {r[0] for r in rows}


def test_every_canonical_kind_has_its_table_and_columns(warehouse: Warehouse) -> None:
    con = warehouse.cursor()
    for kind in RECORD_KINDS.values():
        cols = _columns(con, kind.table)
        assert cols, f"no table {kind.table}"
        expected = {f.name: schema.SQL_TYPES[f.type] for f in kind.fields}
        for name, sql_type in expected.items():
            assert name in cols, f"{kind.table}.{name} missing"
            assert cols[name] == sql_type, f"{kind.table}.{name} is {cols[name]}, not {sql_type}"
        # The internal id, the batch that loaded the row and when: nothing else.
        assert set(cols) - set(expected) == {kind.id_column, "batch_id", "loaded_at"}
        assert cols[kind.id_column] == "BIGINT"


def test_support_tables_exist(warehouse: Warehouse) -> None:
    tables = _tables(warehouse.cursor())
    for name in ("ingest_batches", "quarantine", "customers", "customer_links", "labels",
                 "problems", "problem_contacts", "actions", "offers", "api_keys",
                 "schema_migrations"):
        assert name in tables
    quarantine = _columns(warehouse.cursor(), "quarantine")
    assert {"file", "line", "field", "value", "reason", "record"} <= set(quarantine)


def test_key_columns_refuse_nulls(warehouse: Warehouse) -> None:
    with pytest.raises(duckdb.ConstraintException):
        warehouse.write(lambda con: con.execute(
            "INSERT INTO contacts (contact_id, source, external_id, channel) "
            "VALUES (1, 'crm', NULL, 'phone')"))


def test_new_file_is_at_the_latest_version(warehouse: Warehouse) -> None:
    assert warehouse.version == schema.LATEST
    versions = [r[0] for r in warehouse.read("SELECT version FROM schema_migrations ORDER BY 1")]
    assert versions == [m.version for m in schema.MIGRATIONS]


def test_a_version_1_file_upgrades_on_open_and_keeps_its_data(tmp_path: Path) -> None:
    path = tmp_path / "old.duckdb"
    con = duckdb.connect(str(path))
    assert schema.migrate(con, target=1) == [1]
    con.execute(
        "INSERT INTO contacts (contact_id, source, external_id, channel, created_at, text) "
        "VALUES (1, 'crm', 'c-1', 'email', TIMESTAMP '2024-03-01 09:30:00', 'hello')"
    )
    con.execute(
        "INSERT INTO quarantine (batch_id, kind, source, file, line, field, value, reason) "
        "VALUES (1, 'contacts', 'crm', 'x.csv', 7, 'created_at', 'soon', 'not a valid timestamp')"
    )
    assert "api_keys" not in _tables(con)
    con.close()

    with Warehouse.open(path) as wh:
        assert wh.version == schema.LATEST
        assert wh.read("SELECT external_id, channel, created_at::VARCHAR, text FROM contacts") == [
            ("c-1", "email", "2024-03-01 09:30:00", "hello")
        ]
        assert wh.read("SELECT line, field, value FROM quarantine") == [
            (7, "created_at", "soon")
        ]
        tables = _tables(wh.cursor())
        assert {"api_keys", "reports", "users"} <= tables
        # The tables made by later migrations work, not just exist.
        wh.write(lambda c: c.execute(
            "INSERT INTO api_keys (key_id, prefix, key_hash, scopes) "
            "VALUES (1, 'cx_', 'h', ['read'])"))
        assert wh.read_one("SELECT count(*) FROM api_keys") == (1,)

    # Opening again applies nothing more.
    con = duckdb.connect(str(path))
    assert schema.migrate(con) == []
    con.close()


def test_read_only_open_of_an_old_file_asks_for_an_upgrade(tmp_path: Path) -> None:
    path = tmp_path / "old.duckdb"
    con = duckdb.connect(str(path))
    schema.migrate(con, target=1)
    con.close()
    with pytest.raises(WarehouseBusyError, match="older cxhub"):
        Warehouse.open(path, read_only=True)
    Warehouse.open(path).close()
    with Warehouse.open(path, read_only=True) as wh:
        assert wh.version == schema.LATEST


def test_a_failing_migration_leaves_the_file_at_its_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(con: duckdb.DuckDBPyConnection) -> None:
        con.execute("CREATE TABLE half_done (x INTEGER)")
        raise RuntimeError("migration bug")

    nxt = schema.LATEST + 1
    monkeypatch.setattr(
        schema, "MIGRATIONS", (*schema.MIGRATIONS, schema.Migration(nxt, "broken", broken))
    )
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    schema.migrate(con)
    with pytest.raises(RuntimeError, match="migration bug"):
        schema.migrate(con, target=nxt)
    assert schema.current_version(con) == schema.LATEST
    assert "half_done" not in _tables(con)
    con.close()
