"""The dashboard in a real browser: log in, open a metric, click a figure, land on the contacts
behind it, open one, label it."""

from __future__ import annotations

import csv
import json
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pyarrow.parquet as pq
from playwright.sync_api import Page, expect
from tests.browser.dashboard_fixtures import (
    PASSWORD,
    DashboardSite,
    dashboard_site,
    shot,
)

__all__ = ["dashboard_site"]


def _log_in(page: Page, site: DashboardSite, path: str = "/app") -> None:
    page.goto(site.url + path)
    expect(page).to_have_url(f"{site.url}/app/login?next={path}")
    page.get_by_label("Username").fill("ana")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()


def _created_in(site: DashboardSite, start: datetime, end: datetime) -> set[str]:
    return {r["external_id"] for r in site.contacts if start <= r["created_at"] < end}


def test_from_a_chart_point_to_a_contact_and_its_label(dashboard_site: DashboardSite,
                                                       dashboard_page: Page) -> None:
    page, site = dashboard_page, dashboard_site
    _log_in(page, site)
    expect(page).to_have_url(site.url + "/app")
    card = page.locator("article.card", has=page.get_by_role("link", name="Contacts",
                                                             exact=True))
    expect(card).to_have_attribute("data-loaded", "1", timeout=15000)
    # The overview covers the 28 days up to the newest contact (31 May).
    expect(card.locator(".figure")).to_have_text(
        f"{len(_created_in(site, datetime(2024, 5, 4), datetime(2024, 6, 1))):,}")
    shot(page, "1-overview")

    card.get_by_role("link", name="Contacts", exact=True).click()
    expect(page.locator("h1")).to_have_text("Contacts")
    chart = page.locator("#chart")
    expect(chart).to_have_attribute("data-ready", "1", timeout=15000)
    shot(page, "2-metric")

    # Click the tallest bar of the daily chart where a person would (plotly's drag layer takes
    # the mouse and finds the bar under it); the click leads to the contacts behind the bar.
    data: dict[str, Any] = json.loads(page.locator("#chart-data").text_content() or "{}")
    trace = data["traces"][0]
    tallest = max(range(len(trace["y"])), key=lambda i: (trace["y"][i] or 0, i))
    bars = chart.locator(".bars .point")
    expect(bars).to_have_count(len(trace["y"]))
    box = bars.nth(tallest).bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] * 0.6)
    page.wait_for_url("**/app/contacts?**")
    query = {k: v[0] for k, v in parse_qs(urlsplit(page.url).query).items()}
    assert query["metric"] == "contacts"
    start, end = datetime.fromisoformat(query["start"]), datetime.fromisoformat(query["end"])
    assert start == datetime.fromisoformat(trace["x"][tallest]) and (end - start).days == 1
    behind = _created_in(site, start, end)
    assert len(behind) == trace["y"][tallest]
    expect(page.locator("#total")).to_have_text(str(len(behind)))
    rows = page.locator("tr[data-external-id]")
    expect(rows).to_have_count(len(behind))
    assert {rows.nth(i).get_attribute("data-external-id") for i in range(len(behind))} == behind
    shot(page, "3-contacts-behind")

    first = rows.first
    external_id = first.get_attribute("data-external-id")
    first.get_by_role("link").first.click()
    expect(page.locator(".chip", has_text="source")).to_contain_text(f"helpdesk · {external_id}")
    expect(page.locator("blockquote.message")).to_contain_text("My bill looks wrong")
    expect(page.locator("ol.timeline li").first).to_contain_text("created")
    model_label = page.locator("table.labels tr.model")
    expect(model_label).to_contain_text("tfidf · 1")
    shot(page, "4-contact")

    page.get_by_label("Category").select_option("compliment")
    page.get_by_role("button", name="Save my label").click()
    expect(page.locator("p.ok")).to_contain_text("Saved your label (category)")
    expect(page.locator("#best-category")).to_have_text("compliment")
    expect(page.locator("table.labels tr.human")).to_contain_text("person ana")
    expect(model_label).to_contain_text("tfidf · 1")  # the model's guess stays on record
    shot(page, "5-labelled")


def test_logging_out_closes_the_dashboard(dashboard_site: DashboardSite,
                                          dashboard_page: Page) -> None:
    page, site = dashboard_page, dashboard_site
    _log_in(page, site, "/app/contacts")
    expect(page).to_have_url(site.url + "/app/contacts")
    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(site.url + "/app/login")
    page.goto(site.url + "/app/contacts")
    expect(page).to_have_url(f"{site.url}/app/login?next=/app/contacts")


def test_download_the_whole_contact_list(dashboard_site: DashboardSite, dashboard_page: Page,
                                         tmp_path: Path) -> None:
    """The list's CSV and Parquet links give every contact it counts, not the page on screen."""
    page, site = dashboard_page, dashboard_site
    _log_in(page, site, "/app/contacts")
    page.goto(site.url + "/app/contacts?team=billing")
    billing = [r for r in site.contacts if r["team"] == "billing"]
    expect(page.locator("#total")).to_have_text(f"{len(billing):,}")
    assert len(billing) > page.locator("tr[data-contact]").count() == 50

    with page.expect_download() as got:
        page.get_by_role("link", name="CSV").click()
    assert got.value.suggested_filename == "contacts.csv"
    got.value.save_as(tmp_path / "contacts.csv")
    with (tmp_path / "contacts.csv").open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert sorted(r["external_id"] for r in rows) == sorted(r["external_id"] for r in billing)

    with page.expect_download() as got:
        page.get_by_role("link", name="Parquet").click()
    got.value.save_as(tmp_path / "contacts.parquet")
    table = pq.read_table(tmp_path / "contacts.parquet")
    assert table.column("external_id").to_pylist() == [r["external_id"] for r in rows]
