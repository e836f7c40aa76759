"""The public page in a real browser against a real server on the demo company."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import numpy as np
import pytest
from playwright.sync_api import Page, expect
from tests.browser.conftest import DemoSite
from tests.web.conftest import Server, start
from tests.web.test_privacy_scan import Forbidden, forbidden_from, leaks

from cxhub.services.forecast import hours, run
from cxhub.services.records.files import ingest_paths
from cxhub.warehouse import Warehouse

CHART_DRAWN = "#{} .main-svg"
# A fresh server computes each chart once before caching it; with the catalogue's present
# per-query cost (Ibis compiles each query) a first page takes seconds, not milliseconds.
FIRST_DRAW_MS = 60_000


def _contact(ext: str, channel: str, created: datetime) -> dict[str, Any]:
    return {"source": "pbx-browser", "external_id": ext, "channel": channel,
            "created_at": created.replace(microsecond=0).isoformat()}


def test_a_posted_contact_shows_in_the_live_figures(
        demo_site: DemoSite, page: Page) -> None:
    page.goto(demo_site.url + "/")
    chats = page.locator('#live-cards [data-channel="chat"] [data-figure="arrivals"]')
    # The demo company's data ends yesterday: no chat in the last hour, a small count.
    expect(chats).to_have_text("fewer than 10")
    now = datetime.now(UTC).replace(tzinfo=None)
    twelve = [_contact(f"chat-{i}", "chat", now - timedelta(minutes=20)) for i in range(12)]
    assert demo_site.server.post("/api/v1/contacts", twelve).status_code == 201
    expect(chats).to_have_text("12", timeout=20_000)

    # The live figures are pushed every 2 s; the waits here only bound a busy machine.
    one = _contact("chat-12", "chat", datetime.now(UTC).replace(tzinfo=None))
    assert demo_site.server.post("/api/v1/contacts", one).status_code == 201
    expect(chats).to_have_text("13", timeout=20_000)
    expect(page.locator("#live-status")).to_have_text("Live.")


SPAN_JS = """() => {
  const r = document.getElementById('demand-chart').layout.xaxis.range;
  return (new Date(r[1].replace(' ', 'T')) - new Date(r[0].replace(' ', 'T'))) / 864e5;
}"""


def test_each_range_button_changes_the_demand_chart_range(demo_site: DemoSite,
                                                          page: Page) -> None:
    page.goto(demo_site.url + "/#history")
    page.wait_for_selector("#demand-chart .rangeselector .button", timeout=FIRST_DRAW_MS)
    data_days = 59  # 60 simulated days: from the first day's start to the last day's start
    expected = {"1D": 1, "1W": 7, "1M": (28, 31), "1Y": (365, 366), "All": data_days}
    spans = []
    for label, days in expected.items():
        before = page.evaluate(SPAN_JS)
        page.locator("#demand-chart .rangeselector .button", has_text=label).first.click()
        low, high = days if isinstance(days, tuple) else (days, days)
        page.wait_for_function(
            f"() => {{ const s = ({SPAN_JS})(); return s >= {low} - 0.05 && s <= {high} + 0.05; }}",
            timeout=5000)
        span = page.evaluate(SPAN_JS)
        assert span != before, label
        spans.append(span)
    assert len(set(round(s, 2) for s in spans)) == len(expected)
    # The overlay of last year is drawn with the demand.
    names = page.evaluate("() => document.getElementById('demand-chart').data.map(t => t.name)")
    assert names == ["Contacts", "Same period last year"]


def _published(site: DemoSite) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    url = f"{site.url}/reports/{site.yesterday.isoformat()}.json"
    while True:
        response = httpx.get(url, timeout=10)
        if response.status_code == 200:
            return response.json()  # type: ignore[no-any-return]
        assert time.monotonic() < deadline, "yesterday's report was not published at start-up"
        time.sleep(0.2)


def test_the_report_page_shows_the_frozen_figures(demo_site: DemoSite, page: Page) -> None:
    report = _published(demo_site)
    assert report["revision"] == 1
    day = demo_site.yesterday.isoformat()
    by_hand = sum(1 for r in demo_site.contacts_rows() if r["created_at"].startswith(day))
    assert by_hand >= 10
    total = report["figures"]["sections"]["volume_total"]["rows"][0]
    assert total["value"] == by_hand and total["n"] == by_hand

    page.goto(f"{demo_site.url}/reports/{day}")
    first_value = page.locator('[aria-labelledby="vol"] table').first.locator(
        '[data-figure="value"]').first
    expect(first_value).to_have_text(f"{by_hand:,}")

    # Late data for that day: the published report does not move.
    late = [_contact(f"late-{i}", "phone", datetime.fromisoformat(day) + timedelta(hours=12))
            for i in range(15)]
    assert demo_site.server.post("/api/v1/contacts", late).status_code == 201
    page.reload()
    expect(first_value).to_have_text(f"{by_hand:,}")
    again = httpx.get(f"{demo_site.url}/reports/{day}.json", timeout=10).json()
    assert again == report
    csv_text = httpx.get(f"{demo_site.url}/reports/{day}.csv", timeout=10).text
    assert f"volume_total,contacts,,,,,,,,{by_hand},{by_hand}," in csv_text
    feed = httpx.get(f"{demo_site.url}/reports/feed.atom", timeout=10).text
    assert f"/reports/{day}?revision=1" in feed


def test_the_public_page_passes_the_privacy_scan(demo_site: DemoSite, page: Page) -> None:
    bodies: dict[str, str] = {}

    def keep(response: Any) -> None:
        url = response.url
        if url.startswith(demo_site.url) and "/static/" not in url and response.ok:
            if "/public/live" not in url:  # a stream has no end; its events are in the DOM
                bodies[url] = response.text()

    page.on("response", keep)
    page.goto(demo_site.url + "/")
    for chart in ("demand-chart", "sl-chart", "heat-chart"):
        page.wait_for_selector(CHART_DRAWN.format(chart), timeout=FIRST_DRAW_MS)
    expect(page.locator("#month-window")).to_contain_text("From ", timeout=FIRST_DRAW_MS)
    expect(page.locator("#live-status")).to_have_text("Live.")
    page.wait_for_load_state("networkidle")
    forbidden: Forbidden = forbidden_from(demo_site.data)
    bodies["rendered page"] = page.content()
    assert len(bodies) >= 6, list(bodies)
    found = {url: leaks(body, forbidden) for url, body in bodies.items()}
    assert not {u: f for u, f in found.items() if f}, found
    for url, body in bodies.items():
        if "/public/api/" in url:
            for row in _rows(json.loads(body)):
                assert row.get("n") is None or row["n"] >= 10, (url, row)


def _rows(document: Any) -> list[dict[str, Any]]:
    if isinstance(document, dict):
        found = [document] if "suppressed" in document else []
        return found + [r for v in document.values() for r in _rows(v)]
    if isinstance(document, list):
        return [r for v in document for r in _rows(v)]
    return []


# --- the forecast's expected wait and best time ------------------------------------------------

QUIET = (14, 16)  # the planted quiet hours of every day


def _forecast_company(home: Path, folder: Path) -> None:
    """Three weeks of calls up to yesterday (company clock: London), open round the clock,
    quiet from 14:00 to 16:00; a rota of 3 agents a half hour from last week to next week; a
    forecast made this morning for the next 8 days."""
    rng = np.random.default_rng(11)
    today = datetime.now(ZoneInfo("Europe/London")).date()
    lines = ["source,external_id,channel,created_at,queued_at,answered_at,abandoned_at,"
             "wait_seconds,talk_seconds"]
    for d in range(21, 0, -1):
        day = datetime.combine(today - timedelta(days=d), datetime.min.time())
        for slot in range(48):
            lam = 1.5 if QUIET[0] * 2 <= slot < QUIET[1] * 2 else 6.0
            for i in range(rng.poisson(lam)):
                t = day + timedelta(seconds=slot * 1800 + float(rng.uniform(0, 1800)))
                wait = float(rng.exponential(20))
                end = t + timedelta(seconds=wait)
                answered, abandoned = (end, "") if rng.random() > 0.08 else ("", end)
                lines.append(f"pbx,f{d}-{slot}-{i},phone,{t},{t},{answered},{abandoned},"
                             f"{wait:.0f},{rng.exponential(180):.0f}")
    (folder / "calls.csv").write_text("\n".join(lines) + "\n")
    rota = ["source,external_id,channel,team,starts_at,ends_at,agents"]
    first = datetime.combine(today - timedelta(days=7), datetime.min.time())
    for s in range(16 * 48):
        t = first + timedelta(minutes=30 * s)
        rota.append(f"wfm,r{s},phone,,{t},{t + timedelta(minutes=30)},3")
    (folder / "rota.csv").write_text("\n".join(rota) + "\n")
    days = ", ".join(f"{d}: '00:00-23:59'" for d in ("mon", "tue", "wed", "thu", "fri", "sat",
                                                     "sun"))
    (folder / "hours.yaml").write_text(
        f"timezone: Europe/London\nchannels:\n  phone: {{{days}}}\nholidays: []\n")
    with Warehouse.open(home / "cxhub.duckdb") as wh:
        for name, kind in (("calls.csv", "contacts"), ("rota.csv", "rosters")):
            assert not ingest_paths(wh, "generic", [folder / name], kind=kind).failed
        hours.load_file(wh, folder / "hours.yaml")
        run.run(wh, minutes=30, h_days=8, origin=today, candidates=("profile_mean",))


@pytest.fixture(scope="module")
def forecast_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    home = tmp_path_factory.mktemp("cxhub-forecast")
    _forecast_company(home, tmp_path_factory.mktemp("forecast-files"))
    server = start(home, env={"CXHUB_MIN_PUBLIC_COUNT": "10"})
    try:
        yield server
    finally:
        server.stop()


def test_the_page_shows_the_forecast_wait_and_best_time(forecast_site: Server,
                                                        page: Page) -> None:
    page.goto(forecast_site.url + "/")
    wait = page.locator('#live-cards [data-channel="phone"] [data-figure="expected_wait"]')
    expect(wait).to_have_attribute("data-basis", "forecast", timeout=FIRST_DRAW_MS)
    live = httpx.get(forecast_site.url + "/public/api/live", timeout=30).json()
    phone = next(c for c in live["channels"] if c["channel"] == "phone")
    assert phone["expected_wait"]["basis"] == "forecast"
    # 3 agents for about 6 calls a half hour of 3 minutes: Erlang A says seconds, not minutes.
    assert 0 <= phone["expected_wait"]["value"] < 30
    shown = int(phone["expected_wait"]["value"] + 0.5)  # JavaScript's Math.round
    expect(wait).to_have_text(f"{shown} s")
    expect(page.locator('#live-cards [data-channel="phone"] [data-figure="opening"]')
           ).to_have_text("open now, closes at 23:59")
    expect(page.locator("#live-basis")).to_contain_text("forecast for this half hour")

    ahead = httpx.get(forecast_site.url + "/public/api/outlook", timeout=30).json()
    (pick,) = ahead["recommended"]
    assert (pick["start"], pick["end"]) == (f"{QUIET[0]}:00", f"{QUIET[1]}:00")
    line = page.locator('#best-hint [data-channel="phone"]')
    weekday = datetime.fromisoformat(pick["date"]).strftime("%A")
    expect(line).to_contain_text(f"To call, quietest: {weekday} 14:00-16:00 ({pick['date']}), "
                                 "expected wait under 1 minute", timeout=FIRST_DRAW_MS)
    expect(line).to_contain_text("top of our forecast's 95% range")
    expect(page.locator("#best-basis")).to_contain_text("Forecast for the next 7 days")
