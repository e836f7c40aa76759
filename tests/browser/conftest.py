"""A real `cxhub serve` on the demo company, and Debian's chromium driven by Playwright.

The demo company is simulated small (2,000 customers, 60 days ending yesterday) and its
contact-centre files are loaded before the server starts (the server then holds the file).
One chromium serves the whole session; each test gets a fresh page (`page` for the public
page, `dashboard_page` for the dashboard) and a screenshot of it is kept under test-artifacts/.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from tests.web.conftest import Server, create_key, start

from cxhub.services.records.files import ingest_paths
from cxhub.simulate import simulate
from cxhub.warehouse import Warehouse

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
# What the public page shows: the contact centre's own files (contacts, their lifecycle, the
# surveys) and the CRM's person records, whose names and e-mails must never appear.
LOADED = {("contacts", "contact_centre"), ("contact_events", "contact_centre"),
          ("surveys", "contact_centre"), ("source_records", "crm")}


@dataclass
class DemoSite:
    server: Server
    data: Path  # the simulated files
    yesterday: date

    @property
    def url(self) -> str:
        return self.server.url

    def contacts_rows(self) -> list[dict[str, str]]:
        with open(self.data / "contact_centre" / "contacts.csv", newline="") as fh:
            return list(csv.DictReader(fh))

    def people_rows(self) -> list[dict[str, str]]:
        with open(self.data / "crm" / "source_records.csv", newline="") as fh:
            return list(csv.DictReader(fh))


def load_demo(home: Path, data: Path, *, customers: int = 2000, days: int = 60) -> date:
    """Simulate the demo company up to yesterday and load what the public page shows."""
    yesterday = datetime.now(UTC).date() - timedelta(days=1)
    simulate(data, customers=customers, days=days, seed=7,
             start=yesterday - timedelta(days=days - 1))
    with Warehouse.open(home / "cxhub.duckdb") as wh:
        for entry in json.loads((data / "manifest.json").read_text()):
            if (entry["kind"], entry["source"]) in LOADED:
                ingest_paths(wh, "generic", [data / entry["path"]], kind=entry["kind"],
                             source=entry["source"])
    return yesterday


@pytest.fixture(scope="session")
def demo_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoSite]:
    home = tmp_path_factory.mktemp("cxhub-public")
    data = tmp_path_factory.mktemp("demo-files")
    yesterday = load_demo(home, data)
    key = create_key(home, "ingest", "read", name="browser-tests")[1]
    server = start(home, env={"CXHUB_MIN_PUBLIC_COUNT": "10"})
    server.keys = {"ingest_read": key}
    try:
        yield DemoSite(server, data, yesterday)
    finally:
        server.stop()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is a test extra")
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: `make install` installs Debian's chromium")
    with sync_api.sync_playwright() as p:
        launched = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


def _fresh_page(browser: Any, request: pytest.FixtureRequest, *, width: int,
                console_errors: bool) -> Iterator[Any]:
    """A page in a new context (no cookies). JavaScript errors fail the test, and so do the
    console's errors where asked; the last screen is kept as test-artifacts/<test name>.png."""
    context = browser.new_context(viewport={"width": width, "height": 1000})
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    if console_errors:
        tab.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    try:
        yield tab
        assert not errors, f"errors in the browser: {errors}"
    finally:
        ARTIFACTS.mkdir(exist_ok=True)
        name = re.sub(r"[^\w.-]+", "_", request.node.name)
        try:
            tab.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
        finally:
            context.close()


@pytest.fixture
def page(browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    """The public page's tests: JavaScript errors fail them."""
    yield from _fresh_page(browser, request, width=1280, console_errors=False)


@pytest.fixture
def dashboard_page(browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    """The dashboard's tests: a wider screen, and a console error fails them too."""
    yield from _fresh_page(browser, request, width=1360, console_errors=True)
