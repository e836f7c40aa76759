"""The customer page: the golden record with the source and rule of each value, found by a
search on name, e-mail or id, and reached from a contact's page."""

from __future__ import annotations

import html
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from tests.warehouse.test_golden_profile import _link_by_hand, _load
from tests.web.dashboard_fixtures import dashboard, load_contacts, log_in, log_out

from cxhub.analytics.identity.settings import IdentitySettings
from cxhub.warehouse import Warehouse

__all__ = ["dashboard"]
pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings(
    "ignore:fetch_arrow_table\\(\\) is deprecated:DeprecationWarning")]


@pytest.fixture
def katherine(warehouse: Warehouse, tmp_path: Path) -> dict[str, int]:
    _load(warehouse, tmp_path)
    ids = load_contacts(warehouse, tmp_path / "contacts", [
        {"external_id": "k1", "channel": "email", "created_at": "2024-03-04 09:00:00",
         "subject": "Router blinks red", "customer_source": "billing",
         "customer_external_id": "B1"},
    ])
    _link_by_hand(warehouse, IdentitySettings())
    return ids


def test_search_and_page_show_the_golden_record_with_sources(
        dashboard: TestClient, katherine: dict[str, int]) -> None:
    assert log_in(dashboard, "aga").status_code == 303
    for query in ("smith", "kate@newest", "1"):
        found = dashboard.get("/app/customers", params={"q": query})
        assert found.status_code == 200
        assert 'href="/app/customers/1"' in found.text, query
        assert 'href="/app/customers/2"' not in found.text, query
    assert "No customer matches" in dashboard.get("/app/customers?q=nobody").text

    page = dashboard.get("/app/customers/1")
    assert page.status_code == 200
    text = html.unescape(page.text)
    for value, source in (("Katherine", "crm · C1"), ("kate@newest.example", "marketing · M1"),
                          ("0222 222222", "billing · B1"), ("1980-01-01", "crm · C1")):
        row = text[text.index(f"<td>{value}</td>"):][:200]
        assert source in row, (value, row)
    # The address comes whole from the most trusted source that has one (the CRM).
    assert "1 Old Road, Oldtown, OT1 1AA" in text
    assert "Router blinks red" in text  # the contact reached through billing's key
    assert f'href="/app/contacts/{katherine["k1"]}"' in text
    contact = dashboard.get(f"/app/contacts/{katherine['k1']}").text
    assert 'href="/app/customers/1"' in contact
    assert dashboard.get("/app/customers/99").status_code == 404


def test_customer_pages_need_a_login(dashboard: TestClient, katherine: dict[str, int]) -> None:
    log_out(dashboard)
    response = dashboard.get("/app/customers/1", follow_redirects=False)
    assert response.status_code in (302, 303, 401)
    assert "Katherine" not in response.text
