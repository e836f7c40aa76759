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
    page = client.get("/app/login", headers={"X-Forwarded-Proto": "https"})
    if "cxhub_csrf" not in client.cookies:
        # No proxy is trusted: a claimed HTTPS is not believed either (the cookie stays plain).
        assert "secure" not in _attributes(page, "cxhub_csrf")
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


@pytest.mark.slow
def test_a_trusted_proxys_https_makes_the_cookies_secure(tmp_path: Path) -> None:
    """Behind a TLS-terminating proxy named in CXHUB_TRUSTED_PROXIES, X-Forwarded-Proto: https
    is believed (uvicorn's proxy headers, as `cxhub serve` configures them) and the session
    and CSRF cookies are Secure; the same server's plain-HTTP visitors get plain cookies."""
    with Warehouse.open(tmp_path / "cxhub.duckdb") as wh:
        users.create_user(wh, username="ana", password=PASSWORD, role="admin")
    server = start(tmp_path, env={"CXHUB_TRUSTED_PROXIES": "127.0.0.1"})
    try:
        with httpx.Client(base_url=server.url, timeout=30) as client:
            plain = client.get("/app/login")
        # A browser keeps a Secure cookie for HTTPS (the proxy's side): sent by hand here.
        with httpx.Client(base_url=server.url, timeout=30,
                          headers={"X-Forwarded-Proto": "https"}) as client:
            proxied = client.get("/app/login")
            csrf = _value(proxied, "cxhub_csrf")
            token = re.search(r'name="csrf_token" value="([^"]+)"', proxied.text)
            assert token
            login = client.post("/app/login", data={
                "username": "ana", "password": PASSWORD, "next": "/app",
                "csrf_token": token.group(1)}, follow_redirects=False,
                headers={"Cookie": f"cxhub_csrf={csrf}"})
    finally:
        server.stop()
    assert login.status_code == 303, login.text
    assert "secure" not in _attributes(plain, "cxhub_csrf")
    assert "secure" in _attributes(proxied, "cxhub_csrf")
    assert "secure" in _attributes(login, "cxhub_session")


def _set_cookie(response: httpx.Response, name: str) -> list[str]:
    for header in response.headers.get_list("set-cookie"):
        parts = [part.strip() for part in header.split(";")]
        if parts[0].startswith(f"{name}="):
            return parts
    raise AssertionError(f"no {name} cookie set: {response.headers.get_list('set-cookie')}")


def _value(response: httpx.Response, name: str) -> str:
    return _set_cookie(response, name)[0].split("=", 1)[1]


def _attributes(response: httpx.Response, name: str) -> set[str]:
    return {a.split("=", 1)[0].lower() for a in _set_cookie(response, name)[1:]}
