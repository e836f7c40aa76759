"""Every metric of the catalogue against a figure computed by hand on a table of a few rows.

The rows are inserted with DuckDB SQL into a fresh warehouse; each expected value is written out
as the arithmetic a person would do on paper. tests/backends/test_metrics_spark.py runs these
same tests on PySpark by giving them its own `metric` fixture.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from cxhub.metrics import compute
from cxhub.warehouse import Warehouse
from cxhub.warehouse.engines import connect

# Ibis 12 calls a DuckDB 2.0 method that DuckDB deprecates; not ours to fix.
pytestmark = pytest.mark.filterwarnings(
    "ignore:fetch_arrow_table\\(\\) is deprecated:DeprecationWarning")

Metric = Callable[..., list[dict[str, Any]]]
# The week of Monday 4 to Sunday 10 March 2024; a date as `end` includes that day.
WEEK = {"start": "2024-03-04", "end": "2024-03-10"}


@pytest.fixture
def metric(warehouse: Warehouse) -> Metric:
    """compute() on the warehouse through DuckDB; the range defaults to WEEK."""
    def run(name: str, **kwargs: Any) -> list[dict[str, Any]]:
        return compute(connect(duckdb_connection=warehouse.cursor()), name, **{**WEEK, **kwargs})

    return run


def _literal(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"


def insert(wh: Warehouse, table: str, columns: str, rows: list[tuple[Any, ...]],
           key: str | None = None) -> None:
    """INSERT the rows; record tables get ids, a source and external ids c1, c2 ... ."""
    names = [c.strip() for c in columns.split(",")]
    values = []
    for i, row in enumerate(rows, start=1):
        assert len(row) == len(names), row
        lead = [str(i), "'test'", f"'c{i}'"] if key else []
        values.append("(" + ", ".join(lead + [_literal(v) for v in row]) + ")")
    head = [key, "source", "external_id"] if key else []
    sql = f"INSERT INTO {table} ({', '.join(head + names)}) VALUES " + ", ".join(values)
    wh.write(lambda con: con.execute(sql))


def contacts(wh: Warehouse, columns: str, rows: list[tuple[Any, ...]]) -> None:
    insert(wh, "contacts", columns, rows, key="contact_id")


def by(rows: list[dict[str, Any]], *keys: str) -> dict[Any, Any]:
    """{key values: value}, to read a result like a table."""
    out = {}
    for r in rows:
        k = tuple(r[x] for x in keys)
        out[k[0] if len(k) == 1 else k] = r["value"]
    return out


# --- counts ------------------------------------------------------------------------------

def test_contacts_by_day_and_channel(warehouse: Warehouse, metric: Metric) -> None:
    contacts(warehouse, "channel, created_at", [
        ("phone", "2024-03-03 23:59:59"),  # the day before the range
        ("phone", "2024-03-04 09:00:00"),
        ("email", "2024-03-04 10:00:00"),
        ("phone", "2024-03-04 23:59:59"),
        ("phone", "2024-03-05 08:00:00"),
        ("chat", "2024-03-10 23:00:00"),
        ("chat", "2024-03-11 00:00:00"),  # the first instant after the range
    ])
    assert metric("contacts") == [{"value": 5, "n": 5}]
    days = by(metric("contacts", by="day"), "period")
    assert len(days) == 7  # every day of the week, empty ones as 0
    assert days["2024-03-04T00:00:00"] == 3
    assert days["2024-03-05T00:00:00"] == 1
    assert days["2024-03-06T00:00:00"] == 0
    assert by(metric("contacts", by=["channel"]), "channel") == {
        "chat": 1, "email": 1, "phone": 3}
    assert metric("contacts", filters={"channel": "phone"})[0]["value"] == 2 + 1


def test_complaints_count_the_labelled_complaints(warehouse: Warehouse, metric: Metric) -> None:
    contacts(warehouse, "channel, created_at, category", [
        ("letter", "2024-03-04 09:00:00", "complaint"),
        ("web", "2024-03-05 09:00:00", "complaint"),  # a human relabels it: a problem
        ("web", "2024-03-06 09:00:00", None),  # a model says: a complaint
        ("email", "2024-03-06 09:00:00", "information"),
    ])
    insert(warehouse, "labels", "target, target_id, dimension, label, is_human, labelled_at", [
        ("contacts", 2, "category", "problem", True, "2024-03-07 00:00:00"),
        ("contacts", 3, "category", "complaint", False, "2024-03-07 00:00:00"),
    ])
    assert metric("complaints")[0]["value"] == 1 + 1


def test_arrivals_counted_when_they_join_the_queue(warehouse: Warehouse,
                                                   metric: Metric) -> None:
    contacts(warehouse, "channel, created_at, queued_at, answered_at, abandoned_at, outcome", [
        ("phone", "2024-03-04 08:59:50", "2024-03-04 09:00:10", "2024-03-04 09:01:00", None,
         "answered"),
        ("phone", "2024-03-04 09:10:00", "2024-03-04 09:10:20", None, "2024-03-04 09:12:00",
         "abandoned"),
        ("chat", "2024-03-04 09:30:00", "2024-03-04 09:30:00", "2024-03-04 09:31:00", None,
         "answered"),
        ("phone", "2024-03-04 09:40:00", "2024-03-04 09:40:10", None, "2024-03-04 09:40:12",
         "phantom"),
        ("email", "2024-03-04 09:50:00", None, None, None, None),  # never queued
    ])
    hours = by(metric("arrivals", start="2024-03-04T08:00:00", end="2024-03-04T10:00:00",
                      by="hour"), "period")
    assert hours == {"2024-03-04T08:00:00": 0, "2024-03-04T09:00:00": 3}


def test_mentions_count_customer_posts(warehouse: Warehouse, metric: Metric) -> None:
    insert(warehouse, "mentions", "platform, inbound, created_at", [
        ("twitter", True, "2024-03-04 09:00:00"),
        ("twitter", False, "2024-03-04 09:05:00"),  # the brand's reply
        ("twitter", True, "2024-03-05 09:00:00"),
        ("forum", True, "2024-03-06 09:00:00"),
    ], key="mention_id")
    assert metric("mentions")[0]["value"] == 3
    assert by(metric("mentions", by="channel"), "channel") == {"social": 3}


# --- running counts (backlog, active customers) ------------------------------------------

def test_backlog_at_the_end_of_each_day(warehouse: Warehouse, metric: Metric) -> None:
    contacts(warehouse, "channel, created_at, resolved_at, abandoned_at, outcome", [
        ("email", "2024-03-03 12:00:00", "2024-03-05 10:00:00", None, None),  # 1
        ("email", "2024-03-04 09:00:00", None, None, None),  # 2: never resolved
        ("web", "2024-03-04 10:00:00", "2024-03-04 11:00:00", None, None),  # 3
        ("phone", "2024-03-05 09:00:00", None, "2024-03-05 09:02:00", "abandoned"),  # 4
        ("phone", "2024-03-04 09:00:00", None, None, "phantom"),  # 5: not a real contact
        ("web", "2024-03-06 15:00:00", None, None, None),  # 6
        ("web", "2024-03-07 15:00:00", None, None, None),  # 7: after the range
    ])
    days = by(metric("backlog", start="2024-03-04", end="2024-03-06", by="day"), "period")
    assert days == {
        "2024-03-04T00:00:00": 2,  # 1 and 2 (3 was resolved the same day)
        "2024-03-05T00:00:00": 1,  # 2 (1 resolved, 4 abandoned)
        "2024-03-06T00:00:00": 1 + 1,  # 2 and 6
    }
    assert metric("backlog", start="2024-03-04", end="2024-03-06")[0]["value"] == 2
    at_noon = metric("backlog", start="2024-03-04", end="2024-03-04T12:00:00")
    assert at_noon[0]["value"] == 2  # 1 and 2; 3 was resolved at 11:00
    channels = by(metric("backlog", start="2024-03-04", end="2024-03-06", by="channel"),
                  "channel")
    assert channels == {"email": 1, "web": 1, "phone": 0}


def test_contact_rate_per_thousand_active_customers(warehouse: Warehouse,
                                                   metric: Metric) -> None:
    insert(warehouse, "holdings", "customer_external_id, product, started_at, ended_at", [
        ("A", "broadband", "2023-01-01 00:00:00", None),
        ("A", "mobile", "2023-06-01 00:00:00", None),  # one customer, two products
        ("B", "mobile", "2024-03-05 00:00:00", None),  # joins on the second day
        ("C", "mobile", "2022-01-01 00:00:00", "2024-03-01 00:00:00"),  # left before
        ("D", "mobile", "2024-04-01 00:00:00", None),  # joins after
    ], key="holding_id")
    contacts(warehouse, "channel, created_at, customer_external_id", [
        ("phone", "2024-03-04 09:00:00", "A"),
        ("phone", "2024-03-05 09:00:00", "A"),
        ("chat", "2024-03-05 10:00:00", "B"),
    ])
    assert metric("contact_rate")[0]["value"] == pytest.approx(3 / 2 * 1000)  # A and B
    days = by(metric("contact_rate", by="day"), "period")
    assert days["2024-03-04T00:00:00"] == pytest.approx(1 / 1 * 1000)  # only A
    assert days["2024-03-05T00:00:00"] == pytest.approx(2 / 2 * 1000)
    assert days["2024-03-06T00:00:00"] == 0


# --- queues: service level, speed of answer, abandonment -----------------------------------

def _live_contacts(wh: Warehouse) -> None:
    """Phone and chat contacts of one morning, with their waits in seconds."""
    contacts(wh, "channel, created_at, queued_at, answered_at, abandoned_at, wait_seconds, "
                 "outcome", [
        ("phone", "2024-03-04 09:00:00", "2024-03-04 09:00:00", "2024-03-04 09:00:10", None,
         10, "answered"),
        ("phone", "2024-03-04 09:01:00", "2024-03-04 09:01:00", "2024-03-04 09:01:30", None,
         30, "answered"),
        ("phone", "2024-03-04 09:02:00", "2024-03-04 09:02:00", None, "2024-03-04 09:02:03",
         3, "abandoned"),  # a short abandon: left out
        ("phone", "2024-03-04 09:03:00", "2024-03-04 09:03:00", None, "2024-03-04 09:03:40",
         40, "abandoned"),
        # no wait_seconds from the source: 15 s from queued_at to answered_at
        ("phone", "2024-03-04 09:04:00", "2024-03-04 09:04:05", "2024-03-04 09:04:20", None,
         None, "answered"),
        ("phone", "2024-03-04 09:05:00", None, None, "2024-03-04 09:05:01", None, "phantom"),
        ("chat", "2024-03-04 09:06:00", "2024-03-04 09:06:00", "2024-03-04 09:06:50", None,
         50, "answered"),
        ("chat", "2024-03-04 09:07:00", "2024-03-04 09:07:00", "2024-03-04 09:08:10", None,
         70, "answered"),
        ("email", "2024-03-04 09:08:00", None, None, None, None, None),
    ])


def test_service_level(warehouse: Warehouse, metric: Metric) -> None:
    _live_contacts(warehouse)
    # phone within 20 s: 10 and 15 of (answered 10, 30, 15 + abandoned after 5 s: 40);
    # chat within 60 s: 50 of (50, 70)
    assert metric("service_level")[0]["value"] == pytest.approx((2 + 1) / (4 + 2))
    channels = by(metric("service_level", by="channel"), "channel")
    assert channels == {"phone": pytest.approx(2 / 4), "chat": pytest.approx(1 / 2)}
    assert metric("service_level")[0]["n"] == 4 + 2


def test_average_speed_of_answer(warehouse: Warehouse, metric: Metric) -> None:
    _live_contacts(warehouse)
    assert metric("asa")[0]["value"] == pytest.approx((10 + 30 + 15 + 50 + 70) / 5)
    assert by(metric("asa", by="channel"), "channel") == {
        "phone": pytest.approx((10 + 30 + 15) / 3), "chat": pytest.approx((50 + 70) / 2)}


def test_abandonment_rate_leaves_out_short_abandons(warehouse: Warehouse,
                                                    metric: Metric) -> None:
    _live_contacts(warehouse)
    # queued, short abandon and phantom left out: phone 10, 30, 40, 15; chat 50, 70
    assert metric("abandonment_rate")[0]["value"] == pytest.approx(1 / 6)
    assert by(metric("abandonment_rate", by="channel"), "channel") == {
        "phone": pytest.approx(1 / 4), "chat": 0.0}


# --- written channels: first response, resolution ------------------------------------------

def test_first_response_time_median_and_p90(warehouse: Warehouse, metric: Metric) -> None:
    contacts(warehouse, "channel, created_at, first_response_at", [
        ("email", "2024-03-04 08:00:00", "2024-03-04 10:00:00"),  # 2 h
        ("email", "2024-03-04 08:00:00", "2024-03-04 12:00:00"),  # 4 h
        ("email", "2024-03-04 08:00:00", "2024-03-05 14:00:00"),  # 30 h
        ("social", "2024-03-04 08:00:00", "2024-03-04 08:30:00"),  # 0.5 h
        ("social", "2024-03-04 08:00:00", "2024-03-04 10:00:00"),  # 2 h
        ("web", "2024-03-04 08:00:00", "2024-03-04 18:00:00"),  # 10 h
        ("phone", "2024-03-04 08:00:00", "2024-03-04 08:01:00"),  # not a written channel
        ("email", "2024-03-04 08:00:00", None),  # no reply yet
    ])
    # sorted: 0.5, 2, 2, 4, 10, 30 hours; the median is halfway between the 3rd and 4th
    assert metric("first_response_time")[0]["value"] == pytest.approx((2 + 4) / 2 * 3600)
    # the 90th percentile sits at 0.9 x (6 - 1) = 4.5: halfway between 10 h and 30 h
    p90 = metric("first_response_time_p90")[0]
    assert p90["value"] == pytest.approx((10 + 0.5 * (30 - 10)) * 3600)
    assert p90["n"] == 6
    # within 24 h (email, web) or 1 h (social): 2, 4 and 10 h; 0.5 h on social
    within = metric("first_response_within_target", by="channel")
    assert by(within, "channel") == {"email": pytest.approx(2 / 3), "social": 1 / 2,
                                     "web": 1.0}
    assert metric("first_response_within_target")[0]["value"] == pytest.approx(4 / 6)


def test_resolution_time_median(warehouse: Warehouse, metric: Metric) -> None:
    contacts(warehouse, "channel, created_at, resolved_at", [
        ("email", "2024-03-04 08:00:00", "2024-03-04 09:00:00"),  # 1 h
        ("phone", "2024-03-05 08:00:00", "2024-03-05 11:00:00"),  # 3 h
        ("web", "2024-03-06 08:00:00", "2024-03-06 13:00:00"),  # 5 h
        ("web", "2024-03-06 09:00:00", None),  # still open
    ])
    assert metric("resolution_time")[0] == {"value": 3 * 3600.0, "n": 3}


def test_average_handling_time(warehouse: Warehouse, metric: Metric) -> None:
    contacts(warehouse, "channel, created_at, talk_seconds, hold_seconds, wrap_seconds", [
        ("phone", "2024-03-04 09:00:00", 300, 60, 40),
        ("phone", "2024-03-04 10:00:00", 200, None, 100),  # no hold recorded: 0
        ("email", "2024-03-04 11:00:00", 100, 0, 20),
        ("phone", "2024-03-04 12:00:00", None, None, None),  # nobody handled it
    ])
    assert metric("aht")[0]["value"] == pytest.approx(
        ((300 + 60 + 40) + (200 + 100) + (100 + 20)) / 3)


def test_first_contact_resolution(warehouse: Warehouse, metric: Metric) -> None:
    contacts(warehouse, "channel, customer_external_id, cause, created_at, resolved_at", [
        # A calls on billing, is resolved, and comes back 4 days later on billing: a repeat
        ("phone", "A", "billing", "2024-03-04 09:00:00", "2024-03-04 10:00:00"),  # 1: no
        ("phone", "A", "billing", "2024-03-08 09:00:00", "2024-03-08 09:30:00"),  # 2: yes
        ("email", "A", "delivery", "2024-03-05 09:00:00", "2024-03-05 12:00:00"),  # 3: yes
        # B comes back on billing the day after the range, within 7 days: 4 is no FCR
        ("phone", "B", "billing", "2024-03-04 09:00:00", "2024-03-04 12:00:00"),  # 4: no
        ("phone", "B", "billing", "2024-03-11 09:00:00", None),  # after the range
        ("phone", "C", "billing", "2024-03-05 09:00:00", None),  # not resolved
        ("phone", None, "billing", "2024-03-05 09:00:00", "2024-03-05 09:10:00"),  # unknown
        # D: the agent relabels 8's cause as delivery, so 9 (billing) is no repeat of it
        ("chat", "D", "billing", "2024-03-06 09:00:00", "2024-03-06 09:20:00"),  # 8: yes
        ("chat", "D", "billing", "2024-03-07 09:00:00", "2024-03-07 09:20:00"),  # 9: yes
        # E came back on billing 8 days after the resolution: outside the 7-day window
        ("phone", "E", "billing", "2024-02-20 09:00:00", "2024-02-25 09:00:00"),
        ("phone", "E", "billing", "2024-03-04 09:00:01", "2024-03-04 10:00:00"),  # 11: yes
    ])
    insert(warehouse, "labels", "target, target_id, dimension, label, is_human", [
        ("contacts", 8, "cause", "delivery", True)])
    result = metric("fcr")[0]
    assert result == {"value": pytest.approx(5 / 7), "n": 7}  # 2, 3, 8, 9, 11 of 1-4, 8-11


# --- surveys -------------------------------------------------------------------------------

def _surveys(wh: Warehouse, kind: str, scores: list[float]) -> None:
    insert(wh, "surveys", "survey_type, score, answered_at, contact_external_id",
           [(kind, s, f"2024-03-0{4 + i % 3} 12:00:00", f"c{1 + i % 2}")
            for i, s in enumerate(scores)], key="survey_id")


def test_csat_is_the_top_two_box_share(warehouse: Warehouse, metric: Metric) -> None:
    contacts(warehouse, "channel, created_at", [("phone", "2024-03-04 09:00:00"),
                                                ("email", "2024-03-04 09:00:00")])
    _surveys(warehouse, "csat", [5, 4, 3, 1, 5])  # answers 1, 3, 5 are about c1 (phone)
    _surveys(warehouse, "nps", [10])  # not a CSAT answer
    assert metric("csat")[0] == {"value": pytest.approx(3 / 5), "n": 5}
    assert by(metric("csat", by="channel"), "channel") == {
        "phone": pytest.approx(2 / 3), "email": pytest.approx(1 / 2)}


def test_net_promoter_score(warehouse: Warehouse, metric: Metric) -> None:
    _surveys(warehouse, "nps", [10, 9, 8, 7, 6, 0, 10])
    promoters, detractors, answers = 3, 2, 7
    expected = 100 * promoters / answers - 100 * detractors / answers
    assert metric("nps")[0]["value"] == pytest.approx(expected)


def test_customer_effort_score(warehouse: Warehouse, metric: Metric) -> None:
    _surveys(warehouse, "ces", [7, 5, 6])
    _surveys(warehouse, "csat", [1])
    assert metric("ces")[0]["value"] == pytest.approx((7 + 5 + 6) / 3)


# --- classification and promises -----------------------------------------------------------

def test_failure_demand_share_uses_the_best_label(warehouse: Warehouse, metric: Metric) -> None:
    contacts(warehouse, "channel, created_at, category", [
        ("phone", "2024-03-04 09:00:00", "problem"),
        ("phone", "2024-03-04 09:00:00", "complaint"),
        ("phone", "2024-03-04 09:00:00", "information"),
        ("phone", "2024-03-04 09:00:00", None),
        ("phone", "2024-03-04 09:00:00", "information"),  # 5: a human says it is a problem
        ("phone", "2024-03-04 09:00:00", None),  # 6: the newest model label wins
        ("phone", "2024-03-04 09:00:00", "complaint"),  # 7: the human beats a newer model
    ])
    insert(warehouse, "labels", "target, target_id, dimension, label, is_human, labelled_at", [
        ("contacts", 5, "category", "problem", True, "2024-03-05 00:00:00"),
        ("contacts", 6, "category", "complaint", False, "2024-03-05 00:00:00"),
        ("contacts", 6, "category", "transaction", False, "2024-03-06 00:00:00"),
        ("contacts", 7, "category", "information", True, "2024-03-05 00:00:00"),
        ("contacts", 7, "category", "complaint", False, "2024-03-06 00:00:00"),
        ("mentions", 3, "category", "complaint", True, "2024-03-05 00:00:00"),  # not a contact
    ])
    assert metric("failure_demand_share")[0]["value"] == pytest.approx((1 + 1 + 1) / 7)
    categories = by(metric("contacts", by="category"), "category")
    assert categories == {"complaint": 1, "information": 2, "problem": 2, "transaction": 1,
                          None: 1}


def test_answered_on_time(warehouse: Warehouse, metric: Metric) -> None:
    contacts(warehouse, "channel, created_at, timely", [
        ("web", "2024-03-04 09:00:00", True), ("web", "2024-03-05 09:00:00", True),
        ("web", "2024-03-06 09:00:00", False), ("phone", "2024-03-06 09:00:00", None)])
    assert metric("answered_on_time")[0] == {"value": pytest.approx(2 / 3), "n": 3}


def test_expected_wait_of_contacts_reached_in_the_period(warehouse: Warehouse,
                                                        metric: Metric) -> None:
    contacts(warehouse, "channel, created_at, queued_at, answered_at, first_response_at, "
                        "wait_seconds", [
        ("phone", "2024-03-04 09:59:00", "2024-03-04 09:59:30", "2024-03-04 10:00:00", None,
         30),
        ("chat", "2024-03-04 10:10:00", "2024-03-04 10:10:00", "2024-03-04 10:11:30", None,
         90),
        ("email", "2024-03-04 09:15:00", None, None, "2024-03-04 10:15:00", None),
        ("email", "2024-03-04 10:20:00", None, None, None, None),  # not replied yet
        ("phone", "2024-03-04 09:00:00", "2024-03-04 09:00:00", "2024-03-04 09:00:20", None,
         20),  # reached before the half hour
    ])
    now = {"start": "2024-03-04T10:00:00", "end": "2024-03-04T10:30:00"}
    assert metric("expected_wait", **now)[0]["value"] == pytest.approx((30 + 90 + 3600) / 3)
    assert by(metric("expected_wait", by="channel", **now), "channel") == {
        "phone": 30.0, "chat": 90.0, "email": 3600.0}


def test_mention_response_time(warehouse: Warehouse, metric: Metric) -> None:
    insert(warehouse, "mentions", "inbound, created_at, first_response_at, "
                                  "first_response_seconds", [
        (True, "2024-03-04 09:00:00", "2024-03-04 09:01:00", 60),
        (True, "2024-03-04 10:00:00", "2024-03-04 10:10:00", None),  # 600 s, from the times
        (True, "2024-03-05 09:00:00", "2024-03-05 09:02:00", 120),
        (True, "2024-03-05 11:00:00", None, None),  # no reply
        (False, "2024-03-05 09:02:00", None, None),  # the brand's own post
    ], key="mention_id")
    assert metric("mention_response_time")[0] == {"value": 120.0, "n": 3}


# --- periods, comparisons, dimensions ------------------------------------------------------

def test_previous_period_last_year_and_target(warehouse: Warehouse, metric: Metric) -> None:
    contacts(warehouse, "channel, created_at, queued_at, answered_at, wait_seconds", [
        (ch, at, at, at, wait) for ch, at, wait in [
            ("phone", "2024-03-04 09:00:00", 10),  # this Monday
            ("phone", "2024-03-04 10:00:00", 40),
            ("phone", "2024-03-03 09:00:00", 10),  # the day before
            ("phone", "2024-03-03 10:00:00", 10),
            ("phone", "2023-03-06 09:00:00", 50),  # 52 weeks before: a Monday too
            ("phone", "2024-02-15 09:00:00", 10),  # in February
            ("phone", "2023-03-20 09:00:00", 10),  # in March last year
        ]])
    monday = metric("service_level", start="2024-03-04", end="2024-03-04", by="day",
                    compare="previous,last_year,target")
    day = {"days": 1, "covered_days": 1, "status": "full"}
    assert monday == [{"period": "2024-03-04T00:00:00", "value": 1 / 2, "n": 2,
                       "previous": 2 / 2, "last_year": 0 / 1, "target": 0.8,
                       "previous_coverage": day, "last_year_coverage": day}]
    march = metric("contacts", start="2024-03-01", end="2024-03-31", by="month",
                   compare=["previous", "last_year"])
    # The data starts on 6 March 2023: March 2023 is covered from the 6th to the 31st.
    assert march == [{"period": "2024-03-01T00:00:00", "value": 4, "n": 4,
                      "previous": 1, "last_year": 2,
                      "previous_coverage": {"days": 29, "covered_days": 29, "status": "full"},
                      "last_year_coverage": {"days": 31, "covered_days": 31 - 5,
                                             "status": "partial"}}]
    # without a grain, a whole month is compared with the whole month before
    whole = metric("contacts", start="2024-03-01", end="2024-03-31", compare="previous")
    assert whole == [{"value": 4, "n": 4, "previous": 1, "previous_coverage": {
        "days": 29, "covered_days": 29, "status": "full"}}]


def test_quarter_hour_week_and_month_grains(warehouse: Warehouse, metric: Metric) -> None:
    contacts(warehouse, "channel, created_at", [
        ("phone", "2024-03-04 09:00:00"), ("phone", "2024-03-04 09:14:59"),
        ("phone", "2024-03-04 09:15:00"), ("phone", "2024-03-10 23:59:00"),
        ("phone", "2024-03-11 00:00:00"), ("phone", "2024-04-01 00:00:00")])
    quarters = by(metric("contacts", start="2024-03-04T09:00:00", end="2024-03-04T10:00:00",
                         by="15min"), "period")
    assert quarters == {"2024-03-04T09:00:00": 2, "2024-03-04T09:15:00": 1,
                        "2024-03-04T09:30:00": 0, "2024-03-04T09:45:00": 0}
    weeks = by(metric("contacts", start="2024-03-04", end="2024-03-17", by="week"), "period")
    assert weeks == {"2024-03-04T00:00:00": 4, "2024-03-11T00:00:00": 1}
    months = by(metric("contacts", start="2024-03-01", end="2024-04-30", by="month"),
                "period")
    assert months == {"2024-03-01T00:00:00": 5, "2024-04-01T00:00:00": 1}


def test_segment_comes_through_customer_links(warehouse: Warehouse, metric: Metric) -> None:
    contacts(warehouse, "channel, created_at, customer_source, customer_external_id", [
        ("phone", "2024-03-04 09:00:00", "crm", "K1"),
        ("phone", "2024-03-04 10:00:00", None, "P7"),  # known to the contact's own source
        ("chat", "2024-03-04 11:00:00", "crm", "K2"),
        ("chat", "2024-03-04 12:00:00", "crm", "K404"),  # not linked to a customer
    ])
    # The identity run links both source records of customer 1 (crm K1 and the contact
    # system's own P7); customer 3 has no segment computed yet.
    insert(warehouse, "customer_links", "source, external_id, customer_id, run_id", [
        ("crm", "K1", 1, 1), ("test", "P7", 1, 1), ("crm", "K2", 2, 1), ("crm", "K3", 3, 1)])
    insert(warehouse, "customer_segments", "customer_id, segment, computed_at", [
        (1, "seniors", "2024-03-01 00:00:00"), (2, "young professionals",
                                                 "2024-03-01 00:00:00")])
    assert by(metric("contacts", by="segment"), "segment") == {
        "seniors": 2, "young professionals": 1, None: 1}
    assert metric("contacts", filters={"segment": "seniors"})[0]["value"] == 2


def test_hour_of_day_and_weekday(warehouse: Warehouse, metric: Metric) -> None:
    contacts(warehouse, "channel, created_at", [
        ("phone", "2024-03-04 09:10:00"), ("phone", "2024-03-05 09:50:00"),
        ("phone", "2024-03-05 14:00:00"), ("phone", "2024-03-10 09:00:00")])
    assert by(metric("contacts", by="hour_of_day"), "hour_of_day") == {9: 3, 14: 1}
    assert by(metric("contacts", by="weekday"), "weekday") == {0: 1, 1: 2, 6: 1}
    assert metric("contacts", filters={"hour_of_day": [9]})[0]["value"] == 3
