"""CSRF tokens bound to the session, and admins' passwords that resist a quick guess."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from tests.web.dashboard_fixtures import csrf_token, dashboard, load_contacts, log_in

from cxhub.services.access import users
from cxhub.warehouse import Warehouse

__all__ = ["dashboard"]  # the fixture, imported for pytest
pytestmark = pytest.mark.filterwarnings(
    "ignore:fetch_arrow_table\\(\\) is deprecated:DeprecationWarning")


def test_a_planted_csrf_cookie_without_the_session_makes_no_valid_form(
    dashboard: TestClient, warehouse: Warehouse, tmp_path: Path
) -> None:
    ids = load_contacts(warehouse, tmp_path / "in", [
        {"external_id": "c1", "channel": "web", "created_at": datetime(2024, 3, 4, 9)}])
    log_in(dashboard, "ana")
    # An attacker who can set cookies for the site (a sibling subdomain) plants their own CSRF
    # value and sends that same value in the form: a plain double-submit check accepts it.
    planted = "p" * 43
    dashboard.cookies.set("cxhub_csrf", planted, path="/app")
    r = dashboard.post(f"/app/contacts/{ids['c1']}/labels",
                       data={"category": "complaint", "csrf_token": planted})
    assert r.status_code == 403
    assert warehouse.read("SELECT count(*) FROM labels") == [(0,)]
    # The page's own token, bound to this session, works.
    good = csrf_token(dashboard, f"/app/contacts/{ids['c1']}")
    assert good != planted
    r = dashboard.post(f"/app/contacts/{ids['c1']}/labels",
                       data={"category": "complaint", "csrf_token": good},
                       follow_redirects=False)
    assert r.status_code in (200, 303), r.text
    assert warehouse.read("SELECT count(*) FROM labels") == [(1,)]


@pytest.mark.parametrize(("password", "words"), [
    ("short-pass1", "at least 12"),
    ("boss-is-here-2026!", "username"),
    ("abababababababab", "6 different"),
])
def test_an_admin_password_must_resist_a_quick_guess(warehouse: Warehouse, password: str,
                                                     words: str) -> None:
    with pytest.raises(users.UserError, match=words):
        users.create_user(warehouse, username="boss", password=password, role="admin")
    users.create_user(warehouse, username="chief", password="three calm rivers", role="admin")
    with pytest.raises(users.UserError, match=words):
        users.set_password(warehouse, "chief", password.replace("boss", "chief"))
    # Other roles keep the general rule (8 characters).
    users.create_user(warehouse, username="ana", password="ok-pass1", role="analyst")
