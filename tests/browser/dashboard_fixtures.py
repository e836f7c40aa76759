"""A real `cxhub serve` with a month of hand-made contacts and users made by `cxhub users`. The
browser and its `dashboard_page` are the folder's own (conftest.py): one chromium for both
suites."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from tests.browser.conftest import ARTIFACTS
from tests.web.conftest import Server, start
from tests.web.dashboard_fixtures import add_label, load_contacts

from cxhub.warehouse import Warehouse

PASSWORD = "browser-passphrase"
LAST_DAY = datetime(2024, 5, 31)
CHANNELS = ("phone", "email", "chat", "web")
TEAMS = ("billing", "technical", "sales")
CATEGORIES = ("problem", "complaint", "information", "transaction")


@dataclass
class DashboardSite:
    server: Server
    contacts: list[dict[str, Any]]

    @property
    def url(self) -> str:
        return self.server.url


def month_of_contacts() -> list[dict[str, Any]]:
    """30 days, 3 to 9 contacts a day on four channels, with lifecycles and texts."""
    rows = []
    for day in range(30):
        start = LAST_DAY - timedelta(days=29 - day)
        for i in range(3 + (day * 5) % 7):
            created = start + timedelta(hours=8, minutes=47 * i + day)
            channel = CHANNELS[(day + i) % 4]
            row: dict[str, Any] = {
                "external_id": f"k{day:02d}{i}", "channel": channel, "created_at": created,
                "team": TEAMS[i % 3], "agent": f"agent{i % 4}",
                "subject": f"Question {day}-{i} about my {TEAMS[i % 3]} account",
                "text": f"Hello, this is message {day}-{i}. My bill looks wrong this month."}
            if channel in ("phone", "chat"):
                row |= {"queued_at": created, "wait_seconds": float(5 + 11 * i),
                        "answered_at": created + timedelta(seconds=5 + 11 * i),
                        "talk_seconds": 200.0, "outcome": "answered"}
            else:
                row["first_response_at"] = created + timedelta(hours=2 + i)
            if i % 3 != 2:
                row["resolved_at"] = created + timedelta(hours=5)
            rows.append(row)
    return rows


def create_user(home: Path, name: str, role: str) -> None:
    """`cxhub users create NAME --role ROLE --password-stdin`, as an operator would."""
    proc = subprocess.run(
        [sys.executable, "-m", "cxhub", "users", "create", name, "--role", role,
         "--password-stdin"], input=PASSWORD + "\n", capture_output=True, text=True,
        env={**os.environ, "CXHUB_HOME": str(home)}, timeout=60)
    assert proc.returncode == 0, proc.stderr


@pytest.fixture(scope="module")
def dashboard_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DashboardSite]:
    home = tmp_path_factory.mktemp("cxhub-dashboard")
    rows = month_of_contacts()
    with Warehouse.open(home / "cxhub.duckdb") as wh:
        ids = load_contacts(wh, home / "in", rows, source="helpdesk")
        for n, row in enumerate(rows):
            add_label(wh, ids[row["external_id"]], "category", CATEGORIES[n % 4],
                      at=LAST_DAY + timedelta(days=1), score=0.61)
    create_user(home, "ana", "analyst")
    server = start(home)
    try:
        yield DashboardSite(server, rows)
    finally:
        server.stop()


def shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"dashboard-{name}.png"), full_page=True)
