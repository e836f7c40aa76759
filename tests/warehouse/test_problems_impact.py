"""`problems impact` on a warehouse with a planted drop: found, covered; a placebo is not."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from tests.conftest import run_cli
from tests.warehouse.problems_data import plant

from cxhub.services.problems import impact
from cxhub.services.problems.errors import ProblemInputError, ProblemNotFoundError


@pytest.mark.slow
@pytest.mark.parametrize(("seed", "effect"), [(3, 0.3), (4, 0.4)])
def test_planted_drop_and_placebo(warehouse, seed, effect):
    day = plant(warehouse, seed=seed, drop=effect, per_day=120)
    found = impact.cause_impact(warehouse, cause="billing", since=day)
    assert found.status == "measured"
    assert found.relative_effect == pytest.approx(-effect, rel=0.10)
    assert found.relative_low < -effect < found.relative_high
    assert found.avoided_per_week > 0 and found.weeks_after == 11
    placebo = impact.cause_impact(warehouse, cause="delivery", since=day)
    assert placebo.relative_low < 0 < placebo.relative_high


@pytest.mark.slow
def test_bad_input_names_the_field(warehouse):
    plant(warehouse)
    with pytest.raises(ProblemInputError, match="^cause: unknown cause 'nope'; the contacts"):
        impact.cause_impact(warehouse, cause="nope", since="2025-06-01")
    with pytest.raises(ProblemInputError, match="^since: 2030-01-01 is outside"):
        impact.cause_impact(warehouse, cause="billing", since="2030-01-01")
    with pytest.raises(ProblemInputError, match="^since: '1 May' is not a date"):
        impact.cause_impact(warehouse, cause="billing", since="1 May")
    with pytest.raises(ProblemNotFoundError, match="^problem_id: no problem 99"):
        impact.problem_impact(warehouse, 99)
    late = impact.cause_impact(warehouse, cause="billing", since=dt.date(2025, 10, 10))
    assert late.status == "too_early" and late.relative_effect is None


@pytest.mark.slow
def test_cli_json(tmp_path):
    from cxhub.warehouse import Warehouse

    with Warehouse.open(tmp_path / "cxhub.duckdb") as wh:
        day = plant(wh, seed=5, per_day=120)
    proc = run_cli("problems", "impact", "--cause", "billing", "--since", day.isoformat(),
                   "--json", home=tmp_path)
    got = json.loads(proc.stdout)
    for key in ("relative_effect", "relative_low", "relative_high", "avoided_per_week",
                "weeks_after"):
        assert key in got
    assert got["relative_low"] < -0.3 < got["relative_high"]
    bad = run_cli("problems", "impact", "--cause", "nope", "--since", day.isoformat(),
                  home=tmp_path, check=False)
    assert bad.returncode == 2 and "cause: unknown cause 'nope'" in bad.stderr


def test_a_fault_younger_than_a_week_is_measured_at_its_own_rate(warehouse):
    """A release's fault began three days before its rollback (100 contacts a day): the
    rollback avoided about 700 contacts a week, not the 300 of spreading three days over
    seven. A fault older than the window keeps the window's rate."""
    day = plant(warehouse, days=100, drop_day=90, drop=0.0, per_day=10)
    action = dt.datetime.combine(day, dt.time())

    def link(con):
        con.execute("INSERT INTO problems (problem_id, title, cause, status) VALUES "
                    "(1, 'release', 'product', 'fixed'), (2, 'old', 'product', 'fixed')")
        young = [action - dt.timedelta(days=3) + dt.timedelta(minutes=14.4 * i)
                 for i in range(300)]
        old = [action - dt.timedelta(days=20) + dt.timedelta(hours=4.8 * i) for i in range(100)]
        for problem, times, first in ((1, young, 10_000_000), (2, old, 20_000_000)):
            con.executemany(
                "INSERT INTO contacts (contact_id, source, external_id, channel, created_at, "
                "cause) VALUES (?, 'test', ?, 'phone', ?, 'product')",
                [[first + i, f"F{first + i}", t] for i, t in enumerate(times)])
            con.execute("INSERT INTO problem_contacts (problem_id, contact_id) SELECT ?, "
                        "contact_id FROM contacts WHERE contact_id >= ? AND contact_id < ?",
                        [problem, first, first + 1000])

    warehouse.write(link)
    young = impact.problem_contacts_change(warehouse, 1, day)
    assert young is not None and young["days_before"] == 3
    assert young["contacts_per_week_before"] == pytest.approx(700)
    assert young["avoided_per_week"] == pytest.approx(700)
    old = impact.problem_contacts_change(warehouse, 2, day)
    assert old is not None and old["days_before"] == 7
    assert old["contacts_per_week_before"] == pytest.approx(35)  # 35 of its contacts in 7 days
