"""Logging in to the dashboard: sessions, roles, CSRF, expiry, disabled users, password guessing."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from tests.web.dashboard_fixtures import (
    PASSWORD,
    csrf_token,
    dashboard,
    load_contacts,
    log_in,
    log_out,
)

from cxhub.cli import users_cmd
from cxhub.services.access import users
from cxhub.warehouse import Warehouse

__all__ = ["dashboard"]  # the fixture, imported for pytest
# Ibis 12 still calls DuckDB 2.0's deprecated fetch_arrow_table(); harmless, and not ours.
pytestmark = pytest.mark.filterwarnings(
    "ignore:fetch_arrow_table\\(\\) is deprecated:DeprecationWarning")

SECRET_TEXT = "my account number is 12345678 and I am furious"


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def test_pages_need_a_login_and_send_you_back_after_it(dashboard: TestClient) -> None:
    r = dashboard.get("/app/metrics/contacts?by=channel", follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == "/app/login?next=/app/metrics/contacts%3Fby%3Dchannel"
    r = log_in(dashboard, "ana", next_url="/app/metrics/contacts?by=channel")
    assert r.status_code == 303
    assert r.headers["location"] == "/app/metrics/contacts?by=channel"


def test_login_sets_an_httponly_lax_cookie_and_stores_only_its_hash(
        dashboard: TestClient, warehouse: Warehouse) -> None:
    r = log_in(dashboard, "ana")
    cookie = next(c for c in r.headers.get_list("set-cookie") if c.startswith("cxhub_session="))
    assert "httponly" in cookie.lower() and "samesite=lax" in cookie.lower()
    token = cookie.split(";")[0].split("=", 1)[1]
    stored = warehouse.read("SELECT session_hash, expires_at FROM user_sessions")
    assert [h for h, _ in stored] == [hashlib.sha256(token.encode()).hexdigest()]
    assert timedelta(hours=11) < stored[0][1] - _now() <= timedelta(hours=12)
    page = dashboard.get("/app")
    assert page.status_code == 200 and "ana" in page.text


def test_logout_ends_the_session_on_the_server(dashboard: TestClient,
                                               warehouse: Warehouse) -> None:
    log_in(dashboard, "ana")
    token = dashboard.cookies.get("cxhub_session")
    r = dashboard.post("/app/logout", data={"csrf_token": csrf_token(dashboard, "/app")},
                       follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/app/login"
    assert warehouse.read("SELECT count(*) FROM user_sessions") == [(0,)]
    # A copy of the old cookie (say, stolen before the logout) opens nothing any more.
    dashboard.cookies.set("cxhub_session", token, path="/app")
    assert dashboard.get("/app", follow_redirects=False).status_code == 303


def test_wrong_password_and_unknown_user_get_the_same_answer(dashboard: TestClient,
                                                             warehouse: Warehouse) -> None:
    wrong = log_in(dashboard, "ana", "not-the-password")
    unknown = log_in(dashboard, "nobody", PASSWORD)
    for r in (wrong, unknown):
        assert r.status_code == 401
        assert "Wrong username or password." in r.text
        assert "cxhub_session" not in r.headers.get("set-cookie", "")
    assert warehouse.read("SELECT count(*) FROM user_sessions") == [(0,)]


def test_a_disabled_user_cannot_log_in_and_loses_open_sessions(dashboard: TestClient,
                                                              warehouse: Warehouse) -> None:
    assert log_in(dashboard, "aga").status_code == 303
    assert dashboard.get("/app/queue").status_code == 200
    assert users.disable_user(warehouse, "aga")
    assert dashboard.get("/app/queue", follow_redirects=False).status_code == 303
    log_out(dashboard)
    assert log_in(dashboard, "aga").status_code == 401


def test_viewers_see_figures_but_never_a_contact(dashboard: TestClient, warehouse: Warehouse,
                                                 tmp_path: Path) -> None:
    ids = load_contacts(warehouse, tmp_path / "in", [
        {"external_id": "c1", "channel": "email", "created_at": datetime(2024, 3, 4, 9),
         "text": SECRET_TEXT, "agent": "aga", "team": "billing"}])
    assert log_in(dashboard, "vic").status_code == 303
    page = dashboard.get("/app/metrics/contacts?start=2024-03-01&end=2024-03-31&by=channel")
    assert page.status_code == 200
    assert "/app/contacts" not in page.text  # no drill-down links for a viewer
    headline = dashboard.get("/app/api/headline?metric=contacts&start=2024-03-01&end=2024-03-31")
    assert headline.json()["text"] == "1" and headline.json()["url"] is None
    for path in ("/app/contacts", f"/app/contacts/{ids['c1']}", "/app/queue", "/app/users"):
        r = dashboard.get(path)
        assert r.status_code == 403, path
        assert SECRET_TEXT not in r.text
    log_out(dashboard)
    log_in(dashboard, "ana")
    assert SECRET_TEXT in dashboard.get(f"/app/contacts/{ids['c1']}").text


def test_agents_see_contacts_and_their_own_queue_but_no_metrics(
        dashboard: TestClient, warehouse: Warehouse, tmp_path: Path) -> None:
    t = datetime(2024, 3, 4, 9)
    load_contacts(warehouse, tmp_path / "in", [
        {"external_id": "mine-open", "channel": "email", "created_at": t, "agent": "aga",
         "subject": "mine and open"},
        {"external_id": "mine-done", "channel": "email", "created_at": t, "agent": "aga",
         "resolved_at": t + timedelta(hours=1), "subject": "mine and resolved"},
        {"external_id": "other", "channel": "email", "created_at": t, "agent": "bob",
         "subject": "somebody else's"}])
    log_in(dashboard, "aga")
    queue = dashboard.get("/app/queue").text
    assert "mine and open" in queue
    assert "mine and resolved" not in queue and "somebody else" not in queue
    assert dashboard.get("/app/contacts").status_code == 200
    assert dashboard.get("/app/metrics/contacts").status_code == 403
    home = dashboard.get("/app", follow_redirects=False)
    assert home.status_code == 303 and home.headers["location"] == "/app/queue"


def test_only_admins_manage_users(dashboard: TestClient, warehouse: Warehouse) -> None:
    log_in(dashboard, "ana")
    assert dashboard.get("/app/users").status_code == 403
    token = csrf_token(dashboard, "/app")
    r = dashboard.post("/app/users", data={"csrf_token": token, "username": "eve",
                                            "role": "admin", "password": PASSWORD})
    assert r.status_code == 403 and users.get_user(warehouse, "eve") is None
    log_out(dashboard)
    log_in(dashboard, "ada")
    r = dashboard.post("/app/users", data={"csrf_token": csrf_token(dashboard, "/app/users"),
                                            "username": "eve", "role": "viewer",
                                            "password": PASSWORD})
    assert r.status_code == 200 and "User eve created (viewer)." in r.text
    assert users.get_user(warehouse, "eve").role == "viewer"  # type: ignore[union-attr]
    r = dashboard.post("/app/users/ada/disable",
                       data={"csrf_token": csrf_token(dashboard, "/app/users")})
    assert r.status_code == 400  # nobody locks themselves out
    assert not users.get_user(warehouse, "ada").disabled  # type: ignore[union-attr]


def test_forms_without_the_csrf_token_are_refused(dashboard: TestClient, warehouse: Warehouse,
                                                  tmp_path: Path) -> None:
    r = dashboard.post("/app/login", data={"username": "ana", "password": PASSWORD})
    assert r.status_code == 403
    assert warehouse.read("SELECT count(*) FROM user_sessions") == [(0,)]
    ids = load_contacts(warehouse, tmp_path / "in", [
        {"external_id": "c1", "channel": "web", "created_at": datetime(2024, 3, 4, 9)}])
    log_in(dashboard, "ana")
    for token in (None, "x" * 43):  # missing, or not the one in the browser's cookie
        data = {"category": "complaint", **({"csrf_token": token} if token else {})}
        r = dashboard.post(f"/app/contacts/{ids['c1']}/labels", data=data)
        assert r.status_code == 403
        assert "security token" in r.text
    assert warehouse.read("SELECT count(*) FROM labels") == [(0,)]
    assert dashboard.post("/app/logout", data={}).status_code == 403
    assert dashboard.get("/app", follow_redirects=False).status_code == 200  # still logged in


def test_sessions_expire_and_slide(dashboard: TestClient, warehouse: Warehouse) -> None:
    log_in(dashboard, "ana")
    # Idle for most of the 12 hours: the next visit pushes the expiry 12 hours ahead again.
    warehouse.write(lambda con: con.execute("UPDATE user_sessions SET expires_at = ?",
                                            [_now() + timedelta(hours=1)]))
    assert dashboard.get("/app", follow_redirects=False).status_code == 200
    (expires,), = warehouse.read("SELECT expires_at FROM user_sessions")
    assert expires - _now() > timedelta(hours=11, minutes=50)
    # Idle for longer than that: the session is over.
    warehouse.write(lambda con: con.execute("UPDATE user_sessions SET expires_at = ?",
                                            [_now() - timedelta(seconds=1)]))
    r = dashboard.get("/app", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/app/login")


def test_repeated_failures_lock_the_username_for_a_while(dashboard: TestClient) -> None:
    for _ in range(5):
        assert log_in(dashboard, "ana", "guess").status_code == 401
    locked = log_in(dashboard, "ana")  # even the right password waits
    assert locked.status_code == 429
    assert int(locked.headers["retry-after"]) > 800
    assert log_in(dashboard, "ada").status_code == 303  # other users are not locked out


def test_next_never_leads_off_the_dashboard(dashboard: TestClient) -> None:
    for target in ("https://evil.example/", "//evil.example/app", "/api/v1/contacts/1"):
        r = log_in(dashboard, "ana", next_url=target)
        assert r.headers["location"] == "/app", target
        log_out(dashboard)


def test_users_are_managed_from_the_command_line(tmp_path: Path) -> None:
    runner = CliRunner(env={"CXHUB_HOME": str(tmp_path)})
    made = runner.invoke(users_cmd.users, ["create", "Carla", "--role", "agent",
                                           "--password-stdin"], input=PASSWORD + "\n")
    assert made.exit_code == 0, made.output
    short = runner.invoke(users_cmd.users, ["create", "dan", "--role", "viewer",
                                            "--password-stdin"], input="short\n")
    assert short.exit_code == 2 and "at least 8 characters" in short.output
    again = runner.invoke(users_cmd.users, ["create", "carla", "--role", "admin",
                                            "--password-stdin"], input=PASSWORD + "\n")
    assert again.exit_code == 2 and "already exists" in again.output
    listed = runner.invoke(users_cmd.users, ["list", "--json"])
    rows = json.loads(listed.output)
    assert [(r["username"], r["role"], r["disabled_at"]) for r in rows] == [
        ("carla", "agent", None)]
    assert "scrypt" not in listed.output
    assert runner.invoke(users_cmd.users, ["disable", "carla"]).exit_code == 0
    assert runner.invoke(users_cmd.users, ["disable", "nobody"]).exit_code == 2
    with Warehouse.open(tmp_path / "cxhub.duckdb") as wh:
        assert users.authenticate(wh, "carla", PASSWORD) is None
        (stored,), = wh.read("SELECT password_hash FROM users")
    assert stored.startswith("scrypt$") and PASSWORD not in stored
