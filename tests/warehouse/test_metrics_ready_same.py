"""The ready-made tables give the same figures as the records, before and after changes.

A few thousand varied contacts (every channel and outcome, missing values, model and human
labels, customers with links, segments and holdings, surveys) are made with SQL; every metric
of the catalogue is asked the same questions twice - through `cxhub.metrics.compute` on a bare
backend (computed from the records) and through `cxhub.services.metrics.compute.compute` (current
labels, repeat gaps, tenures, hourly and daily sums) - and the answers must be equal. Then late
contacts, a human label and lifecycle events arrive, the ready-made tables are refreshed (only
the changed days, which the test checks) and the answers must still be equal.
"""

from __future__ import annotations

import math
from datetime import date
from typing import Any

import pytest

from cxhub.ingest.derive import apply_contact_events
from cxhub.metrics import compute as plain_compute
from cxhub.metrics import default_catalogue, sums
from cxhub.metrics.from_sums import choose
from cxhub.metrics.query import request
from cxhub.services.classification import labels
from cxhub.services.metrics import compute as metrics
from cxhub.services.metrics import ready_tables
from cxhub.warehouse import Warehouse
from cxhub.warehouse.engines import connect

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings(
    "ignore:fetch_arrow_table\\(\\) is deprecated:DeprecationWarning")]

_CONTACTS = """
INSERT INTO contacts (contact_id, source, external_id, customer_external_id, channel, created_at,
    queued_at, answered_at, first_response_at, resolved_at, abandoned_at, wait_seconds,
    talk_seconds, hold_seconds, wrap_seconds, outcome, team, queue, product, category, cause,
    timely)
SELECT i, 'crm', 'c' || i, CASE WHEN h % 10 <> 0 THEN 'k' || (h // 10) % $customers END,
    ch, t,
    CASE WHEN live AND h % 13 <> 0 THEN t + INTERVAL 5 SECOND END,
    CASE WHEN live AND h % 7 > 1 THEN t + to_seconds(5 + h % 90) END,
    CASE WHEN NOT live AND h % 5 > 0 THEN t + to_seconds(h % 100000) END,
    CASE WHEN h % 9 > 1 THEN t + to_seconds(300 + h % 400000) END,
    CASE WHEN live AND h % 7 <= 1 THEN t + to_seconds(2 + h % 60) END,
    CASE WHEN live AND h % 4 > 0 THEN (h % 120)::DOUBLE END,
    CASE WHEN h % 3 > 0 THEN (60 + h % 600)::DOUBLE END,
    CASE WHEN h % 5 = 0 THEN 30.0 END, CASE WHEN h % 3 = 1 THEN 20.0 END,
    CASE WHEN NOT live THEN 'responded' WHEN h % 7 <= 1 THEN
         CASE WHEN h % 11 = 0 THEN 'phantom' ELSE 'abandoned' END
         WHEN h % 17 = 0 THEN NULL ELSE 'answered' END,
    CASE WHEN h % 6 > 0 THEN ['billing', 'care', 'tech', 'sales'][1 + h % 4] END,
    ch, CASE WHEN h % 4 > 0 THEN ['broadband', 'mobile', 'tv'][1 + h % 3] END,
    CASE WHEN h % 5 = 0 THEN ['information', 'problem', 'complaint'][1 + h % 3] END,
    CASE WHEN h % 5 = 1 THEN ['billing', 'delivery'][1 + h % 2] END,
    CASE WHEN h % 8 > 0 THEN h % 8 > 1 END
FROM (SELECT i, h, ch, ch IN ('phone', 'chat') AS live,
        TIMESTAMP '2024-02-01' + to_seconds((h // 7) % (50 * 86400)) AS t
      FROM (SELECT i, (hash(i + $seed) % 1000000007)::BIGINT AS h FROM range($first, $last) r(i))
      , LATERAL (SELECT ['phone', 'chat', 'email', 'web', 'social', 'letter'][1 + h % 6] AS ch))
"""
_LABELS = """
INSERT INTO labels (target, target_id, dimension, label, score, model, model_version, is_human,
                    labelled_at)
SELECT 'contacts', contact_id, d, CASE d WHEN 'category' THEN
        ['information', 'problem', 'complaint', 'compliment'][1 + (hash(contact_id) % 4)::BIGINT]
        ELSE ['billing', 'delivery', 'pricing'][1 + (hash(contact_id + 1) % 3)::BIGINT] END,
    0.7, 'm', '1', hash(contact_id) % 20 = 0, created_at + INTERVAL 1 HOUR
FROM contacts, (VALUES ('category'), ('cause')) v(d)
WHERE contact_id BETWEEN $first AND $last AND hash(contact_id + 2) % 10 < 6
"""
_CUSTOMERS = """
INSERT INTO holdings (holding_id, source, external_id, customer_external_id, product, started_at,
                      ended_at)
SELECT j, 'crm', 'h' || j, 'k' || j, 'mobile', TIMESTAMP '2023-06-01' + to_days((j * 7) % 300),
    CASE WHEN j % 5 = 0 THEN TIMESTAMP '2024-02-10' + to_days(j % 40) END
FROM range(250) r(j);
INSERT INTO customer_links (source, external_id, customer_id, match_probability, run_id)
SELECT 'crm', 'k' || j, 1000 + j // 2, 1.0, 1 FROM range(240) r(j);
INSERT INTO customer_segments (customer_id, computed_at, segment)
SELECT 1000 + j, TIMESTAMP '2024-03-01', ['seniors', 'families', 'students'][1 + j % 3]
FROM range(120) r(j);
INSERT INTO surveys (survey_id, source, external_id, contact_external_id, survey_type, score,
                     answered_at)
SELECT k, 'crm', 's' || k, 'c' || (k * 7), ['csat', 'nps', 'ces'][1 + k % 3],
    CASE k % 3 WHEN 0 THEN 1 + k % 5 WHEN 1 THEN k % 11 ELSE 1 + k % 7 END,
    TIMESTAMP '2024-02-01' + to_seconds((k * 7919) % (50 * 86400))
FROM range(1, 500) r(k);
"""


