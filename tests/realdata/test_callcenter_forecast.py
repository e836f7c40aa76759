"""Forecasting the real Anonymous Bank log (February 1999): 30-minute intervals, one day
ahead, seven rolling folds. The model is chosen at each origin by a backtest on the days
before it; it must beat the weekly seasonal naive's MASE by at least 10% on the same folds."""

from __future__ import annotations

from pathlib import Path

import pytest

from cxhub.analytics.forecast.backtest import evaluate
from cxhub.analytics.forecast.series import count_series
from cxhub.services.forecast.files import contact_times

pytestmark = pytest.mark.realdata


def test_day_ahead_forecast_beats_the_weekly_seasonal_naive(shared_data: Path) -> None:
    path = shared_data / "callcenter" / "anonymous_bank_1999_02.tsv"
    times = contact_times(path, "anonymous-bank")
    assert len(times) == 33_344  # every call offered: served, hung up and phantom
    series = count_series(times, name="anonymous-bank", minutes=30)
    assert series.days == 28
    result = evaluate(series, 1, 7)
    assert result["folds"] == 7 and len(result["per_fold"]) == 7
    assert [f["origin"] for f in result["per_fold"]][0] == "1999-02-22"
    assert result["mase"] <= 0.9 * result["mase_seasonal_naive"], result
    assert 0.85 <= result["coverage"] <= 1.0
