"""The offers migrations (v10, v13) on a new file, on a file made at v6, and on a file that got
v11 before v10 existed (the migrations landed out of order): each ends with the same columns."""

from __future__ import annotations

from pathlib import Path

import duckdb

from cxhub.warehouse import schema


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> set[str]:
    return {r[0] for r in con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = ?",
        [table]).fetchall()}


def test_offers_migration_on_new_old_and_gapped_files(tmp_path: Path) -> None:
    wanted = {"offer_code", "kind", "product", "valid_from", "valid_to", "control_share",
              "min_uplift", "prior_uplift", "max_per_customer_30d", "rules", "updated_by"}
    fresh = duckdb.connect(str(tmp_path / "new.duckdb"))
    schema.migrate(fresh)
    old = duckdb.connect(str(tmp_path / "old.duckdb"))
    schema.migrate(old, target=6)
    assert 10 in schema.migrate(old)
    gapped = duckdb.connect(str(tmp_path / "gap.duckdb"))
    schema.migrate(gapped, target=9)
    v11 = next(m for m in schema.MIGRATIONS if m.version == 11)
    v11.apply(gapped)
    gapped.execute("INSERT INTO schema_migrations VALUES (11, 'segments', now()::TIMESTAMP)")
    assert schema.migrate(gapped)[0] == 10  # then any later ones
    assert schema.migrate(gapped) == []
    for con in (fresh, old, gapped):
        assert wanted <= _columns(con, "offers")
        assert {"offer_code", "qini", "report", "active"} <= _columns(con, "offer_models")
        assert {"offer_code", "change", "actor", "happened_at"} <= _columns(con, "offer_events")
        con.close()
