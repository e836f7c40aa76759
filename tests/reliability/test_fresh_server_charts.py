"""Found by the soak (bench/soak_api.py): a new server fed only by the API has every contact in
the hour and the day in progress, and the public demand chart by hour and by day answered
"could not be loaded" (a range that ends where it starts) instead of an empty chart."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.web.dashboard_fixtures import load_records

from cxhub.warehouse import Warehouse
from cxhub.web.public import charts


def test_demand_of_a_warehouse_that_began_this_hour_is_empty_not_failed(
        warehouse: Warehouse, tmp_path: Path) -> None:
    now = datetime.now(UTC).replace(tzinfo=None)
    hour = now.replace(minute=0, second=0, microsecond=0)
    if now - hour < timedelta(minutes=2):  # keep the contact inside this hour
        now = hour + timedelta(minutes=2)
    load_records(warehouse, tmp_path, "contacts", [
        {"external_id": f"api-{i}", "channel": "web", "created_at": now - timedelta(minutes=1)}
        for i in range(30)])
    for grain in ("hour", "day", "week", "month"):
        doc = charts.demand(warehouse, grain=grain, min_count=10, now=now)
        assert doc["rows"] == [] and "unavailable" not in doc, (grain, doc)
