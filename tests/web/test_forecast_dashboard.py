"""The dashboard's staffing page: forecast against actual demand and agents needed against the
roster, with the planted under- and over-staffed half hours marked in the chart data."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from tests.warehouse.forecast_data import ORIGIN, OVER, UNDER, build
from tests.web.dashboard_fixtures import dashboard, log_in

from cxhub.services.forecast import run
from cxhub.warehouse import Warehouse

__all__ = ["dashboard"]
pytestmark = pytest.mark.filterwarnings(
    "ignore:fetch_arrow_table\\(\\) is deprecated:DeprecationWarning")


def test_staffing_page(dashboard: TestClient, warehouse: Warehouse, tmp_path: Path) -> None:
    assert log_in(dashboard, "vic").status_code == 303  # a viewer sees metrics
    empty = dashboard.get("/app/staffing")
    assert empty.status_code == 200 and "cxhub forecast run" in empty.text
    build(warehouse, tmp_path / "files")
    run.run(warehouse, minutes=30, h_days=7, origin=ORIGIN,
            candidates=("seasonal_mean", "profile_mean"))
    page = dashboard.get("/app/staffing?channel=phone")
    assert page.status_code == 200
    assert 'href="/app/staffing"' in page.text and "/app/static/staffing.js" in page.text
    block = re.search(r'id="staffing-data">(.*?)</script>', page.text, re.S)
    assert block
    data = json.loads(block.group(1))
    status = dict(zip(data["x"], data["status"], strict=True))
    assert status[f"{ORIGIN}T{UNDER}"] == "under" and status[f"{ORIGIN}T{OVER}"] == "over"
    # Actuals up to the newest contact (Saturday evening: Sunday is closed), none after it.
    assert len(data["x"]) == 7 * 48 and 5 * 48 < sum(v is not None for v in data["actual"]) < 7 * 48
    under = int(re.search(r'id="under">(\d+)<', page.text).group(1))
    assert under == data["status"].count("under") >= 1
    ahead = int(re.search(r'id="under-ahead">(\d+)<', page.text).group(1))
    assert ahead == sum(s == "under" and a is None
                        for s, a in zip(data["status"], data["actual"], strict=True))
    assert "Gaps in the roster ahead" in page.text
    # Agent-hours needed and scheduled over the same intervals, the rostered ones (half hours).
    rostered = [i for i, s in enumerate(data["scheduled"]) if s is not None]
    needed = int(re.search(r'id="agent-hours">(\d+) needed<', page.text).group(1))
    assert needed == round(sum(data["need"][i] for i in rostered) / 2)
    assert dashboard.get("/app/static/staffing.js").status_code == 200
    assert dashboard.get("/app/staffing?channel=chat").status_code == 200  # no chat forecast
    assert dashboard.get("/app/staffing?channel=x;drop").status_code == 422
