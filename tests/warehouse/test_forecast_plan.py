"""A forecast run stored in the warehouse, compared with what arrived, and the staffing plan
against the roster with the planted under- and over-staffed half hours found."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from tests.warehouse.forecast_data import ORIGIN, OVER, UNDER, build

from cxhub.analytics.staffing import agents_needed
from cxhub.domain.errors import NotFoundError
from cxhub.services.forecast import accuracy, plan, run
from cxhub.warehouse import Warehouse


def test_run_stores_forecasts_and_the_plan_marks_the_roster(warehouse: Warehouse,
                                                            tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match="cxhub forecast run"):
        plan.plan(warehouse)
    build(warehouse, tmp_path)
    # statsforecast's candidates are checked in tests/unit/test_forecast.py; MSTL costs
    # seconds per fit, so this test chooses among the quick ones.
    report = run.run(warehouse, minutes=30, h_days=7, origin=ORIGIN,
                     candidates=("seasonal_mean", "profile_mean", "profile_recent"))
    assert report.run_id == 1 and report.rows == 7 * 48
    stored = warehouse.cursor().execute(
        "SELECT interval_start, horizon, point, lo, hi FROM forecasts WHERE run_id = 1 "
        "ORDER BY interval_start").df()
    assert stored["interval_start"].iloc[0] == pd.Timestamp(ORIGIN)
    assert stored["horizon"].tolist() == [h for h in range(1, 8) for _ in range(48)]
    assert (stored["lo"] <= stored["point"]).all() and (stored["point"] <= stored["hi"]).all()

    p = plan.plan(warehouse).channels[0]
    df = p.intervals.set_index("interval_start")
    # What arrived sits inside the 95% interval about 95% of the open half hours.
    open_ = df[df["status"] != "closed"]
    inside = ((open_["actual"] >= open_["lo"]) & (open_["actual"] <= open_["hi"])).mean()
    assert 0.85 <= inside <= 1.0
    first = dt.datetime.combine(ORIGIN, UNDER)
    assert df.loc[first, "status"] == "under" and df.loc[first, "scheduled"] == 1
    assert df.loc[dt.datetime.combine(ORIGIN, OVER), "status"] == "over"
    assert df.loc[dt.datetime.combine(ORIGIN, dt.time(3, 0)), "status"] == "closed"
    # The need is Erlang A's for the forecast, the measured AHT and patience, 80% in 20 s.
    assert p.target == 0.8 and p.threshold_seconds == 20
    assert 150 < p.aht_seconds < 210 and p.patience_seconds is not None
    row = df.loc[first]
    assert row["need"] == agents_needed(row["point"], 1800, p.aht_seconds, 0.8, 20,
                                        p.patience_seconds)
    # The day's accuracy, as the daily report gives it, against a count by hand.
    acc = accuracy.day_accuracy(warehouse, ORIGIN)
    assert [a["channel"] for a in acc] == ["phone"]
    day = df[df.index < pd.Timestamp(ORIGIN + dt.timedelta(days=1))]
    assert acc[0]["actual"] == int(day["actual"].sum())
    assert acc[0]["wape"] == pytest.approx(
        (day["actual"] - day["point"]).abs().sum() / day["actual"].sum(), abs=1e-4)
    summary = p.summary()
    assert summary["under"] >= 1 and summary["over"] >= 1
    assert summary["rostered_intervals"] == int(np.sum(~df["scheduled"].isna()))


def test_a_series_per_queue(warehouse: Warehouse, tmp_path: Path) -> None:
    build(warehouse, tmp_path)
    # Half the calls go to a billing queue: it gets a series of its own; the plan keeps to
    # whole channels (the roster is per channel).
    warehouse.write(lambda con: con.execute(
        "UPDATE contacts SET queue = CASE WHEN contact_id % 2 = 0 THEN 'billing' ELSE 'tiny' "
        "END").fetchall())
    warehouse.write(lambda con: con.execute(
        "UPDATE contacts SET queue = 'billing' WHERE queue = 'tiny' AND contact_id % 20 <> 1")
        .fetchall())
    report = run.run(warehouse, minutes=30, h_days=7, origin=ORIGIN, by="queue",
                     candidates=("profile_mean",))
    assert [c.name for c in report.channels] == ["phone/billing"]  # 'tiny' is under 500
    stored = warehouse.read("SELECT DISTINCT series, channel FROM forecasts")
    assert stored == [("phone/billing", "phone")]
    with pytest.raises(NotFoundError, match="no forecast of a whole channel"):
        plan.plan(warehouse, channel="phone")
