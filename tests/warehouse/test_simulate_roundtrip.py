"""Simulate -> ingest: every file the simulator writes loads through the generic mappings with
nothing quarantined, and a second load changes nothing. The company ends yesterday, as the demo's
does, so a record stamped after the export was written would be caught as "in the future".
The backlog metric on the loaded company equals the open items counted by hand in its files."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from cxhub.metrics import compute
from cxhub.services.records.files import ingest_paths
from cxhub.simulate import simulate
from cxhub.warehouse import Warehouse
from cxhub.warehouse.engines import connect

pytestmark = pytest.mark.slow

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


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[tuple[Warehouse, Path, dict[str, int]]]:
    start = datetime.now(UTC).date() - timedelta(days=DAYS)
    out = tmp_path_factory.mktemp("company")
    simulate(out, customers=1500, days=DAYS, seed=11, start=start)
    wh = Warehouse.open(tmp_path_factory.mktemp("home") / "cxhub.duckdb")
    try:
        yield wh, out, _load_all(wh, out / "manifest.json")
    finally:
        wh.close()


def test_every_simulated_file_loads_without_quarantine(
        loaded: tuple[Warehouse, Path, dict[str, int]]) -> None:
    warehouse, out, first = loaded
    manifest = out / "manifest.json"
    kinds = {e["kind"] for e in json.loads(manifest.read_text())}
    assert {"source_records", "contacts", "contact_events", "surveys", "mentions",
            "transactions", "touchpoints", "holdings"} <= kinds

    reasons = warehouse.read(
        "SELECT kind, source, field, reason, count(*) FROM quarantine GROUP BY ALL")
    assert reasons == []
    assert first["quarantined"] == 0
    assert first["loaded"] == first["rows"] > 10_000

    again = _load_all(warehouse, manifest)
    assert (again["loaded"], again["existing"], again["quarantined"]) == (0, first["rows"], 0)


def test_backlog_equals_the_open_items_counted_by_hand(
        loaded: tuple[Warehouse, Path, dict[str, int]]) -> None:
    warehouse, out, _ = loaded
    c = pd.read_csv(out / "contact_centre/contacts.csv", dtype=str, keep_default_na=False)
    created = pd.to_datetime(c["created_at"])
    closed = pd.to_datetime(c["resolved_at"].replace("", None)).fillna(
        pd.to_datetime(c["abandoned_at"].replace("", None)))
    first = created.min().normalize()
    checked = 0
    for days, hour in ((10, 11), (20, 15), (33, 9), (44, 23)):
        instant = first + pd.Timedelta(days=days, hours=hour)
        is_open = (created < instant) & (c["outcome"] != "phantom")
        is_open &= closed.isna() | (closed >= instant)
        by_hand = c.loc[is_open, "channel"].value_counts().to_dict()
        rows = compute(connect(duckdb_connection=warehouse.cursor()), "backlog",
                       start=first.date().isoformat(), end=instant.isoformat(), by="channel")
        figures = {r["channel"]: r["value"] for r in rows if r["value"]}
        assert figures == by_hand, instant
        checked += sum(by_hand.values())
    assert checked > 50  # a real backlog, on written channels at least