def _make(wh: Warehouse, first: int, last: int, seed: int = 0) -> None:
    params = {"first": first, "last": last, "seed": seed, "customers": 300}
    wh.write(lambda con: con.execute(_CONTACTS, params))
    wh.write(lambda con: con.execute(_LABELS, {"first": first, "last": last}))


# (by, start, end, compare): whole days, slivers of hours, long ranges, time of day, labels.
QUESTIONS: list[tuple[tuple[str, ...], str, str, tuple[str, ...]]] = [
    (("day",), "2024-03-04", "2024-03-10", ("previous",)),
    (("channel",), "2024-03-04T09:30:00", "2024-03-11T14:15:00", ()),
    (("month",), "2024-02-01", "2024-03-31", ("previous", "last_year")),
    (("category", "cause"), "2024-02-05", "2024-03-03", ()),
    (("hour", "channel"), "2024-03-05", "2024-03-06", ()),
    (("hour_of_day", "weekday"), "2024-02-01", "2024-03-20", ()),
    ((), "2024-03-12T10:20:00", "2024-03-12T11:20:00", ()),
    (("week", "team"), "2024-02-12T06:00:00", "2024-03-17", ()),
    (("product",), "2024-03-01", "2024-03-01", ()),
]


def _same(a: list[dict[str, Any]], b: list[dict[str, Any]]) -> bool:
    if len(a) != len(b):
        return False
    for x, y in zip(a, b, strict=True):
        if x.keys() != y.keys():
            return False
        for k, v in x.items():
            w = y[k]
            if v is not None and w is not None and type(v) is not type(w):
                return False  # 3 and 3.0 (or a Decimal) read alike but print differently
            if isinstance(v, float) or isinstance(w, float):
                if v is None or w is None or not math.isclose(v, w, rel_tol=1e-9, abs_tol=1e-9):
                    if not (v is None and w is None):
                        return False
            elif v != w:
                return False
    return True


# What late contacts, labels and events can change: every kind of metric and of table.
AFFECTED = ("contacts", "complaints", "failure_demand_share", "fcr", "backlog", "contact_rate",
            "service_level", "expected_wait", "arrivals", "csat", "resolution_time")


