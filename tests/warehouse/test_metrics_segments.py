"""Every customer segment is a dimension of every metric (issue 10, item 9).

Three customers with their segments (customer_segments), linked to their records in the CRM
(customer_links); contacts, survey answers and holdings of each; one contact from a customer
nobody linked. Each figure below is counted by hand from these rows.
"""

from __future__ import annotations

import pytest
from tests.warehouse import test_metrics_hand as hand
from tests.warehouse.test_metrics_hand import Metric, by, contacts, insert

from cxhub.warehouse import Warehouse

pytestmark = pytest.mark.filterwarnings(
    "ignore:fetch_arrow_table\\(\\) is deprecated:DeprecationWarning")

# DuckDB here; the ready-made tables' and Spark's modules run these tests again.
metric = hand.metric

# customer: (value band, persona, portfolio quadrant, RFM segment)
CUSTOMERS = {
    1: ("top value", "bargain hunter", "grow", "champions"),
    2: ("low value", "bargain hunter", "maintain", "at risk"),
    3: ("low value", "techie", "grow", "champions"),
}


def _company(wh: Warehouse) -> None:
    insert(wh, "customer_links", "source, external_id, customer_id, run_id",
           [("crm", f"K{i}", i, 1) for i in CUSTOMERS])
    insert(wh, "customer_segments",
           "customer_id, segment, persona, portfolio, rfm_segment, computed_at",
           [(i, *seg, "2024-03-01 00:00:00") for i, seg in CUSTOMERS.items()])
    contacts(wh, "channel, created_at, customer_source, customer_external_id", [
        ("phone", "2024-03-04 09:00:00", "crm", "K1"),
        ("phone", "2024-03-05 09:00:00", "crm", "K1"),
        ("email", "2024-03-05 10:00:00", "crm", "K2"),
        ("chat", "2024-03-06 11:00:00", "crm", "K3"),
        ("chat", "2024-03-06 12:00:00", "crm", "K404"),  # nobody linked this one
    ])
    insert(wh, "surveys", "survey_type, score, answered_at, customer_source, "
                          "customer_external_id", [
        ("csat", 5, "2024-03-04 10:00:00", "crm", "K1"),
        ("csat", 4, "2024-03-05 10:00:00", "crm", "K1"),
        ("csat", 2, "2024-03-05 11:00:00", "crm", "K2"),
        ("csat", 3, "2024-03-06 12:00:00", "crm", "K3"),
        ("csat", 5, "2024-03-07 12:00:00", "crm", "K3"),
    ], key="survey_id")
    insert(wh, "holdings", "customer_source, customer_external_id, product, started_at", [
        ("crm", f"K{i}", "broadband", "2023-01-01 00:00:00") for i in CUSTOMERS],
        key="holding_id")


def test_contacts_by_persona_portfolio_and_rfm_segment(warehouse: Warehouse,
                                                       metric: Metric) -> None:
    _company(warehouse)
    assert by(metric("contacts", by="persona"), "persona") == {
        "bargain hunter": 2 + 1, "techie": 1, None: 1}
    assert by(metric("contacts", by="portfolio"), "portfolio") == {
        "grow": 2 + 1, "maintain": 1, None: 1}
    assert by(metric("contacts", by="rfm_segment"), "rfm_segment") == {
        "champions": 3, "at risk": 1, None: 1}
    assert by(metric("contacts", by="segment"), "segment") == {
        "top value": 2, "low value": 2, None: 1}
    # Two segments at once, and a filter on a third.
    assert by(metric("contacts", by="persona,portfolio"), "persona", "portfolio") == {
        ("bargain hunter", "grow"): 2, ("bargain hunter", "maintain"): 1,
        ("techie", "grow"): 1, (None, None): 1}
    assert by(metric("contacts", by="persona", filters={"rfm_segment": "champions"}),
              "persona") == {"bargain hunter": 2, "techie": 1}


def test_csat_by_persona(warehouse: Warehouse, metric: Metric) -> None:
    _company(warehouse)
    # bargain hunters answered 5, 4 and 2 (two of three top-two-box); the techie 3 and 5.
    assert by(metric("csat", by="persona"), "persona") == {
        "bargain hunter": pytest.approx(2 / 3), "techie": pytest.approx(1 / 2)}
    assert metric("csat", filters={"portfolio": "grow"})[0]["value"] == pytest.approx(3 / 4)
    days = metric("csat", by="day,rfm_segment")
    assert by([r for r in days if r["period"].startswith("2024-03-05")], "rfm_segment") == {
        "champions": 1.0, "at risk": 0.0}


def test_contact_rate_by_persona_counts_the_persona_s_customers(warehouse: Warehouse,
                                                                 metric: Metric) -> None:
    _company(warehouse)
    rates = by(metric("contact_rate", by="persona"), "persona")
    # bargain hunters: 3 contacts from 2 active customers; the techie: 1 from 1
    assert rates["bargain hunter"] == pytest.approx(3 / 2 * 1000)
    assert rates["techie"] == pytest.approx(1 / 1 * 1000)
    grow = metric("contact_rate", filters={"portfolio": "grow"})[0]["value"]
    assert grow == pytest.approx(3 / 2 * 1000)  # customers 1 and 3: 2 + 1 contacts


def test_backlog_by_rfm_segment(warehouse: Warehouse, metric: Metric) -> None:
    _company(warehouse)  # nothing resolved: every contact is open at the end of the week
    assert by(metric("backlog", by="rfm_segment"), "rfm_segment") == {
        "champions": 3, "at risk": 1, None: 1}
