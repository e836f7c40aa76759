"""Problems in a real browser: make a problem from selected contacts, record an action, see
its impact chart (actual, expected, interval) and move the problem on."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect
from tests.browser.dashboard_fixtures import (
    PASSWORD,
    DashboardSite,
    create_user,
    shot,
)
from tests.warehouse.problems_data import plant
from tests.web.conftest import start

from cxhub.warehouse import Warehouse


@pytest.fixture(scope="module")
def problems_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[DashboardSite,
                                                                             str]]:
    home = tmp_path_factory.mktemp("cxhub-problems")
    with Warehouse.open(home / "cxhub.duckdb") as wh:
        day = plant(wh, per_day=60)
    create_user(home, "ana", "analyst")
    server = start(home)
    try:
        yield DashboardSite(server, []), day.isoformat()
    finally:
        server.stop()


def test_problem_from_contacts_action_and_impact(problems_site, dashboard_page: Page) -> None:
    site, day = problems_site
    page = dashboard_page
    page.goto(site.url + "/app/problems")
    page.get_by_label("Username").fill("ana")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_text("No problems yet")).to_be_visible()
    page.get_by_role("link", name="Make a problem from selected contacts").click()
    page.get_by_label("Cause").fill("billing")
    page.get_by_role("button", name="Show the latest contacts").click()
    boxes = page.locator("#pick input[type=checkbox]")
    for i in range(3):
        boxes.nth(i).check()
    page.locator("#problem-title").fill("Billing letters confuse customers")
    page.get_by_role("button", name="Make the problem").click()
    expect(page.locator("h1")).to_have_text("Billing letters confuse customers")
    expect(page.locator("#sample tbody tr")).to_have_count(3)
    expect(page.locator("#volume-chart")).to_have_attribute("data-ready", "1")

    form = page.locator("#action-form")
    form.get_by_label("What was done").fill("Rewrote the billing letter")
    form.get_by_label("Date").fill(day)
    form.get_by_role("button", name="Record the action").click()
    expect(page.locator("#actions")).to_contain_text("Rewrote the billing letter")
    expect(page.locator("#impact-message")).to_contain_text("fewer contacts a week")
    expect(page.locator("#impact-chart")).to_have_attribute("data-ready", "1")
    expect(page.locator("#impact-chart .legendtext")).to_have_count(3)

    state = page.locator("#state-form")
    state.get_by_label("Move to").select_option("acknowledged")
    state.get_by_label("Note").fill("Billing team has it")
    state.get_by_role("button", name="Change the state").click()
    expect(page.locator("#state")).to_have_text("acknowledged")
    expect(page.locator("#history")).to_contain_text("Billing team has it")
    shot(page, "problem_page")
    page.get_by_role("link", name="Problems", exact=True).click()
    expect(page.locator("#problems")).to_contain_text("Billing letters confuse customers")
    expect(page.locator("#problems tbody tr td").nth(4)).to_have_text("3")  # its contacts
