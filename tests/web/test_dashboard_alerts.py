"""The alerts page: spikes found by listening, for everyone who sees metrics; analysts mark
them acknowledged or closed."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from tests.warehouse.listening_data import load_company
from tests.web.dashboard_fixtures import csrf_token, dashboard, log_in, log_out

from cxhub.services.listening import detect as listening
from cxhub.warehouse import Warehouse

__all__ = ["dashboard"]
pytestmark = pytest.mark.filterwarnings(
    "ignore:fetch_arrow_table\\(\\) is deprecated:DeprecationWarning")


def test_alerts_page(dashboard: TestClient, warehouse: Warehouse, tmp_path: Path) -> None:
    assert log_in(dashboard, "ana").status_code == 303
    assert "No alerts" in dashboard.get("/app/alerts").text
    load_company(warehouse, tmp_path / "files")
    found = listening.detect(warehouse).new_alerts
    page = dashboard.get("/app/alerts")
    assert page.status_code == 200
    assert set(map(int, re.findall(r'data-alert="(\d+)"', page.text))) == set(found)
    assert "product" in page.text and "update" in page.text  # the value and a distinctive term
    assert 'href="/app/alerts"' in page.text  # in the navigation

    target = found[0]
    token = csrf_token(dashboard, "/app/alerts")
    r = dashboard.post(f"/app/alerts/{target}/status",
                       data={"status": "closed", "csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303
    closed = dashboard.get("/app/alerts?status=closed").text
    assert re.findall(r'data-alert="(\d+)"', closed) == [str(target)]
    bad = dashboard.post(f"/app/alerts/{target}/status",
                         data={"status": "gone", "csrf_token": token})
    assert bad.status_code == 400

    log_out(dashboard)
    assert log_in(dashboard, "vic").status_code == 303  # viewers see it, without the buttons
    viewer = dashboard.get("/app/alerts")
    assert viewer.status_code == 200 and f"/app/alerts/{target}/status" not in viewer.text
    r = dashboard.post(f"/app/alerts/{target}/status",
                       data={"status": "open", "csrf_token": csrf_token(dashboard, "/app/alerts")})
    assert r.status_code == 403
    log_out(dashboard)
    assert log_in(dashboard, "aga").status_code == 303  # agents see no metrics
    assert dashboard.get("/app/alerts").status_code == 403
