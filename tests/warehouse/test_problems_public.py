"""What the public page and the daily report get: actions with their measured impact in words,
the largest open problems, and nothing that names a person."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from tests.warehouse.problems_data import plant

from cxhub.services.problems import discovery, ownership, public, workflow
from cxhub.services.public import figures
from cxhub.web.public import privacy


@pytest.mark.slow
def test_published_actions_and_problems(warehouse):
    day = plant(warehouse, per_day=120, seed=8)
    ids = [r[0] for r in warehouse.read(
        "SELECT contact_id FROM contacts WHERE cause = 'billing' ORDER BY 1 LIMIT 40")]
    pid = discovery.create_from_contacts(warehouse, contact_ids=ids, title="Bills unclear",
                                         actor="ana@x.com")
    workflow.assign(warehouse, ownership.parse({"owners": [
        {"cause": "billing", "department": "Billing", "owner": "ana@x.com",
         "manager": "bo@x.com"}]}))
    workflow.record_action(warehouse, title="New bill layout", kind="fix", date=day,
                           problem_id=pid, actor="ana@x.com", role="admin")
    workflow.record_action(warehouse, title="Help page on delivery", kind="help_content",
                           date=day, cause="delivery", actor="ana@x.com", role="admin")
    assert public.measure_actions(warehouse) == 2
    now = dt.datetime.now()
    start = dt.datetime.combine(day, dt.time()) - dt.timedelta(days=30)
    got = figures.sections(warehouse, start=start, end=now, min_count=10, frozen=False)
    privacy.check(got)  # aggregates and labels only
    text = json.dumps(got, default=str)
    assert "@" not in text and "Bills unclear" not in text and "bill layout" not in text
    by_cause = {r["cause"]: r for r in got["actions"]["rows"]}
    bill = by_cause["billing"]
    assert bill["significant"] and bill["value"] < 0  # fewer billing contacts since the fix
    assert bill["low"] <= bill["value"] <= bill["high"]  # its 95% range
    [problem] = got["open_problems"]["rows"]
    assert problem["cause"] == "billing" and problem["status"] == "open"
    assert problem["value"] == 40 and problem["period"] <= day.isoformat()

    # A problem closed is no longer open; a report frozen before that still says it was,
    # and one frozen before the problem was known does not list it.
    workflow.change_state(warehouse, pid, "acknowledged", actor="ana@x.com", role="admin")
    workflow.change_state(warehouse, pid, "wont_fix", actor="ana@x.com", role="admin",
                          reason="the layout is the regulator's")
    assert figures.open_problems(warehouse, known_by=None, min_count=10)["rows"] == []
    before = figures.open_problems(warehouse, known_by=now, min_count=10)["rows"]
    assert [r["status"] for r in before] == ["open"]
    known = warehouse.read_one("SELECT opened_at FROM problems WHERE problem_id = ?", [pid])[0]
    early = figures.open_problems(warehouse, known_by=known, min_count=10)
    assert early["rows"] == [] and early["empty"]
    assert figures.open_problems(warehouse, known_by=now, min_count=50)["rows"][0][
        "value"] is None  # 40 contacts are under that minimum: hidden


@pytest.mark.slow
def test_the_atom_feed_announces_measured_actions_without_titles(warehouse):
    from cxhub.services.public import reports

    day = plant(warehouse, per_day=120, seed=8)
    workflow.record_action(warehouse, title="New bill layout by Ana", kind="fix", date=day,
                           cause="billing", actor="ana@x.com", role="admin")
    before = reports.feed(warehouse, base_url="http://x/", min_count=10).decode()
    assert "What we did" not in before  # recorded, not measured yet
    assert public.measure_actions(warehouse) == 1
    feed = reports.feed(warehouse, base_url="http://x/", min_count=10).decode()
    assert f"What we did: fix on billing ({day.isoformat()})" in feed
    assert "contacts a week about billing" in feed
    assert "Ana" not in feed and "@" not in feed and "bill layout" not in feed
