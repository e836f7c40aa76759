"""The session and CSRF cookies are `Secure` when the dashboard is served over HTTPS (a browser
then never sends them in clear), and not over plain HTTP on loopback, where the demo runs and
a `Secure` cookie would never come back (no login would hold).

The app decides from the request's scheme: HTTPS itself, or `X-Forwarded-Proto` from a proxy
named in `CXHUB_TRUSTED_PROXIES` (the real server's part is in `test_dashboard_proxy.py`).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from tests.web.dashboard_fixtures import add_role_users, dashboard_app, log_in

from cxhub.warehouse import Warehouse

pytestmark = pytest.mark.filterwarnings(
    "ignore:fetch_arrow_table\\(\\) is deprecated:DeprecationWarning")


def cookies_set(response: Any) -> dict[str, set[str]]:
    """Each cookie the response sets, by name, with its attributes (lower case, no values)."""
    found: dict[str, set[str]] = {}
    for header in response.headers.get_list("set-cookie"):
        name, *attributes = (part.strip() for part in header.split(";"))
        found[name.split("=", 1)[0]] = {a.split("=", 1)[0].lower() for a in attributes}
    return found


@pytest.fixture
def app_on(warehouse: Warehouse, tmp_path: Path,
           role_users: list[tuple[Any, ...]]) -> Iterator[Any]:
    add_role_users(warehouse, role_users)
    app = dashboard_app(warehouse, tmp_path)
    with TestClient(app):  # the app's start-up, once
        yield lambda base_url: TestClient(app, base_url=base_url)


def _login_cookies(client: TestClient) -> dict[str, set[str]]:
    form = client.get("/app/login")
    assert form.status_code == 200
    answer = log_in(client, "ana")
    assert answer.status_code == 303, answer.text
    made = {**cookies_set(form), **cookies_set(answer)}
    assert {"cxhub_csrf", "cxhub_session"} <= made.keys(), made
    page = client.get("/app", follow_redirects=False)
    assert page.status_code == 200, "the session cookie did not come back"
    return made


def test_over_https_both_cookies_are_secure(app_on: Any) -> None:
    made = _login_cookies(app_on("https://cx.example.org"))
    for name in ("cxhub_csrf", "cxhub_session"):
        assert {"secure", "httponly"} <= made[name], (name, made[name])
        assert "samesite" in made[name]


def test_over_plain_http_on_loopback_they_are_not(app_on: Any) -> None:
    # Not Secure, or the demo's browser (http://127.0.0.1:8000) would drop them: no login.
    made = _login_cookies(app_on("http://127.0.0.1:8000"))
    for name in ("cxhub_csrf", "cxhub_session"):
        assert "secure" not in made[name], (name, made[name])
        assert "httponly" in made[name]


def test_a_forwarded_proto_header_alone_changes_nothing(app_on: Any) -> None:
    # Without a trusted proxy in front (uvicorn's part, configured by `cxhub serve`), the app
    # sees plain HTTP whatever a client claims.
    client = app_on("http://127.0.0.1:8000")
    client.headers["X-Forwarded-Proto"] = "https"
    made = _login_cookies(client)
    assert "secure" not in made["cxhub_session"]
