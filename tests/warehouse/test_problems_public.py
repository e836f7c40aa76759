"""What the public page and the daily report get: actions with their measured impact in words,
the largest open problems, and nothing that names a person."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from tests.warehouse.problems_data import plant

from cxhub.services.problems import discovery, ownership, public, workflow


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
    got = public.published(warehouse)
    text = json.dumps(got, default=str)
    assert "@" not in text  # no owner, manager or author
    by_title = {a["title"]: a for a in got["actions"]}
    bill = by_title["New bill layout"]
    assert bill["sentence"].startswith(f"New bill layout ({day:%d %B %Y}): since then, about ")
    assert "fewer contacts a week" in bill["sentence"] and bill["relative_effect"] < 0
    assert "no measurable change" in by_title["Help page on delivery"]["sentence"]
    assert [p["title"] for p in got["problems"]] == ["Bills unclear"]
    assert got["problems"][0]["state_words"] == "being looked at"
    # As known on a day before the action: no action yet.
    early = public.published(warehouse, as_of=day - dt.timedelta(days=1))
    assert early["actions"] == []


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
