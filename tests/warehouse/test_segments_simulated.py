"""Segments and retention of a simulated subscription company against the simulator's truth.

The simulator's customers hold monthly subscriptions (holdings with a start and, for those
who leave, an end), are billed monthly (invoices, payments) and place orders when they join
or add a product. `truth/churn.csv` lists who left and when. On such a company the RFM names
must agree with the facts, and the sBG's churn predictions for a held-out final period with
what the truth says happened.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cxhub.services.customers import identity, retention
from cxhub.services.customers import segments as service
from cxhub.services.records.files import ingest_paths
from cxhub.simulate import simulate
from cxhub.warehouse import Warehouse

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings(
    "ignore:fetch_arrow_table\\(\\) is deprecated:DeprecationWarning")]


@pytest.fixture(scope="module")
def company(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Warehouse, Path]]:
    """4,000 customers over a year (seed 3), loaded as the demo loads them, then resolved."""
    tmp = tmp_path_factory.mktemp("subscribers")
    out = tmp / "company"
    simulate(out, customers=4000, days=365, seed=3, start=dt.date(2024, 11, 1))
    wh = Warehouse.open(tmp / "cxhub.duckdb")
    for entry in json.loads((out / "manifest.json").read_text()):
        report = ingest_paths(wh, "generic", [out / entry["path"]], kind=entry["kind"],
                              source=entry["source"])
        assert not report.failed, report.failed
    identity.resolve(wh)
    try:
        yield wh, out
    finally:
        wh.close()


def _churn_truth(wh: Warehouse, out: Path) -> pd.DataFrame:
    """truth/churn.csv with the resolved customer of each person's CRM record."""
    links = pd.DataFrame(wh.read(
        "SELECT external_id, customer_id FROM customer_links WHERE source = 'crm'"),
        columns=["crm_external_id", "customer_id"])
    truth = pd.read_csv(out / "truth" / "churn.csv", parse_dates=["churn_date"])
    return truth.merge(links, on="crm_external_id")


def test_rfm_names_agree_with_tenure_and_churn(company: tuple[Warehouse, Path]) -> None:
    wh, out = company
    c = service.compute_rfm(wh)
    churned = set(_churn_truth(wh, out)["customer_id"].astype(int))
    c["churned"] = c["customer_id"].astype(int).isin(churned)
    named = c[c["rfm_segment"] != "no purchases"]
    print(named.groupby("rfm_segment").agg(
        customers=("churned", "size"), churned=("churned", "sum"),
        over_a_year=("paying_days", lambda d: int((d > 365).sum()))).to_string())
    # "new": only customers of less than 90 days (before: 27 % of the demo's customers were
    # "new", 84 % of them customers for over a year).
    new = named[named["rfm_segment"] == "new"]
    assert len(new) > 0 and new["paying_days"].max() < 90
    # "lost": only customers who left or have gone silent. On the simulated company nearly
    # every "lost" customer left in truth (a few merged with a stranger by identity
    # resolution are not); before, 43 % of the demo's "lost" had left.
    lost = named[named["rfm_segment"] == "lost"]
    assert (lost["left"] | (lost["idle_days"] >= 180)).all()
    assert lost["churned"].mean() > 0.95
    # Customers who left in truth are "lost", bar those merged with someone still there.
    assert named.loc[named["churned"], "rfm_segment"].eq("lost").mean() > 0.7
    # Every score takes all five values (before, F took only 1 and 5).
    for score in "rfm":
        assert sorted(named[score].unique()) == [1, 2, 3, 4, 5], score


def test_sbg_predicts_the_held_out_churn(company: tuple[Warehouse, Path]) -> None:
    wh, out = company
    check = retention.check_retention(wh, holdout_months=3, with_rfm=False)
    truth = _churn_truth(wh, out)
    window = truth[(truth["churn_date"].dt.date > check.calibration_end)
                   & (truth["churn_date"].dt.date <= check.as_of)]
    c = check.customers
    c["truth_left"] = c["customer_id"].astype(int).isin(set(window["customer_id"].astype(int)))
    expected, left, actual = c["predicted"].sum(), c["left"].sum(), c["truth_left"].sum()
    print(f"{len(c)} subscribers at {check.calibration_end}: expected {expected:.1f} to leave "
          f"by {check.as_of}, {left} did in the warehouse, {actual} in truth")
    # Measured on this company (seed 3): 3,536 subscribers, 102.2 expected to leave, 80 did
    # in the warehouse and 79 in truth. The model leans high on the simulator, whose churn
    # falls through the year faster than the sBG expects (on the 50,000-customer companies
    # 5-14 %, see docs/segments.md), and Poisson noise on 80 leavers is +-11 %; identity
    # merges can hide leavers from the warehouse, so the bound against truth is wider.
    assert abs(expected - actual) < 3 * np.sqrt(actual) + 0.15 * actual
    assert abs(expected - left) < 3 * np.sqrt(left) + 0.10 * left
    # Per cohort (years with at least 300 subscribers), the same within wider bounds.
    by = c.groupby("cohort").agg(n=("predicted", "size"), expected=("predicted", "sum"),
                                 actual=("truth_left", "sum"))
    big = by[by["n"] >= 300]
    assert len(big) >= 3
    assert (abs(big["expected"] - big["actual"]) < 3 * np.sqrt(big["expected"]) + 3).all(), big


def test_value_of_subscribers_and_alive_by_segment(company: tuple[Warehouse, Path]) -> None:
    wh, _ = company
    seg = service.compute_segments(wh, service.SegmentSettings(persona_k=range(3, 4)))
    assert seg.retention is not None, seg.retention_error
    c = seg.customers
    subs = c[c["subscriber"]]
    # Subscribers who left are not alive and bring nothing more; those still there are alive,
    # and their value is their monthly amount times a DERL between one month and the
    # undiscounted sum of 120 months.
    assert (subs.loc[subs["left"], "p_alive"] == 0).all()
    assert (subs.loc[subs["left"], "subscription_value"] == 0).all()
    active = subs[~subs["left"]]
    assert (active["p_alive"] == 1).all()
    months = active["subscription_value"] / active["monthly_amount"]
    assert ((months > 1) & (months < 120)).all()
    assert (c["clv"].notna() == (c["subscriber"] | c["purchase_value"].notna())).all()
