"""The next best action in the agent's queue, in a real browser: the offer for the contact
being handled with its reasons, accepted with a click, recorded in the warehouse; the offer's
report page for an analyst."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from playwright.sync_api import Page, expect
from tests.browser.dashboard_fixtures import (
    PASSWORD,
    DashboardSite,
    create_user,
    shot,
)
from tests.warehouse.offers_data import plant
from tests.web.conftest import start

from cxhub.analytics.offers.policy import in_control
from cxhub.warehouse import Warehouse

OFFER = "SPEED-BOOST-500"


@pytest.fixture(scope="module")
def offers_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[DashboardSite, int]]:
    home = tmp_path_factory.mktemp("cxhub-offers")
    # A family (id divisible by 3) outside the offer's control group is on the phone.
    cid = next(c for c in range(3, 3000, 3) if not in_control(str(c), OFFER, 0.10)
               and not in_control(str(c), "MOBILE-SIM-ADD", 0.10))
    with Warehouse.open(home / "cxhub.duckdb") as wh:
        plant(wh, customers=600, decisions=6000)
        wh.write(lambda con: con.execute(
            "INSERT INTO contacts (contact_id, source, external_id, customer_source, "
            "customer_external_id, channel, created_at, answered_at, category, cause, agent, "
            "subject) VALUES (9001, 'contact_centre', 'Q1', 'crm', ?, 'phone', ?, ?, "
            "'information', 'product', 'amy', 'Is faster broadband available here?')",
            [f"C{cid}", datetime.now() - timedelta(minutes=3),
             datetime.now() - timedelta(minutes=2)]))
    create_user(home, "amy", "agent")
    create_user(home, "ana", "analyst")
    server = start(home)
    try:
        yield DashboardSite(server, []), cid
    finally:
        server.stop()


def _log_in(page: Page, url: str, user: str) -> None:
    page.goto(url)
    page.get_by_label("Username").fill(user)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()


def test_agent_sees_and_accepts_the_offer(offers_site, dashboard_page: Page) -> None:
    site, cid = offers_site
    page = dashboard_page
    _log_in(page, site.url + "/app/queue", "amy")
    panel = page.locator("#nba")
    expect(panel.get_by_text("Next best action")).to_be_visible()
    action = panel.locator(f'.nba-action[data-code="{OFFER}"]')
    expect(action).to_be_visible(timeout=30_000)
    expect(action).to_contain_text("expected uplift")
    shot(page, "offers-queue")
    action.get_by_role("button", name="Accepted").click()
    expect(page.locator("#nba-saved")).to_contain_text(f"{OFFER} accepted")
    expect(panel.locator(f'.nba-action[data-code="{OFFER}"]')).to_contain_text("accepted")

    site.server.stop()
    with Warehouse.open(site.server.home / "cxhub.duckdb") as wh:
        row = wh.read_one("SELECT outcome, control, customer_external_id FROM offer_decisions "
                          "WHERE source = 'cxhub-nba' AND offer_code = ?", [OFFER])
    assert row == ("accepted", False, f"C{cid}")


def test_analyst_reads_the_offer_report(tmp_path_factory, dashboard_page: Page) -> None:
    home = tmp_path_factory.mktemp("cxhub-offers-report")
    with Warehouse.open(home / "cxhub.duckdb") as wh:
        plant(wh, customers=600, decisions=6000)
    create_user(home, "ana", "analyst")
    server = start(home)
    try:
        page = dashboard_page
        _log_in(page, server.url + "/app/offers", "ana")
        row = page.locator(f'#offers tr[data-offer="{OFFER}"]')
        expect(row).to_contain_text("6,000")
        row.get_by_role("link", name=OFFER).click()
        expect(page.locator("#offer-effect")).to_contain_text("points")
        family = page.locator('#offer-groups tr[data-group="family"]')
        expect(family).to_be_visible()
        shot(page, "offers-report")
    finally:
        server.stop()
