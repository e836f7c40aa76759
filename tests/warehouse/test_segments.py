"""Segments on a small hand-made warehouse; every expected value below was worked out by hand
from the rules in docs/segments.md (the arithmetic is in the comments)."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import pytest

from cxhub.analytics.segments.features import segment_dimension
from cxhub.analytics.segments.portfolio import PortfolioRules
from cxhub.analytics.segments.rfm import quintile_score
from cxhub.services.customers import segments as service
from cxhub.services.records.api import RecordSink
from cxhub.warehouse import Warehouse
from cxhub.warehouse.engines import connect

# Ibis 12 still calls DuckDB 2.0's deprecated fetch_arrow_table(); harmless, and not ours.
pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings(
    "ignore:fetch_arrow_table\\(\\) is deprecated:DeprecationWarning")]

AS_OF = dt.date(2026, 6, 30)
# 2025-12-31 is 181 days before AS_OF and 2025-07-01 is 364 days before: purchases up to 181
# days back are "recent" (last 6 months), 182-364 days back "prior" (the 6 months before).

# customer -> [(days before AS_OF, amount)]; each entry is one purchase day.
PURCHASES: dict[int, list[tuple[int, float]]] = {
    1: [(2, 100), (20, 100), (40, 100), (60, 100), (200, 100), (220, 100), (240, 100),
        (260, 100)],
    2: [(5, 150), (30, 150), (60, 150), (90, 150), (120, 150), (150, 200)],
    3: [(10, 60), (100, 60), (200, 60), (250, 60), (300, 60)],
    4: [(20, 50)],
    5: [(40, 60), (300, 60)],
    6: [(60, 100), (190, 50), (210, 50)],
    7: [(100, 400), (200, 100), (250, 100), (300, 100)],
    8: [(150, 50), (350, 50)],
    9: [(300, 40)],
    10: [(300, 50), (310, 50), (320, 50), (330, 50), (340, 50)],
}
# customer -> [(channel, days before AS_OF)]; customer 11 never buys but calls a lot.
CONTACTS: dict[int, list[tuple[str, int]]] = {
    1: [("phone", 3 + i) for i in range(10)],
    3: [("email", 50), ("email", 70)],
    5: [("chat", 45), ("phone", 400)],  # the call is older than 12 months: no cost, no rate
    7: [("phone", 5 * i + 1) for i in range(20)],
    10: [("phone", 100), ("phone", 200), ("phone", 300)],
    11: [("phone", 10 * i + 1) for i in range(15)],
}


def _at(days_before: int, hour: int = 12) -> dt.datetime:
    return dt.datetime.combine(AS_OF - dt.timedelta(days=days_before), dt.time(hour))


def _write(wh: Warehouse, kind: str, rows: list[dict[str, Any]]) -> None:
    RecordSink(wh).submit(kind, rows).result()


def _link(wh: Warehouse, links: list[tuple[str, str, int]], since: dt.date) -> None:
    def job(con: Any) -> None:
        ids = sorted({c for _, _, c in links})
        con.executemany("INSERT INTO customers (customer_id, customer_since) VALUES (?, ?)",
                        [[i, since] for i in ids])
        con.executemany("INSERT INTO customer_links (source, external_id, customer_id) "
                        "VALUES (?, ?, ?)", [list(link) for link in links])
    wh.write(job)


def _shop(wh: Warehouse) -> None:
    tx: list[dict[str, Any]] = []
    for cust, days in PURCHASES.items():
        for n, (before, amount) in enumerate(days):
            # Customer 1's older purchases are in the billing system under another id;
            # identity resolution links both ids to customer 1.
            system, ext = ("billing", "b1") if cust == 1 and before >= 200 else ("crm", f"c{cust}")
            split = cust == 1 and before == 2  # two orders on one day: one purchase day
            for part in range(2 if split else 1):
                tx.append({"source": "shop", "external_id": f"t{cust}-{n}-{part}",
                           "customer_source": system, "customer_external_id": ext,
                           "kind": "order", "occurred_at": _at(before, 9 + part),
                           "amount": amount / 2 if split else amount})
    tx.append({"source": "shop", "external_id": "refund-2", "customer_source": "crm",
               "customer_external_id": "c2", "kind": "refund", "occurred_at": _at(10),
               "amount": -50.0})
    # A payment settles an order already counted: it is not revenue and not a purchase.
    tx.append({"source": "shop", "external_id": "pay-3", "customer_source": "crm",
               "customer_external_id": "c3", "kind": "payment", "occurred_at": _at(9),
               "amount": 300.0})
    _write(wh, "transactions", tx)
    contacts = [{"source": "pbx", "external_id": f"k{cust}-{i}", "customer_source": "crm",
                 "customer_external_id": f"c{cust}", "channel": channel,
                 "created_at": _at(before, 15)}
                for cust, items in CONTACTS.items() for i, (channel, before) in enumerate(items)]
    _write(wh, "contacts", contacts)


@pytest.fixture
def shop(warehouse: Warehouse) -> Warehouse:
    _shop(warehouse)
    links = [("crm", f"c{i}", i) for i in range(1, 12)] + [("billing", "b1", 1)]
    _link(warehouse, links, dt.date(2020, 1, 1))
    return warehouse


def test_customer_key_follows_identity_resolution(warehouse: Warehouse) -> None:
    _shop(warehouse)
    before = service.compute_rfm(warehouse, AS_OF).set_index("customer_key")
    # Unresolved: one customer per (customer system, id), so customer 1 is two customers.
    assert before.loc["crm|c1", "frequency"] == 4
    assert before.loc["billing|b1", "frequency"] == 4
    assert before["customer_id"].isna().all()
    _link(warehouse, [("crm", f"c{i}", i) for i in range(1, 12)] + [("billing", "b1", 1)],
          dt.date(2020, 1, 1))
    after = service.compute_rfm(warehouse, AS_OF).set_index("customer_id")
    assert after.loc[1, "frequency"] == 8
    assert after.loc[1, "monetary"] == 800
    assert len(after) == 11


def test_rfm_scores_and_segments(shop: Warehouse) -> None:
    got = service.compute_rfm(shop, AS_OF).set_index("customer_id")
    # R over recency [2,5,10,20,40,60,100,150,300,300]: 1 + floor(5 x share strictly older);
    # F over purchase days [8,6,5,1,2,3,4,2,1,5]; M over net revenue
    # [800,900,300,50,120,200,700,100,40,250] (customer 2: 950 of orders less a 50 refund;
    # customer 3's payment is not revenue).
    expected = {
        1: ("555", "champions"), 2: ("555", "champions"), 3: ("444", "champions"),
        4: ("411", "new"), 5: ("322", "needs attention"), 6: ("333", "loyal"),
        7: ("234", "cannot lose"), 8: ("222", "hibernating"), 9: ("111", "lost"),
        10: ("143", "at risk"),
    }
    for cust, (score, segment) in expected.items():
        assert (got.loc[cust, "rfm_score"], got.loc[cust, "rfm_segment"]) == (score, segment), cust
    assert got.loc[2, "monetary"] == 900
    assert got.loc[3, "monetary"] == 300
    assert got.loc[1, "recency_days"] == 2
    assert got.loc[11, "rfm_segment"] == "no purchases"
    assert got.loc[11, "rfm_score"] is None


def test_rfm_ties_share_the_lower_score() -> None:
    # 1 + floor(5 x share strictly worse): three tied lowest values all score 1; 2 beats 3 of
    # 5 -> 1 + 3 = 4; 3 beats 4 of 5 -> 5. For recency, smaller is better.
    assert quintile_score([1, 1, 1, 2, 3]).tolist() == [1, 1, 1, 4, 5]
    assert quintile_score([10, 10, 5], higher_is_better=False).tolist() == [1, 1, 4]
    assert quintile_score([float("nan"), 4.0]).tolist() == [0, 1]


def test_portfolio_quadrants_with_median_thresholds(shop: Warehouse) -> None:
    seg = service.compute_segments(shop, service.SegmentSettings(as_of=AS_OF))
    c = seg.customers.set_index("customer_id")
    # growth = (recent - prior) / mean(|recent|, |prior|): 1: 400 v 400 -> 0; 2: 900 v 0 -> 2;
    # 3: 120 v 180 -> -0.4; 4: 50 v 0 -> 2; 7: 400 v 300 -> 0.286; 9, 10: 0 v x -> -2;
    # the rest 0. Median 0; high growth is strictly above it: 2, 4, 7.
    assert c.loc[3, "value_growth"] == pytest.approx(-0.4)
    assert c.loc[7, "value_growth"] == pytest.approx(100 / 350)
    # cash = 12-month revenue - contacts x cost (phone 6, email 3.5, chat 3):
    # 1: 800-60=740, 2: 900, 3: 300-7=293, 4: 50, 5: 120-3=117 (the old call is free),
    # 6: 200, 7: 700-120=580, 8: 100, 9: 40, 10: 250-18=232, 11: -90. Median 200.
    assert c.loc[5, "cash_generated"] == pytest.approx(117)
    assert c.loc[11, "cash_generated"] == pytest.approx(-90)
    assert seg.portfolio_thresholds == {"growth": 0.0, "cash": 200.0}
    expected = {1: "cash cow", 2: "star", 3: "cash cow", 4: "question mark", 5: "dog",
                6: "dog", 7: "star", 8: "dog", 9: "dog", 10: "cash cow", 11: "dog"}
    assert c["portfolio"].to_dict() == expected


def test_portfolio_with_fixed_thresholds_and_costs(shop: Warehouse) -> None:
    rules = PortfolioRules({"phone": 10.0, "email": 0.0, "chat": 0.0}, -1.0, 0.0)
    seg = service.compute_segments(shop, service.SegmentSettings(as_of=AS_OF, portfolio=rules))
    c = seg.customers.set_index("customer_id")
    # Growth above -1 is high (everyone but 9 and 10); cash above 0 is high.
    # 7: 700 - 20 calls x 10 = 500 -> star; 11: -150 -> question mark; 9: 40 -> cash cow;
    # 10: 250 - 30 = 220 -> cash cow; 3: -0.4 > -1, 300 -> star.
    assert c.loc[7, "cash_generated"] == pytest.approx(500)
    assert c.loc[11, "cash_generated"] == pytest.approx(-150)
    assert c.loc[3, "portfolio"] == "star"
    assert c.loc[9, "portfolio"] == "cash cow"
    assert c.loc[10, "portfolio"] == "cash cow"
    assert c.loc[11, "portfolio"] == "question mark"


def test_contact_intensity_bands_and_rates(shop: Warehouse) -> None:
    seg = service.compute_segments(shop, service.SegmentSettings(as_of=AS_OF))
    c = seg.customers.set_index("customer_id")
    # Everyone is a customer since 2020: 12 months observed. Contacts in 12 months among the
    # contacting customers: 1, 2, 3, 10, 15, 20 -> median 6.5, p75 13.75, p90 17.5 (per 12).
    assert seg.intensity_cutoffs == pytest.approx([6.5 / 12, 13.75 / 12, 17.5 / 12])
    assert c.loc[1, "contacts_per_month"] == pytest.approx(10 / 12)
    bands = c["contact_intensity"].to_dict()
    assert (bands[5], bands[3], bands[10], bands[1], bands[11], bands[7]) == (
        "low", "low", "low", "medium", "high", "very high")
    assert all(bands[i] == "low" for i in (2, 4, 6, 8, 9))
    rates = {r["group"]: r for r in seg.summary()["contacts_per_1000"]["portfolio"]}
    # Stars are 2 and 7: 20 calls / 2 customers; dogs 5, 6, 8, 9, 11: 1 chat + 15 calls / 5.
    assert rates["star"]["calls_per_1000"] == pytest.approx(10_000)
    assert rates["dog"]["contacts_per_1000"] == pytest.approx(3_200)
    assert rates["dog"]["calls_per_1000"] == pytest.approx(3_000)


def test_refresh_stores_segments_usable_as_a_dimension(shop: Warehouse) -> None:
    report = service.refresh_segments(shop, service.SegmentSettings(as_of=AS_OF))
    assert report.stored == 11
    rows = {r[0]: r[1:] for r in shop.read(
        "SELECT customer_id, rfm_segment, portfolio, p_alive, clv, segment "
        "FROM customer_segments")}
    assert rows[1][:2] == ("champions", "cash cow")
    assert rows[11][3:] == (None, "no purchases")
    # In the BG/NBD a customer who never bought again cannot have dropped out.
    assert report.segments.clv is not None, report.segments.clv_error
    assert rows[4][2] == 1.0 and rows[9][2] == 1.0
    assert all(0.0 <= r[2] <= 1.0 and r[3] > 0 for i, r in rows.items() if i != 11)
    # Refreshing again replaces, never appends.
    service.refresh_segments(shop, service.SegmentSettings(as_of=AS_OF))
    assert shop.read("SELECT count(*) FROM customer_segments") == [(11,)]
    # A contact metric by segment: join contacts to their customer's segments.
    dim = segment_dimension(connect(None, duckdb_connection=shop.new_cursor())).to_pandas()
    assert set(dim[dim.customer_id == 1].external_id) == {"c1", "b1"}
    summary = service.stored_summary(shop, by="portfolio")
    assert summary["portfolio"] == {"dog": 5, "cash cow": 3, "star": 2, "question mark": 1}
    stars = next(r for r in summary["contacts_per_1000"] if r["group"] == "star")
    assert stars["calls_per_1000"] == pytest.approx(10_000)


def test_personas_find_the_planted_groups(warehouse: Warehouse) -> None:
    # Two planted groups of 20: callers who are unhappy and never online, and digital
    # customers who are happy and never call. Same tenure, no revenue, no products, no date
    # of birth: those features do not vary and drop out, leaving contacts a month, the
    # channel shares and digital touchpoints to cluster on (satisfaction only describes).
    contacts, surveys, touchpoints = [], [], []
    for i in range(40):
        caller = i < 20
        ext = f"p{i}"
        key = {"customer_source": "crm", "customer_external_id": ext}
        for j in range(8 + i % 5 if caller else 0):
            contacts.append({"source": "pbx", "external_id": f"{ext}-{j}", "channel": "phone",
                             "created_at": _at(5 * j + 1), **key})
        surveys.append({"source": "qa", "external_id": ext, "survey_type": "csat",
                        "score": 1.0 + i % 2 if caller else 5.0 - i % 2,
                        "answered_at": _at(3), **key})
        for j in range(0 if caller else 10 + i % 6):
            touchpoints.append({"source": "web", "external_id": f"{ext}-{j}",
                                "touchpoint_type": "web_visit", "occurred_at": _at(j + 1),
                                **key})
    _write(warehouse, "contacts", contacts)
    _write(warehouse, "surveys", surveys)
    _write(warehouse, "touchpoints", touchpoints)
    _link(warehouse, [("crm", f"p{i}", 100 + i) for i in range(40)], dt.date(2021, 3, 1))

    settings = service.SegmentSettings(as_of=AS_OF, persona_k=range(2, 5))
    seg = service.compute_segments(warehouse, settings)
    c = seg.customers.set_index("customer_id")
    assert seg.personas.k == 2
    callers = set(c.loc[100:119, "persona"])
    digital = set(c.loc[120:139, "persona"])
    assert len(callers) == 1 and len(digital) == 1
    # Every contact is a call, so the channel shares do not vary either. Each group differs
    # from everyone by about one standard deviation on each remaining feature: 0.83 calls a
    # month against none, no touchpoints against 1.04 a month, satisfaction 0.125 against
    # 0.875 (0-1 scale).
    caller_words, digital_words = callers.pop().split(", "), digital.pop().split(", ")
    assert set(caller_words) == {"contacts a lot", "rarely online", "dissatisfied"}
    assert set(digital_words) == {"rarely in touch", "active online", "satisfied"}
    rates = {r["group"]: r["calls_per_1000"] for r in seg.summary()["contacts_per_1000"]["persona"]}
    # 20 callers with 8, 9, 10, 11, 12 calls four times over: 200 calls.
    assert sorted(rates.values()) == [0.0, pytest.approx(10_000)]
    assert not math.isnan(seg.personas.silhouette or math.nan)
