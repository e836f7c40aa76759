"""Segments of a company that sells subscriptions and one-off purchases, on a small hand-made
warehouse: RFM names against tenure and activity, invoices kept out of the repeat-buying
model, the sBG's outlook and the combined lifetime value. Expected values worked out by hand
from docs/segments.md (the arithmetic is in the comments)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd
import pytest

from cxhub.analytics.segments import sbg
from cxhub.services.customers import retention
from cxhub.services.customers import segments as service
from cxhub.services.records.api import RecordSink
from cxhub.warehouse import Warehouse

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings(
    "ignore:fetch_arrow_table\\(\\) is deprecated:DeprecationWarning")]

AS_OF = dt.date(2026, 6, 30)
KEY = {"customer_source": "crm"}


def _at(days_before: int, hour: int = 12) -> dt.datetime:
    return dt.datetime.combine(AS_OF - dt.timedelta(days=days_before), dt.time(hour))


def _write(wh: Warehouse, kind: str, rows: list[dict[str, Any]]) -> None:
    RecordSink(wh).submit(kind, rows).result()


# Subscribers: (customer, monthly amount, started, ended or None).
# s1 since 2020 and in touch 5 days ago; s2 joined 40 days ago; s3 left 60 days ago;
# s4 since 2019 and never heard from: an active subscriber, not a lost one.
HOLDINGS = [
    ("s1", 30.0, dt.datetime(2020, 1, 1, 12), None),
    ("s2", 30.0, _at(40), None),
    ("s3", 20.0, dt.datetime(2022, 3, 1, 12), _at(60)),
    ("s4", 45.0, dt.datetime(2019, 5, 1, 12), None),
]
# Buyers with no subscription: (customer, [(days before, amount)]). b5 bought once 300 days
# ago and is silent since; b6 bought for the first time 20 days ago; b7 bought three times,
# last 200 days ago, and called 30 days ago.
ORDERS = {"b5": [(300, 100.0)], "b6": [(20, 50.0)], "b7": [(400, 60.0), (300, 60.0),
                                                         (200, 60.0)],
          "s2": [(40, 50.0)]}
CONTACTS = [("s1", 5), ("b7", 30), ("p8", 10)]  # p8 is a prospect: a contact, nothing bought


def _company(wh: Warehouse) -> None:
    _write(wh, "holdings", [
        {"source": "sales", "external_id": f"h-{c}", "customer_external_id": c,
         "product": "broadband", "monthly_amount": amount, "started_at": start,
         "ended_at": end, **KEY} for c, amount, start, end in HOLDINGS])
    tx: list[dict[str, Any]] = []
    for c, amount, start, end in HOLDINGS:
        # Monthly invoices over the last year while subscribed, each paid: revenue, but
        # neither an invoice nor a payment is a purchase.
        for k in range(12):
            when = _at(3 + 30 * k)
            if when >= start and (end is None or when < end):
                for kind in ("invoice", "payment"):
                    tx.append({"source": "billing", "external_id": f"{kind}-{c}-{k}",
                               "customer_external_id": c, "kind": kind, "occurred_at": when,
                               "amount": amount, **KEY})
    for c, items in ORDERS.items():
        tx += [{"source": "shop", "external_id": f"o-{c}-{i}", "customer_external_id": c,
                "kind": "order", "occurred_at": _at(d, 10), "amount": a, **KEY}
               for i, (d, a) in enumerate(items)]
    _write(wh, "transactions", tx)
    _write(wh, "contacts", [
        {"source": "pbx", "external_id": f"k-{c}-{d}", "customer_external_id": c,
         "channel": "phone", "created_at": _at(d, 15), **KEY} for c, d in CONTACTS])
    names = ["s1", "s2", "s3", "s4", "b5", "b6", "b7", "p8"]

    def link(con: Any) -> None:
        con.executemany("INSERT INTO customers (customer_id, customer_since) VALUES (?, ?)",
                        [[i + 1, dt.date(2019, 1, 1)] for i in range(len(names))])
        con.executemany("INSERT INTO customer_links (source, external_id, customer_id) "
                        "VALUES ('crm', ?, ?)", [[n, i + 1] for i, n in enumerate(names)])
    wh.write(link)


@pytest.fixture
def company(warehouse: Warehouse) -> Warehouse:
    _company(warehouse)
    return warehouse


def test_rfm_names_follow_tenure_and_activity(company: Warehouse) -> None:
    got = service.compute_rfm(company, AS_OF).set_index("customer_id")
    # Subscribers (window end 2026-07-01, a month 30.4375 days):
    # F = months paid: s1 2372.5 days = 77.95 months -> 77 renewals -> 78; s2 40.5 days -> 2;
    # s3 left after 1522 days = 50.004 months -> left at renewal 51; s4 2617.5 days =
    # 85.996 months -> 85 renewals -> 86.
    # R = days since the last activity or the subscription's start or end: 5, 40, 60, 2617.
    # M = the year's invoices (payments left out): s1 12 x 30; s2 2 x 30 + the 50 order;
    # s3 invoices 3..333 days back before its end 60 days back: 10 x 20; s4 12 x 45.
    assert got.loc[[1, 2, 3, 4], "frequency"].tolist() == [78, 2, 51, 86]
    assert got.loc[[1, 2, 3, 4], "recency_days"].tolist() == [5, 40, 60, 2617]
    assert got.loc[[1, 2, 3, 4], "monetary"].tolist() == [360, 110, 200, 540]
    # Scored among the 4 subscribers: 1 + floor(5 x share strictly worse).
    # R: 5 beats 3 -> 4; 40 beats 2 -> 3; 60 beats 1 -> 2; 2617 -> 1.
    # F: 78 beats 2 -> 3; 2 -> 1; 51 beats 1 -> 2; 86 beats 3 -> 4. M: 360 -> 3, 110 -> 1,
    # 200 -> 2, 540 -> 4.
    # Buyers (b5, b6, b7) among themselves: R on 300, 20, 200 days -> 1, 4, 2; F on 1, 1, 3
    # purchase days -> 1, 1, 4; M on 100, 50, 180 -> 2, 1, 4.
    expected = {
        1: ("433", "loyal"),  # R 4, F 3: not a champion (F < 4)
        2: ("311", "new"),  # 41 days a customer
        3: ("222", "lost"),  # left 60 days ago
        4: ("144", "cannot lose"),  # silent for years but still paying: not lost
        5: ("112", "lost"),  # one purchase, nothing for 300 days
        6: ("411", "new"),  # first purchase 20 days ago
        7: ("244", "cannot lose"),  # quiet for 200 days, but called 30 days ago
        8: (None, "no purchases"),
    }
    for cust, (score, segment) in expected.items():
        assert (got.loc[cust, "rfm_score"], got.loc[cust, "rfm_segment"]) == (score, segment), cust
    # The facts behind the names.
    assert got.loc[[1, 2, 3, 4], "subscriber"].all() and not got.loc[[5, 6, 7], "subscriber"].any()
    assert got.loc[3, "left"] and not got.loc[[1, 2, 4], "left"].any()
    assert got.loc[7, "idle_days"] == 30
    assert got.loc[2, "paying_days"] == 40 and got.loc[6, "paying_days"] == 20


def test_invoices_are_not_purchases(company: Warehouse) -> None:
    fit_keys = set(service.features.clv_summary(service._con(company), AS_OF)["customer_key"])
    # Only the customers with orders: s2 (2) and the buyers (5, 6, 7).
    assert fit_keys == {"2", "5", "6", "7"}


def test_subscribers_value_and_outlook(company: Warehouse) -> None:
    settings = service.SegmentSettings(as_of=AS_OF, persona_k=range(2, 3))
    seg = service.compute_segments(company, settings)
    assert seg.retention is not None, seg.retention_error
    c = seg.customers.set_index("customer_id")
    p = seg.retention.pooled.params
    monthly = 1.1 ** (1 / 12) - 1
    # s1 has renewed 77 times and pays 30 a month; s4 85 times, 45 a month. The data start
    # (the first transaction, b7's order on 2025-05-26 10:00) came 64.79 months into s1's
    # subscription and 72.84 into s4's: on the model's clock (from the data start) both have
    # renewed 77 - 64 = 85 - 72 = 13 times.
    assert seg.retention.clock == "data start"
    for cust, renewals, amount in ((1, 13, 30.0), (4, 13, 45.0)):
        assert c.loc[cust, "subscription_value"] == pytest.approx(
            amount * float(sbg.derl(p, renewals, monthly)))
        assert c.loc[cust, "retention_12m"] == pytest.approx(
            float(sbg.survival(p, renewals + 12) / sbg.survival(p, renewals)))
        assert c.loc[cust, "p_alive"] == 1.0
    # s3 left: nothing more to come from the subscription, and not alive.
    assert (c.loc[3, "subscription_value"], c.loc[3, "retention_12m"], c.loc[3, "p_alive"]) == (
        0.0, 0.0, 0.0)
    # CLV is the sum of the parts a customer has; a prospect has none.
    parts = c[["subscription_value", "purchase_value"]]
    both = parts.notna().all(axis=1)
    assert np.allclose(c.loc[both, "clv"], parts[both].sum(axis=1))
    only_sub = parts["subscription_value"].notna() & parts["purchase_value"].isna()
    assert np.allclose(c.loc[only_sub, "clv"], parts.loc[only_sub, "subscription_value"])
    assert np.isnan(c.loc[8, "clv"]) and c.loc[8, "segment"] == "no purchases"


def test_refresh_stores_the_new_columns(company: Warehouse) -> None:
    settings = service.SegmentSettings(as_of=AS_OF, persona_k=range(2, 3))
    report = service.refresh_segments(company, settings)
    assert report.stored == 8
    rows = {r[0]: r[1:] for r in company.read(
        "SELECT customer_id, subscriber, paying_days, retention_12m, subscription_value, "
        "purchase_value, clv, rfm_segment FROM customer_segments")}
    assert rows[3][0] is True and rows[3][2:4] == (0.0, 0.0) and rows[3][6] == "lost"
    assert rows[6][0] is False and rows[6][1] == 20 and rows[6][3] is None
    assert rows[1][3] > 0 and rows[1][5] == pytest.approx(rows[1][3])


def test_retention_check_on_hand_made_subscriptions(warehouse: Warehouse) -> None:
    """Two cohorts of 200 with a fixed churn each (a 2024 cohort loses 1 in 20 a month, a 2025
    cohort 1 in 10): held out the last three months, the expected leavers match by cohort."""
    rng = np.random.default_rng(11)
    rows, tx = [], []
    for cohort, start, p in (("2024", dt.datetime(2024, 1, 15), 0.05),
                             ("2025", dt.datetime(2025, 1, 15), 0.10)):
        life = rng.geometric(p, 200)  # the month each customer leaves in
        for i, months in enumerate(life):
            end = start + pd.Timedelta(days=365.25 / 12) * (months - 0.5)
            rows.append({"source": "sales", "external_id": f"h{cohort}-{i}",
                         "customer_external_id": f"c{cohort}-{i}", "product": "bb",
                         "monthly_amount": 10.0, "started_at": start,
                         "ended_at": end if end < dt.datetime(2026, 7, 1) else None, **KEY})
    _write(warehouse, "holdings", rows)
    tx = [{"source": "billing", "external_id": "first", "customer_external_id": "c2024-0",
           "kind": "invoice", "occurred_at": dt.datetime(2024, 1, 15), "amount": 10.0, **KEY}]
    _write(warehouse, "transactions", tx)
    check = retention.check_retention(warehouse, as_of=AS_OF, holdout_months=3,
                                      with_rfm=False)
    by = check.by("cohort").set_index("group")
    for cohort, p in (("2024", 0.05), ("2025", 0.10)):
        # Geometric churn: the model's 3-month churn should be near 1 - (1 - p)^3.
        assert by.loc[cohort, "expected_share"] == pytest.approx(1 - (1 - p) ** 3, abs=0.05)
        n = by.loc[cohort, "subscribers"]
        assert abs(by.loc[cohort, "expected"] - by.loc[cohort, "left"]) < 3 * np.sqrt(n * p * 3)
    # By cohort and plan: every customer here started on "bb", so each group is its cohort
    # and the fits (and predictions) are the cohort's.
    by_plan = retention.check_retention(warehouse, as_of=AS_OF, holdout_months=3,
                                        with_rfm=False, fit_by="cohort and plan")
    assert {"2024", "2025", "2024 / bb", "2025 / bb"} <= set(by_plan.model.cohorts)
    assert by_plan.customers["predicted"].to_numpy() == pytest.approx(
        check.customers["predicted"].to_numpy())
    assert set(by_plan.customers["plan"]) == {"bb"}


def test_v11_columns_on_a_new_file_and_on_an_old_one(tmp_path: Any) -> None:
    import duckdb

    from cxhub.warehouse.schema import migrate

    new = ("subscriber", "paying_days", "retention_12m", "expected_months",
           "subscription_value", "purchase_value")
    for target in (None, 6):  # a fresh file, and a file made at v6 then migrated
        con = duckdb.connect(str(tmp_path / f"v{target}.duckdb"))
        if target is not None:
            migrate(con, target)
        migrate(con)
        columns = {r[0] for r in con.execute(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_name = 'customer_segments'").fetchall()}
        assert set(new) <= columns, target
        con.close()


def test_a_subscriber_who_left_and_bought_again_is_not_lost(warehouse: Warehouse) -> None:
    # x left 100 days ago and ordered 10 days ago; y left 100 days ago and did nothing since.
    start = dt.datetime(2023, 1, 1, 12)
    _write(warehouse, "holdings", [
        {"source": "sales", "external_id": f"h-{c}", "customer_external_id": c,
         "product": "broadband", "monthly_amount": 30.0, "started_at": start,
         "ended_at": _at(100), **KEY} for c in ("x", "y")])
    _write(warehouse, "transactions", [
        {"source": "shop", "external_id": "o-x", "customer_external_id": "x", "kind": "order",
         "occurred_at": _at(10), "amount": 40.0, **KEY}])
    got = service.compute_rfm(warehouse, AS_OF).set_index("customer_key")
    assert got.loc["crm|y", "rfm_segment"] == "lost"
    assert got.loc["crm|x", "left"] and got.loc["crm|x", "rfm_segment"] != "lost"
