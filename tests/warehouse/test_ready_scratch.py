"""The ready-made tables' refresh leaves no scratch tables on the writer's connection: they are
copies of records (a whole day of contacts for the sums) and that connection lives as long as
the server, so kept they held a day of contacts in memory under constant writes."""

from __future__ import annotations

from cxhub.services.metrics import ready_tables
from cxhub.warehouse import Warehouse

_ADD = ("INSERT INTO contacts (contact_id, source, external_id, channel, created_at) "
        "SELECT ? + i, 't', 'c' || (? + i), 'web', TIMESTAMP '2026-03-02 10:00:00' "
        "+ i * INTERVAL 1 MINUTE FROM range(?) r(i)")


def _scratch(wh: Warehouse) -> list[str]:
    rows = wh.write(lambda con: con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE temporary UNION ALL "
        "SELECT view_name FROM duckdb_views() WHERE temporary AND NOT internal").fetchall())
    return sorted(r[0] for r in rows)


def test_no_scratch_table_outlives_a_refresh(warehouse: Warehouse) -> None:
    warehouse.write(lambda con: con.execute(_ADD, [1, 1, 500]))
    ready_tables.refresh(warehouse)  # the first: a rebuild
    warehouse.write(lambda con: con.execute(_ADD, [1000, 1000, 300]))
    done = ready_tables.refresh(warehouse)  # only the changed day: copied out, summed again
    assert {d["step"]: d["changed"] for d in done}["sums"] == 1
    assert _scratch(warehouse) == []
    # and what the copies were for is there: the day's sums count all 800 contacts
    rows = warehouse.read("SELECT sum(n) FROM metric_days WHERE metric = 'contacts'")
    assert rows[0][0] == 800
