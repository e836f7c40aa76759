"""Simulate -> ingest: every file the simulator writes loads through the generic mappings with
nothing quarantined, and a second load changes nothing. The company ends yesterday, as the demo's
does, so a record stamped after the export was written would be caught as "in the future"."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cxhub.services.ingest import ingest_paths
from cxhub.simulate import simulate
from cxhub.warehouse import Warehouse

DAYS = 45


def _load_all(wh: Warehouse, manifest: Path) -> dict[str, int]:
    totals = {"loaded": 0, "existing": 0, "quarantined": 0, "rows": 0}
    for entry in json.loads(manifest.read_text()):
        report = ingest_paths(wh, "generic", [manifest.parent / entry["path"]],
                              kind=entry["kind"], source=entry["source"])
        assert not report.failed, report.failed
        for f in report.files:
            totals["loaded"] += f.loaded
            totals["existing"] += f.existing
            totals["quarantined"] += f.quarantined
            totals["rows"] += f.rows_read
    return totals


def test_every_simulated_file_loads_without_quarantine(tmp_path: Path,
                                                       warehouse: Warehouse) -> None:
    start = datetime.now(UTC).date() - timedelta(days=DAYS)
    out = tmp_path / "company"
    simulate(out, customers=1500, days=DAYS, seed=11, start=start)
    manifest = out / "manifest.json"
    kinds = {e["kind"] for e in json.loads(manifest.read_text())}
    assert {"source_records", "contacts", "contact_events", "surveys", "mentions",
            "transactions", "touchpoints", "holdings"} <= kinds

    first = _load_all(warehouse, manifest)
    reasons = warehouse.read(
        "SELECT kind, source, field, reason, count(*) FROM quarantine GROUP BY ALL")
    assert reasons == []
    assert first["quarantined"] == 0
    assert first["loaded"] == first["rows"] > 10_000

    again = _load_all(warehouse, manifest)
    assert (again["loaded"], again["existing"], again["quarantined"]) == (0, first["rows"], 0)
