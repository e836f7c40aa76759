"""Who may reach what: every route of the app, from its own route list, against a table of
rules, for no login, each role, a disabled user, an expired session, no key and each scope.

A route with no rule below fails the test: whoever adds a page or an endpoint says who may use
it. Rules: `public` (no login, no key), `login` (any enabled user), `perm:P` (a dashboard user
whose role has permission P, see `cxhub.services.access.users.PERMISSIONS`), `scope:S` (an API key
with scope S; admin keys have every scope).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from tests.web.dashboard_fixtures import PASSWORD, ROLES, csrf_token, dashboard_app, log_in
from tests.web.routes import app_routes

from cxhub.services.access import keys, users
from cxhub.warehouse import Warehouse

pytestmark = pytest.mark.filterwarnings(
    "ignore:fetch_arrow_table\\(\\) is deprecated:DeprecationWarning")

# (methods, path pattern, rule); the first match wins.
RULES: list[tuple[str, str, str]] = [
    ("GET", r"/healthz|/docs|/static/.*|/app/static/.*", "public"),
    ("GET", r"/|/public/.*|/reports/.*", "public"),
    ("GET POST", r"/app/login", "public"),
    ("POST", r"/app/logout", "public"),  # ends whatever session the browser has
    ("GET", r"/app", "login"),  # agents are sent on to their queue
    ("GET", r"/app/api/.*|/app/metrics/.*|/app/alerts", "perm:metrics"),
    # Downloads of a page's table (CSV, Parquet): the rule of the page the table is on.
    ("GET", r"/app/export/(contacts(/.*)?|customers(/.*)?|problems/\{\w+\}/contacts)\.\{fmt\}",
     "perm:contacts"),
    ("GET", r"/app/export/queue\.\{fmt\}", "perm:queue"),
    ("GET", r"/app/export/(alerts|problems(/.*)?|metrics/.*|offers(/.*)?|staffing)\.\{fmt\}",
     "perm:metrics"),
    ("POST", r"/app/alerts/.*", "perm:label"),
    ("GET", r"/app/contacts(/.*)?|/app/customers(/.*)?", "perm:contacts"),
    ("POST", r"/app/contacts/.*", "perm:label"),
    ("GET", r"/app/queue", "perm:queue"),
    ("GET POST", r"/app/users(/.*)?", "perm:users"),
    ("GET POST", r"/app/problems/owners", "perm:users"),  # the ownership map: admins
    ("GET", r"/app/problems/new", "perm:label"),
    ("GET", r"/app/problems(/.*)?", "perm:metrics"),
    ("POST", r"/app/problems(/.*)?", "perm:label"),
    ("GET", r"/app/staffing(/.*)?|/app/forecast(/.*)?", "perm:metrics"),
    ("GET POST", r"/app/offers/manage/.*", "perm:label"),  # changing the catalogue
    ("GET", r"/app/offers(/.*)?", "perm:metrics"),
    ("GET POST", r"/app/queue/offers/.*", "perm:queue"),
    ("POST", r"/api/v1/decisions(/.*)?", "scope:ingest"),
    ("POST PUT", r"/api/v1/(offers|triggers)(/.*)?", "scope:admin"),  # the catalogue
    ("POST", r"/api/v1/(problems|actions)(/.*)?", "scope:admin"),
    ("PUT POST DELETE", r"/api/v1/calendar(/.*)?", "scope:admin"),  # the opening hours
    ("GET", r"/api/v1/(problems|actions)(/.*)?", "scope:read"),
    ("GET POST DELETE", r"/api/v1/keys(/.*)?", "scope:admin"),
    ("POST", r"/api/v1/[a-z-]+", "scope:ingest"),
    ("GET", r"/api/v1/.*", "scope:read"),
]
SKIP = {"/public/live"}  # server-sent events never end; checked as public in test_public_page
KEY_SCOPES = {"none": None, "ingest": ["ingest"], "read": ["read"], "admin": ["admin"]}


def rule_for(method: str, path: str) -> str | None:
    for methods, pattern, rule in RULES:
        if method in methods.split() and re.fullmatch(pattern, path):
            return rule
    return None


def _url(path: str) -> str:
    return re.sub(r"{\w+(?::\w+)?}", "999999", path)


@pytest.fixture
def app_and_tokens(warehouse: Warehouse, tmp_path: Path) -> Iterator[tuple[Any, dict[str, str]]]:
    for name, role in ROLES.items():
        users.create_user(warehouse, username=name, password=PASSWORD, role=role)
    tokens = {name: keys.create_key(warehouse, scopes=scopes)[1]
              for name, scopes in KEY_SCOPES.items() if scopes}
    yield dashboard_app(warehouse, tmp_path), tokens


def _call(client: TestClient, method: str, url: str, **kw: Any) -> Any:
    if method == "POST" and url.startswith("/app"):
        kw.setdefault("data", {"csrf_token": csrf_token(client)})
    elif method == "POST":
        kw.setdefault("json", {})
    return client.request(method, url, follow_redirects=False, **kw)


def _to_login(r: Any) -> bool:
    return r.status_code in (302, 303, 307) and "/app/login" in r.headers.get("location", "") \
        or r.status_code == 401


def test_every_route_has_a_rule(app_and_tokens: tuple[Any, dict[str, str]]) -> None:
    app, _ = app_and_tokens
    missing = [f"{m} {p}" for p, r in app_routes(app.routes) for m in sorted(r.methods)
               if rule_for(m, p) is None]
    assert not missing, "routes without an access rule in this test:\n" + "\n".join(missing)


def test_dashboard_routes_by_role_and_without_login(app_and_tokens: tuple[Any, dict[str, str]],
                                                    warehouse: Warehouse) -> None:
    app, _ = app_and_tokens
    wrong = []
    with TestClient(app, raise_server_exceptions=False) as anonymous:
        for path, route in app_routes(app.routes):
            for method in sorted(route.methods):
                rule = rule_for(method, path)
                if not rule or not rule.startswith(("login", "perm:")) or path in SKIP:
                    continue
                r = _call(anonymous, method, _url(path))
                if not _to_login(r):
                    wrong.append(f"no login: {method} {path} -> {r.status_code}")
    for username, role in ROLES.items():
        with TestClient(app, raise_server_exceptions=False) as client:
            assert log_in(client, username).status_code == 303
            for path, route in app_routes(app.routes):
                for method in sorted(route.methods):
                    rule = rule_for(method, path)
                    if not rule or not rule.startswith("perm:") or path in SKIP:
                        continue
                    allowed = rule[5:] in users.PERMISSIONS[role]
                    r = _call(client, method, _url(path))
                    if r.status_code >= 500 or (r.status_code == 403) == allowed or _to_login(r):
                        wrong.append(f"{role}: {method} {path} -> {r.status_code} "
                                     f"(allowed: {allowed})")
    assert not wrong, "\n".join(wrong)


def test_disabled_users_and_expired_sessions_are_sent_to_log_in(
    app_and_tokens: tuple[Any, dict[str, str]], warehouse: Warehouse
) -> None:
    app, _ = app_and_tokens
    pages = [_url(p) for p, r in app_routes(app.routes)
             if "GET" in r.methods and (rule_for("GET", p) or "").startswith(("login", "perm:"))]
    with TestClient(app, raise_server_exceptions=False) as client:
        assert log_in(client, "ana").status_code == 303
        warehouse.write(lambda con: con.execute(
            "UPDATE user_sessions SET expires_at = ?", [datetime.now() - timedelta(minutes=1)]))
        assert all(_to_login(client.get(u, follow_redirects=False)) for u in pages)
    with TestClient(app, raise_server_exceptions=False) as client:
        assert log_in(client, "ada").status_code == 303
        users.disable_user(warehouse, "ada")
        assert all(_to_login(client.get(u, follow_redirects=False)) for u in pages)


def test_api_paths_by_scope(app_and_tokens: tuple[Any, dict[str, str]]) -> None:
    app, tokens = app_and_tokens
    wrong = []
    with TestClient(app, raise_server_exceptions=False) as client:
        for path, route in app_routes(app.routes):
            for method in sorted(route.methods):
                rule = rule_for(method, path)
                if not rule or not rule.startswith("scope:"):
                    continue
                needed = rule[6:]
                for name in KEY_SCOPES:
                    headers = {"Authorization": f"Bearer {tokens[name]}"} if name in tokens else {}
                    r = _call(client, method, _url(path), headers=headers)
                    expected = (401 if name == "none" else
                                None if name in (needed, "admin") else 403)
                    if r.status_code >= 500 or (expected is None and r.status_code in (401, 403)) \
                            or (expected is not None and r.status_code != expected):
                        wrong.append(f"key {name}: {method} {path} -> {r.status_code} "
                                     f"(expected {expected or 'allowed'})")
    assert not wrong, "\n".join(wrong)


def test_public_routes_need_nothing(app_and_tokens: tuple[Any, dict[str, str]]) -> None:
    app, _ = app_and_tokens
    wrong = []
    with TestClient(app, raise_server_exceptions=False) as anonymous:
        for path, route in app_routes(app.routes):
            if "GET" in route.methods and rule_for("GET", path) == "public" and path not in SKIP:
                r = anonymous.get(_url(path), follow_redirects=False)
                if r.status_code in (401, 403) or r.status_code >= 500 or _to_login(r):
                    wrong.append(f"GET {path} -> {r.status_code}")
    assert not wrong, "\n".join(wrong)
