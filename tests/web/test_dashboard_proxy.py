"""A real `cxhub serve`: X-Forwarded-For is not believed unless its proxy is configured, so a
guesser cannot rotate the address that login throttling counts."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from tests.web.conftest import start

from cxhub.services.access import users
from cxhub.warehouse import Warehouse

PASSWORD = "correct horse battery staple"


def _attempt(client: httpx.Client, password: str, forwarded_for: str) -> httpx.Response:
    page = client.get("/app/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token, "no CSRF field on the login page"
    return client.post("/app/login", data={
        "username": "ana", "password": password, "next": "/app", "csrf_token": token.group(1),
    }, headers={"X-Forwarded-For": forwarded_for}, follow_redirects=False)


@pytest.mark.slow
def test_rotating_x_forwarded_for_does_not_escape_the_throttle(tmp_path: Path) -> None:
    with Warehouse.open(tmp_path / "cxhub.duckdb") as wh:
        users.create_user(wh, username="ana", password=PASSWORD, role="admin")
    server = start(tmp_path)
    try:
        with httpx.Client(base_url=server.url, timeout=30) as client:
            answers = [_attempt(client, "guess", f"198.51.100.{i}").status_code
                       for i in range(6)]
    finally:
        server.stop()
    assert answers[:5] == [401] * 5
    assert answers[5] == 429
