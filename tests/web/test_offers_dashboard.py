"""Offers on the dashboard: the catalogue page with the triggers on record, an offer's report
by segment, a trigger's report, and who may see what."""

from __future__ import annotations

from datetime import datetime

import pandas as pd
from fastapi.testclient import TestClient
from tests.warehouse.offers_data import plant
from tests.web.dashboard_fixtures import dashboard, log_in, log_out

from cxhub.services.offers import triggers
from cxhub.warehouse import Warehouse

__all__ = ["dashboard"]


def test_offer_pages(dashboard: TestClient, warehouse: Warehouse) -> None:
    plant(warehouse, customers=300, decisions=3000)
    triggers.record(warehouse, pd.DataFrame({
        "customer_id": [1, 2], "trigger": "MOVING-HOUSE", "event": "contact M1",
        "event_at": datetime.now(), "control": [False, True], "segment": "family"}))
    runtime = dashboard.app.state.offers  # type: ignore[attr-defined]
    runtime.engine_ready(30)
    runtime.engine.refresh()  # the planted customers, as the server's refresh would read them

    assert log_in(dashboard, "ana").status_code == 303
    page = dashboard.get("/app/offers").text
    assert 'data-offer="SPEED-BOOST-500"' in page and "3,000" in page
    assert 'data-trigger="MOVING-HOUSE"' in page
    report = dashboard.get("/app/offers/SPEED-BOOST-500?by=segment")
    assert report.status_code == 200
    assert 'data-group="family"' in report.text and 'data-group="senior"' in report.text
    assert "points" in report.text
    assert dashboard.get("/app/offers/SPEED-BOOST-500?by=nonsense").status_code == 200
    assert dashboard.get("/app/offers/MOVING-HOUSE").status_code == 200
    assert dashboard.get("/app/offers/NOPE").status_code == 404
    log_out(dashboard)
    assert log_in(dashboard, "aga").status_code == 303  # agents: the queue, not the reports
    assert dashboard.get("/app/offers").status_code == 403
    assert dashboard.get("/app/queue/offers/999999").status_code == 404
