"""Offers on the dashboard: the catalogue page with the triggers on record, an offer's report
by segment, a trigger's report, and who may see what; changing the catalogue on its pages
(the refusal naming the field, the history with the user); a customer's triggers on their
page."""

from __future__ import annotations

from datetime import datetime

import pandas as pd
from fastapi.testclient import TestClient
from tests.warehouse.offers_data import plant
from tests.web.dashboard_fixtures import csrf_token, dashboard, log_in, log_out

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


def test_catalogue_managed_on_the_dashboard(dashboard: TestClient, warehouse: Warehouse) -> None:
    plant(warehouse, customers=40, decisions=0)
    triggers.record(warehouse, pd.DataFrame({
        "customer_id": [3, 4], "trigger": "MOVING-HOUSE", "event": "contact M7",
        "event_at": datetime.now(), "control": [False, True], "segment": "family"}))
    dashboard.app.state.offers.engine_ready(30)  # type: ignore[attr-defined]
    assert log_in(dashboard, "vic").status_code == 303  # viewers read, never change
    assert dashboard.get("/app/offers/manage/offer/new").status_code == 403
    log_out(dashboard)
    assert log_in(dashboard, "ana").status_code == 303
    form = dashboard.get("/app/offers/manage/offer/SPEED-BOOST-500")
    assert form.status_code == 200 and "BB-FIBRE-500" in form.text
    token = csrf_token(dashboard, "/app/offers/manage/offer/new")
    bad = dashboard.post("/app/offers/manage/offer/new", data={
        "csrf_token": token, "entry": "code: X1\nrules: {min_age: 70, max_age: 20}\n"})
    assert bad.status_code == 400 and "rules.min_age" in bad.text
    assert "nobody is eligible" in bad.text
    ok = dashboard.post("/app/offers/manage/offer/new", data={
        "csrf_token": token, "entry": "code: X2\ntitle: Two\nvalue: 9\n"},
        follow_redirects=False)
    assert ok.status_code == 303 and ok.headers["location"].startswith(
        "/app/offers/manage/offer/X2")
    assert dashboard.post("/app/offers/manage/offer/X2/retire",
                          data={"csrf_token": token}).status_code == 200
    page = dashboard.get("/app/offers/manage/offer/X2").text
    assert page.count("user ana") == 2 and "retired" in page
    listing = dashboard.get("/app/offers").text
    assert 'data-offer="X2"' in listing and 'data-offer="X1"' not in listing
    assert 'data-trigger="CONTRACT-ENDING-HAPPY"' in listing  # the catalogue's, saved
    assert warehouse.read_one("SELECT count(*) FROM offer_events")[0] == 2

    customer = dashboard.get("/app/customers/3").text
    assert 'id="customer-triggers"' in customer and 'data-trigger="MOVING-HOUSE"' in customer
    assert "contact M7" in customer
    assert "held out" in dashboard.get("/app/customers/4").text
    assert "In no trigger" in dashboard.get("/app/customers/5").text
