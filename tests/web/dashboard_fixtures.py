"""Helpers for the dashboard tests: users, hand-made contacts loaded like any file, logging in.

Contacts go in through `ingest_paths` (the generic CSV format), as a company's own export
would; labels are written the way the classifier writes them, one row per label.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from cxhub.services.access import users
from cxhub.services.records.files import ingest_paths
from cxhub.settings import Settings
from cxhub.warehouse import Warehouse
from cxhub.web.app import create_app
from cxhub.web.dashboard.pages import serves

PASSWORD = "a-long-passphrase"
ROLES = {"ada": "admin", "ana": "analyst", "aga": "agent", "vic": "viewer"}


def load_records(wh: Warehouse, folder: Path, kind: str, rows: list[dict[str, Any]],
                 source: str = "hand") -> dict[str, int]:
    """Load `rows` (canonical fields of `kind`) as a CSV file; ids by external id."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{kind}-{len(list(folder.glob('*.csv')))}.csv"
    columns = sorted({k for r in rows for k in r})
    with path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, columns)
        writer.writeheader()
        for r in rows:
            writer.writerow({k: _csv(v) for k, v in r.items()})
    report = ingest_paths(wh, "generic", [path], kind=kind, source=source)
    assert not report.failed and report.totals["quarantined"] == 0, report.to_dict()
    id_column = {"contacts": "contact_id", "surveys": "survey_id"}[kind]
    ids = wh.read(f"SELECT external_id, {id_column} FROM {kind} WHERE source = ?", [source])
    return {e: i for e, i in ids}


def load_contacts(wh: Warehouse, folder: Path, rows: list[dict[str, Any]],
                  source: str = "hand") -> dict[str, int]:
    return load_records(wh, folder, "contacts", rows, source)


def _csv(value: Any) -> Any:
    return value.isoformat(sep=" ") if isinstance(value, datetime) else value


def add_label(wh: Warehouse, contact_id: int, dimension: str, label: str, *,
              at: datetime, human: bool = False, by: str | None = None,
              model: str = "tfidf", version: str = "1", score: float = 0.7) -> None:
    wh.write(lambda con: con.execute(
        "INSERT INTO labels (target, target_id, dimension, label, score, model, model_version, "
        "is_human, labelled_by, labelled_at) VALUES ('contacts', ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [contact_id, dimension, label, score, "human" if human else model,
         None if human else version, human, by, at]))


def dashboard_app(wh: Warehouse, home: Path) -> FastAPI:
    app = create_app(Settings(home=home), warehouse=wh)
    if not serves(app, "/app/login"):
        pytest.fail("create_app does not serve the dashboard: add "
                    "`dashboard.install(app, settings)` to cxhub/web/app.py")
    return app


def role_user_rows(folder: Path) -> list[tuple[Any, ...]]:
    """The `users` rows of one user per role, as `users.create_user` writes them (for the
    session fixture `role_users` in conftest.py)."""
    with Warehouse.open(folder / "cxhub.duckdb") as wh:
        for name, role in ROLES.items():
            users.create_user(wh, username=name, password=PASSWORD, role=role)
        return wh.read("SELECT * FROM users ORDER BY user_id")


def add_role_users(wh: Warehouse, rows: list[tuple[Any, ...]]) -> None:
    """Put those users in `wh` as they were made (same hashes)."""
    marks = ", ".join("?" * len(rows[0]))
    wh.write(lambda con: con.executemany(f"INSERT INTO users VALUES ({marks})", rows))


@pytest.fixture
def dashboard(warehouse: Warehouse, tmp_path: Path,
              role_users: list[tuple[Any, ...]]) -> Iterator[TestClient]:
    """A client of the app on this test's warehouse, with one user per role."""
    add_role_users(warehouse, role_users)
    with TestClient(dashboard_app(warehouse, tmp_path)) as client:
        yield client


def csrf_token(client: TestClient, page: str = "/app/login") -> str:
    """The form token as a browser gets it: from a page's hidden field (the cookie matches)."""
    found = re.search(r'name="csrf_token" value="([^"]+)"', client.get(page).text)
    assert found, f"no CSRF field on {page}"
    return found.group(1)


def log_in(client: TestClient, username: str, password: str = PASSWORD,
           next_url: str = "/app") -> httpx.Response:
    return client.post("/app/login", data={"username": username, "password": password,
                                           "next": next_url, "csrf_token": csrf_token(client)},
                       follow_redirects=False)


def log_out(client: TestClient) -> None:
    """Forget the session cookie (a new browser), keeping the CSRF cookie."""
    client.cookies.delete("cxhub_session", path="/app")
