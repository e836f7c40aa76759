"""Every GET route of the app, public, dashboard and API, with malformed, huge, negative and
injection-like parameters: a 4xx with a message or a page, never a 5xx.

The routes come from the app itself, so a new route is probed without editing this test.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from tests.web.dashboard_fixtures import (
    PASSWORD,
    dashboard_app,
    load_contacts,
    log_in,
)
from tests.web.routes import app_routes

from cxhub.services.access import keys, users
from cxhub.warehouse import Warehouse

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings(
    "ignore:fetch_arrow_table\\(\\) is deprecated:DeprecationWarning")]

ODD_VALUES = (
    "0001-01-01", "9999-12-31", "not-a-date", "-1", "99999999999999999999", "a|x|1",
    "' OR 1=1 --", "<script>alert(1)</script>", "=HYPERLINK(\"x\")", "x" * 5000, "",
)
ODD_PATH_VALUES = ("1", "0", "-1", "999999999999", "x", "2025-01-01", "9999-12-31", "..%2F..")
STREAMS = {"/public/live"}  # server-sent events: they never end by themselves


def _query_names(route: APIRoute) -> list[str]:
    names = [p.alias for p in route.dependant.query_params]
    for dep in route.dependant.dependencies:
        names += [p.alias for p in dep.query_params]
    return names


@pytest.fixture
def probe(warehouse: Warehouse, tmp_path: Path) -> Iterator[TestClient]:
    # Data over decades, as a warehouse holding a 1999 call-centre log and today's contacts.
    now = datetime.now().replace(microsecond=0)
    rows = [{"external_id": f"old{i}", "channel": "phone", "created_at": datetime(1999, 2, 1 + i)}
            for i in range(3)]
    rows += [{"external_id": f"new{i}", "channel": "email",
              "created_at": now - timedelta(hours=i)} for i in range(3)]
    load_contacts(warehouse, tmp_path / "in", rows)
    users.create_user(warehouse, username="ada", password=PASSWORD, role="admin")
    _, token = keys.create_key(warehouse, scopes=["admin"])
    app = dashboard_app(warehouse, tmp_path)
    with TestClient(app, raise_server_exceptions=False,
                    headers={"Authorization": f"Bearer {token}"}) as client:
        assert log_in(client, "ada").status_code == 303
        yield client


def test_no_get_route_answers_5xx_to_odd_parameters(probe: TestClient) -> None:
    failures = []
    routes = [(p, r) for p, r in app_routes(probe.app.routes)  # type: ignore[attr-defined]
              if "GET" in r.methods and p not in STREAMS]
    assert len(routes) > 20
    for path, route in routes:
        params = re.findall(r"{(\w+)(?::\w+)?}", path)
        paths = [path] if not params else [
            re.sub(r"{\w+(?::\w+)?}", value, path) for value in ODD_PATH_VALUES]
        for url in paths:
            queries: list[dict[str, str]] = [{}]
            queries += [{name: value} for name in _query_names(route) for value in ODD_VALUES]
            for query in queries:
                r = probe.get(url, params=query)
                if r.status_code >= 500:
                    failures.append(f"{url} {query} -> {r.status_code}")
    assert not failures, "\n".join(failures[:40])
