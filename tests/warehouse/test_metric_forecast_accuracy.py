"""The catalogue's `forecast_accuracy` against a hand computation: per interval the smaller of
forecast and arrivals over the larger, summed. Only the newest run made before the interval's
day began counts (a run made during the day is left out), and only channel-level series (a
team's series is not the channel's forecast).

Phone, 5 March: 10:00 forecast 4, 3 arrived; 10:30 forecast 2, 3 arrived: (3 + 2) / (4 + 3).
Letter: 10:00 forecast 0.25, none arrived; 10:30 forecast 0.25, one arrived: 0.25 / 1.25 (its
1 - WAPE is 1 - (0.25 + 0.75) / 1 = 0).
"""

from __future__ import annotations

import pytest
from tests.warehouse.test_metrics_hand import insert

from cxhub.metrics import compute, default_catalogue
from cxhub.warehouse import Warehouse
from cxhub.warehouse.engines import connect

pytestmark = pytest.mark.filterwarnings(
    "ignore:fetch_arrow_table\\(\\) is deprecated:DeprecationWarning")


def test_forecast_accuracy_by_hand(warehouse: Warehouse) -> None:
    insert(warehouse, "forecast_runs", "run_id, origin, interval_minutes", [
        (1, "2024-03-04 00:00", 30), (2, "2024-03-05 12:00", 30)])
    cols = "run_id, series, channel, team, model, interval_start, interval_minutes, point, lo, hi"
    insert(warehouse, "forecasts", cols, [
        (1, "phone", "phone", None, "m", "2024-03-05 10:00", 30, 4.0, 1.0, 8.0),
        (1, "phone", "phone", None, "m", "2024-03-05 10:30", 30, 2.0, 0.0, 5.0),
        (1, "letter", "letter", None, "m", "2024-03-05 10:00", 30, 0.25, 0.0, 2.0),
        (1, "letter", "letter", None, "m", "2024-03-05 10:30", 30, 0.25, 0.0, 2.0),
        (1, "phone/sales", "phone", "sales", "m", "2024-03-05 10:00", 30, 100.0, 0.0, 200.0),
        (2, "phone", "phone", None, "m", "2024-03-05 10:00", 30, 100.0, 0.0, 200.0)])
    insert(warehouse, "contacts", "channel, created_at", [
        ("phone", "2024-03-05 10:05"), ("phone", "2024-03-05 10:10"),
        ("phone", "2024-03-05 10:29:59"), ("phone", "2024-03-05 10:30"),
        ("phone", "2024-03-05 10:40"), ("phone", "2024-03-05 10:59"),
        ("letter", "2024-03-05 10:45"), ("chat", "2024-03-05 10:45")], key="contact_id")
    backend = connect(duckdb_connection=warehouse.cursor())
    day = {"start": "2024-03-05", "end": "2024-03-05"}
    m = "forecast_accuracy"
    by = {r["channel"]: r["value"] for r in compute(backend, m, by="channel", **day)}
    assert by == pytest.approx({"phone": 5 / 7, "letter": 0.25 / 1.25})
    [total] = compute(backend, m, **day)
    assert total["value"] == pytest.approx(5.25 / 8.25)
    assert total["n"] == 4  # intervals
    assert default_catalogue().get(m).format(total["value"]) == "63.6%"
