"""Migration v9 (forecasts, rosters, opening hours) and rosters loaded from CSV."""

from __future__ import annotations

from pathlib import Path

import duckdb

from cxhub.services.records.files import ingest_paths
from cxhub.warehouse import Warehouse, schema

V9_TABLES = {"rosters", "forecasts", "forecast_runs", "opening_hours", "holidays"}


def _tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    return {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables")
            .fetchall()}


def test_v9_tables_in_a_new_file_and_in_a_file_made_before_them(tmp_path: Path) -> None:
    fresh = duckdb.connect(str(tmp_path / "new.duckdb"))
    schema.migrate(fresh)
    assert V9_TABLES <= _tables(fresh)

    old = duckdb.connect(str(tmp_path / "old.duckdb"))
    schema.migrate(old, target=6)
    old.execute("DROP TABLE rosters")  # as a file made before rosters existed
    assert V9_TABLES.isdisjoint(_tables(old))
    assert 9 in schema.migrate(old)
    assert V9_TABLES <= _tables(old)
    cols = {r[0] for r in old.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = 'rosters'")
        .fetchall()}
    assert {"source", "external_id", "channel", "team", "starts_at", "ends_at", "agents"} <= cols


def test_a_roster_csv_loads_and_bad_rows_are_quarantined(warehouse: Warehouse,
                                                         tmp_path: Path) -> None:
    path = tmp_path / "rosters.csv"
    path.write_text(
        "source,external_id,channel,team,starts_at,ends_at,agents\n"
        "wfm,phone-1,phone,,2030-01-07T09:00:00,2030-01-07T09:30:00,12\n"
        "wfm,phone-2,phone,billing,2030-01-07T09:30:00,2030-01-07T10:00:00,7.5\n"
        "wfm,phone-3,phone,,2030-01-07T10:00:00,2030-01-07T10:30:00,many\n"
        "wfm,phone-4,pigeon,,2030-01-07T10:00:00,2030-01-07T10:30:00,4\n")
    report = ingest_paths(warehouse, "generic", [path])
    assert report.totals["loaded"] == 2 and report.totals["quarantined"] == 2
    rows = warehouse.read("SELECT external_id, team, agents FROM rosters ORDER BY 1")
    assert rows == [("phone-1", None, 12.0), ("phone-2", "billing", 7.5)]
    reasons = warehouse.read("SELECT line, field FROM quarantine ORDER BY line")
    assert reasons == [(4, "agents"), (5, "channel")]
    # Loading the same file again adds nothing (rows are keyed by source and external id).
    again = ingest_paths(warehouse, "generic", [path])
    assert again.totals["loaded"] == 0 and again.totals["existing"] == 2
