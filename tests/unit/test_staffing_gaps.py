"""The staffing page's gaps in the roster ahead (`plan.gaps_ahead`), on a hand-made plan: runs
of consecutive under-staffed intervals still to come, the largest by agent-hours short."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd

from cxhub.services.forecast.plan import ChannelPlan, gaps_ahead


def plan(need: list[float], scheduled: list[float], arrived: int) -> ChannelPlan:
    """Half hours from Monday 09:00; the first `arrived` have actuals (the past)."""
    n = len(need)
    status = ["under" if s < d else "ok" for d, s in zip(need, scheduled, strict=True)]
    df = pd.DataFrame({
        "interval_start": pd.date_range("2026-12-07 09:00", periods=n, freq="30min"),
        "interval_minutes": 30, "need": need, "scheduled": scheduled, "status": status,
        "actual": [5.0] * arrived + [np.nan] * (n - arrived)})
    return ChannelPlan("phone", 200.0, 300.0, 0.8, 20.0, df)


def test_gaps_ahead_are_runs_of_under_staffed_intervals_still_to_come() -> None:
    need = [6, 6, 6, 6, 6, 6, 6, 6, 6, 6]
    scheduled = [4, 6, 5, 3, 4, 6, 6, 5, 6, 2]  # 0 has arrived: not ahead
    gaps, stretches = gaps_ahead(plan(need, scheduled, arrived=1))
    assert stretches == 3
    assert [(g["start"], g["end"], g["agent_hours_short"], g["short_by"], g["need"],
             g["scheduled"]) for g in gaps] == [
        # 10:00-11:30: short by 1, 3 and 2 agents, half an hour each: 3 agent-hours
        (datetime(2026, 12, 7, 10, 0), datetime(2026, 12, 7, 11, 30), 3.0, 3, 6, 3),
        (datetime(2026, 12, 7, 12, 30), datetime(2026, 12, 7, 13, 0), 0.5, 1, 6, 5),
        (datetime(2026, 12, 7, 13, 30), datetime(2026, 12, 7, 14, 0), 2.0, 4, 6, 2),
    ]


def test_the_largest_gaps_are_kept_in_time_order() -> None:
    need = [3] * 9
    scheduled = [2, 3, 1, 3, 2, 3, 0, 0, 3]  # stretches short by 0.5, 1, 0.5 and 3 agent-hours
    gaps, stretches = gaps_ahead(plan(need, scheduled, arrived=0), limit=2)
    assert stretches == 4
    assert [(g["start"].strftime("%H:%M"), g["agent_hours_short"]) for g in gaps] == [
        ("10:00", 1.0), ("12:00", 3.0)]
    assert gaps_ahead(plan([2, 2], [2, 3], arrived=0)) == ([], 0)
