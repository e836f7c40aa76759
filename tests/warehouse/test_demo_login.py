"""The demo prints a dashboard login and an API key it made on its first run, the same ones
on every later run (while `cxhub serve` holds the warehouse, nothing else can make them)."""

from __future__ import annotations

from pathlib import Path

from cxhub.services.access import users
from cxhub.services.access.keys import scopes_for_token
from cxhub.services.demo.run import demo_login
from cxhub.settings import Settings
from cxhub.warehouse import Warehouse


def test_first_run_makes_them_later_runs_repeat_them(warehouse: Warehouse,
                                                      tmp_path: Path) -> None:
    settings = Settings(home=tmp_path)
    first = demo_login(warehouse, settings)
    assert first is not None
    stored = warehouse.read_one("SELECT password_hash, role FROM users WHERE username = ?",
                                [first.user])
    assert stored is not None and stored[1] == "admin"
    assert users.verify_password(first.password, stored[0])
    assert not users.verify_password(first.password + "x", stored[0])
    assert set(scopes_for_token(warehouse, first.api_key) or ()) == {"ingest", "read"}
    assert (tmp_path / "demo-login.json").stat().st_mode & 0o077 == 0

    assert demo_login(warehouse, settings) == first
    assert warehouse.read_one("SELECT count(*) FROM users")[0] == 1
    assert warehouse.read_one("SELECT count(*) FROM api_keys")[0] == 1

    # Once the note is gone, the account belongs to whoever removed it: nothing is printed.
    (tmp_path / "demo-login.json").unlink()
    assert demo_login(warehouse, settings) is None