def _check_all(wh: Warehouse, names: tuple[str, ...] | None = None,
               questions: int = len(QUESTIONS)) -> int:
    """Every metric (or those named), every question: equal from the records and from the
    ready-made tables; returns how many questions the stored sums answered."""
    bare = connect(duckdb_connection=wh.cursor())
    answered = 0
    for m in default_catalogue():
        if names is not None and m.name not in names:
            continue
        for by, start, end, compare in QUESTIONS[:questions]:
            by = tuple(b for b in by if b in m.dimensions or b in ("hour", "day", "week",
                                                                     "month"))
            kwargs = {"start": start, "end": end, "by": by, "compare": compare}
            expected = plain_compute(bare, m.name, **kwargs)
            got = metrics.compute(wh, m.name, **kwargs)
            assert _same(got, expected), (m.name, kwargs, got[:5], expected[:5])
            tables = metrics.backend(wh)
            answered += choose(tables, request(m, start=start, end=end, by=by)) is not None
    return answered


@pytest.fixture
def filled(warehouse: Warehouse) -> Warehouse:
    _make(warehouse, 1, 3000)
    warehouse.write(lambda con: con.execute(_CUSTOMERS))
    return warehouse


def _steps(done: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {d["step"]: d for d in done}


def test_every_metric_the_same_from_the_ready_made_tables(filled: Warehouse) -> None:
    assert all(d["rebuilt"] for d in ready_tables.refresh(filled))
    answered = _check_all(filled)
    assert answered >= 100  # most questions of the 18 additive metrics come from the sums


def test_the_same_after_late_contacts_a_human_label_and_events(filled: Warehouse) -> None:
    ready_tables.refresh(filled)
    # Contacts arriving late: old days, some with labels and for known customers.
    _make(filled, 3000, 3060, seed=77)
    done = _steps(ready_tables.refresh(filled))
    assert not done["sums"]["rebuilt"] and 0 < done["sums"]["changed"] < 50, done
    assert not done["repeats"]["rebuilt"] and not done["labels"]["rebuilt"], done
    _check_all(filled, AFFECTED, questions=4)

    # A person relabels a contact the model called something else.
    row = filled.read("SELECT target_id, label FROM labels WHERE dimension = 'category' "
                      "AND label <> 'complaint' AND NOT is_human ORDER BY target_id LIMIT 1")[0]
    filled.write(lambda con: con.execute(
        "INSERT INTO labels (target, target_id, dimension, label, is_human, labelled_at) "
        "VALUES ('contacts', ?, 'category', 'complaint', true, TIMESTAMP '2024-01-01')",
        [row[0]]))
    assert labels.refresh_current(filled) == {"step": "labels", "rebuilt": False, "changed": 1}
    done = _steps(ready_tables.refresh(filled))
    assert done["sums"]["changed"] == 1, done  # that contact's day summed again
    _check_all(filled, AFFECTED, questions=4)

    # Lifecycle events resolve open contacts (a batch, as `cxhub ingest` loads it).
    def events(con: Any) -> None:
        con.execute("INSERT INTO ingest_batches (batch_id, kind, status) "
                    "VALUES (99, 'contact_events', 'loaded')")
        con.execute(
            "INSERT INTO contact_events (event_id, source, external_id, contact_external_id, "
            "event_type, occurred_at, batch_id) SELECT row_number() OVER (), 'crm', "
            "'e' || contact_id, external_id, 'resolved', created_at + INTERVAL 3 DAY, 99 "
            "FROM contacts WHERE resolved_at IS NULL AND contact_id % 3 = 0")
        apply_contact_events(con, 99, "crm")

    filled.write(events)
    done = _steps(ready_tables.refresh(filled))
    assert not done["sums"]["rebuilt"] and done["sums"]["changed"] > 0, done
    _check_all(filled, AFFECTED, questions=4)


def test_a_query_reads_the_records_while_the_tables_are_behind(filled: Warehouse) -> None:
    ready_tables.refresh(filled)
    _make(filled, 3000, 3010, seed=5)
    behind = ready_tables.available(filled, refresh_if_quick=False)
    assert not behind.sums and not behind.repeats and behind.labels is False
    before = metrics.compute(filled, "contacts", start="2024-02-01", end="2024-03-31")
    bare = connect(duckdb_connection=filled.cursor())
    assert before == plain_compute(bare, "contacts", start="2024-02-01", end="2024-03-31")
    assert metrics.backend(filled).ready.sums  # the call brought them up to date


def test_the_tables_stay_fresh_after_segments_computed_at_a_fraction_of_a_second(
    warehouse: Warehouse,
) -> None:
    # Python prints .112100 where DuckDB prints .1121: the tenures step compared the two and
    # never looked fresh, so every metric call ran a refresh.
    warehouse.write(lambda con: con.execute(
        "INSERT INTO customer_segments (customer_id, computed_at, segment) "
        "VALUES (1, TIMESTAMP '2026-12-04 13:49:33.1121', 'high')"))
    ready_tables.refresh(warehouse)
    found = ready_tables.available(warehouse, refresh_if_quick=False)
    assert found.tenures and found.labels and found.repeats, found


def test_sums_kept_under_their_old_step_name_are_made_again_once(filled: Warehouse) -> None:
    # Before the words were settled the sums' step was called 'cube': a warehouse refreshed then
    # holds its state under that name, which nothing reads now.
    ready_tables.refresh(filled)
    filled.write(lambda con: con.execute(
        "UPDATE derived_state SET name = 'cube' WHERE name = 'sums'"))
    assert not ready_tables.available(filled, refresh_if_quick=False).sums
    done = _steps(ready_tables.refresh(filled))
    assert done["sums"]["rebuilt"] and not done["labels"]["rebuilt"], done
    names = {n for (n,) in filled.read("SELECT name FROM derived_state")}
    assert names == {"labels", "repeats", "tenures", "sums"}
    assert ready_tables.available(filled, refresh_if_quick=False).sums
    assert not _steps(ready_tables.refresh(filled))["sums"]["rebuilt"]


def _grain(wh: Warehouse) -> dict[str, int]:
    """Rows of the sums kept per slot and kept per whole day (dated parts only)."""
    out = {"slots": 0, "days": 0}
    for table in ("metric_hours", "metric_days", "metric_value_counts"):
        for whole, n in wh.read(f"SELECT slot IS NULL, count(*) FROM {table} "
                                "WHERE part > DATE '0001-01-01' GROUP BY 1"):
            out["days" if whole else "slots"] += n
    return out


def _late(wh: Warehouse, first: int, times: list[str]) -> None:
    """Contacts of no known customer, unlabelled and unsurveyed, created at `times`: nothing
    else changes with them."""
    wh.write(lambda con: con.executemany(
        "INSERT INTO contacts (contact_id, source, external_id, channel, created_at, "
        "answered_at, wait_seconds, outcome, team, timely) VALUES (?, 'crm', ?, 'phone', "
        "?::TIMESTAMP, ?::TIMESTAMP + INTERVAL 30 SECOND, 25, 'answered', 'care', true)",
        [[first + i, f"late{first + i}", at, at] for i, at in enumerate(times)]))


def test_recent_days_summed_again_per_slot_then_merged_into_days(
        filled: Warehouse, monkeypatch: pytest.MonkeyPatch) -> None:
    ready_tables.refresh(filled)  # February and March 2024: old days, kept whole
    assert _grain(filled)["slots"] == 0
    whole_rows = filled.read_one("SELECT count(*) FROM metric_days")[0]
    # Make them recent: a day kept whole is summed again whole once, then kept per slot.
    every_day = (date.today() - date(2024, 1, 1)).days + 2
    monkeypatch.setattr(sums, "RECENT_DAYS", every_day)
    _late(filled, 5000, ["2024-03-05 09:01", "2024-03-05 09:31", "2024-03-12 10:25"])
    done = _steps(ready_tables.refresh(filled))
    assert not done["sums"]["rebuilt"] and done["sums"]["changed"] == 2, done  # two days
    grain = _grain(filled)
    assert grain["slots"] > 0 and grain["days"] > 0, grain  # the other days are still whole
    _check_all(filled, AFFECTED)

    # More contacts of those days: only their own 10 minutes are summed again.
    _late(filled, 5010, ["2024-03-05 09:02", "2024-03-05 09:09", "2024-03-05 17:40",
                         "2024-03-12 10:20"])
    assert _steps(ready_tables.refresh(filled))["sums"]["changed"] == 3
    _check_all(filled, AFFECTED)

    # The days stop being recent: their slots are merged into whole days, as a rebuild
    # would keep them.
    monkeypatch.setattr(sums, "RECENT_DAYS", 2)
    assert _steps(ready_tables.refresh(filled))["sums"]["changed"] == 0
    assert _grain(filled)["slots"] == 0
    _check_all(filled, AFFECTED)
    merged_rows = filled.read_one("SELECT count(*) FROM metric_days")[0]
    ready_tables.refresh(filled, full=True)
    assert filled.read_one("SELECT count(*) FROM metric_days")[0] == merged_rows
    assert merged_rows > whole_rows  # the late contacts' rows
