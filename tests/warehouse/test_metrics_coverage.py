"""Comparisons with periods the data does not (fully) cover (issue 10, item 3).

The contacts below start on Monday 4 March 2024 and end on Sunday 10 March: a week compared
with the week before is compared with nothing, and a range reaching back before the 4th is
compared with a period the data covers only in part. Each comparison says how many of its
days the data holds, and a period without any data has no figure at all (not a count of 0).
"""

from __future__ import annotations

import pytest
from tests.warehouse import test_metrics_hand as hand
from tests.warehouse.test_metrics_hand import Metric, contacts

from cxhub.metrics.coverage import note
from cxhub.warehouse import Warehouse

metric = hand.metric  # DuckDB here; tests/backends/test_metrics_spark.py runs these on Spark

pytestmark = pytest.mark.filterwarnings(
    "ignore:fetch_arrow_table\\(\\) is deprecated:DeprecationWarning")

ROWS = [("phone", f"2024-03-{day:02d} 09:00:00") for day in range(4, 11)]  # one a day


def test_a_period_before_the_first_record_has_no_figure(warehouse: Warehouse,
                                                          metric: Metric) -> None:
    contacts(warehouse, "channel, created_at", ROWS)
    [week] = metric("contacts", start="2024-03-04", end="2024-03-10",
                    compare="previous,last_year")
    assert week["value"] == 7
    # The week before and the same week a year before: not a count of 0, no figure.
    assert week["previous"] is None and week["last_year"] is None
    assert week["previous_coverage"] == {"days": 7, "covered_days": 0, "status": "none"}
    assert week["last_year_coverage"] == {"days": 7, "covered_days": 0, "status": "none"}
    assert note(week["previous_coverage"]) == "no data for that period"


def test_a_partly_covered_period_says_how_many_days(warehouse: Warehouse,
                                                     metric: Metric) -> None:
    contacts(warehouse, "channel, created_at", ROWS)
    # 6 to 10 March against 1 to 5 March, of which the data holds the 4th and the 5th.
    [five] = metric("contacts", start="2024-03-06", end="2024-03-10", compare="previous")
    assert (five["value"], five["previous"]) == (5, 2)
    assert five["previous_coverage"] == {"days": 5, "covered_days": 2, "status": "partial"}
    assert note(five["previous_coverage"]) == "partial: 2 of 5 days"
    # By day, each day's own day before: the 5th's (the 4th) is covered, the 4th's is not.
    days = {r["period"][:10]: r for r in metric("contacts", start="2024-03-04",
                                                end="2024-03-05", by="day",
                                                compare="previous")}
    assert days["2024-03-05"]["previous"] == 1
    assert days["2024-03-05"]["previous_coverage"]["status"] == "full"
    assert days["2024-03-04"]["previous"] is None
    assert days["2024-03-04"]["previous_coverage"]["status"] == "none"


def test_a_period_after_the_last_record_is_not_covered(warehouse: Warehouse,
                                                       metric: Metric) -> None:
    contacts(warehouse, "channel, created_at", ROWS)
    [later] = metric("contacts", start="2024-03-14", end="2024-03-17", compare="previous")
    # 10 to 13 March: only the 10th holds data.
    assert later["previous_coverage"] == {"days": 4, "covered_days": 1, "status": "partial"}


def test_a_month_so_far_is_compared_with_the_same_days_of_the_month_before(
        warehouse: Warehouse, metric: Metric) -> None:
    contacts(warehouse, "channel, created_at", [
        ("phone", "2024-02-01 09:00:00"), ("phone", "2024-02-03 09:00:00"),
        ("phone", "2024-02-04 09:00:00"),  # after the 3rd: not among the same days
        ("phone", "2024-01-30 09:00:00"), ("phone", "2024-03-02 09:00:00")])
    [so_far] = metric("contacts", start="2024-03-01", end="2024-03-03", compare="previous")
    assert (so_far["value"], so_far["previous"]) == (1, 2)  # 1 to 3 February
    assert so_far["previous_coverage"] == {"days": 3, "covered_days": 3, "status": "full"}
