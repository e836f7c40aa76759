"""Forecast series, models and backtests on synthetic demand with a known weekly pattern."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from cxhub.analytics.forecast import backtest, models
from cxhub.analytics.forecast.series import (
    Series,
    SeriesError,
    check_history,
    count_series,
    exclude,
    horizon_days,
    interval_minutes,
    mark_gaps,
)

FAST = ("seasonal_mean", "profile_mean", "profile_recent")  # no statsforecast: quick tests


def _rate(days: int, per_day: int = 48) -> np.ndarray:
    """Expected calls per half hour: open 8:00-20:00 with a midday peak, Saturday a third,
    Sunday closed, weekdays a little apart."""
    slot = np.arange(per_day)
    shape = np.where((slot >= 16) & (slot < 40), 1 + np.sin((slot - 16) / 24 * np.pi), 0.0)
    level = np.array([40, 36, 34, 34, 30, 12, 0])
    start = dt.date(2024, 1, 1)  # a Monday
    return np.concatenate([level[(start + dt.timedelta(d)).weekday()] * shape
                           for d in range(days)])


def _series(days: int, seed: int = 3) -> Series:
    rng = np.random.default_rng(seed)
    return Series("synthetic", dt.date(2024, 1, 1), 48, rng.poisson(_rate(days)).astype(float))


def test_averaging_models_beat_the_weekly_seasonal_naive_and_intervals_cover() -> None:
    result = backtest.evaluate(_series(42), 1, 14, candidates=FAST)
    assert result["mase"] < 0.85 * result["mase_seasonal_naive"]
    assert 0.88 <= result["coverage"] <= 0.995
    assert {r["model"] for r in result["per_fold"]} <= set(FAST)


@pytest.mark.slow
def test_statsforecast_candidates_run_and_are_scored() -> None:
    fc = backtest.forecast(_series(21), 2, folds=2)
    assert set(fc.inner_mae) == set(models.CANDIDATES)
    assert fc.point.shape == (96,) and np.all(fc.lo <= fc.point) and np.all(fc.point <= fc.hi)
    tuesday = fc.point[48:]  # the history ends on Sunday 21 January: Monday, then Tuesday
    assert tuesday[:16].sum() < 1  # closed at night
    assert tuesday[16:40].sum() > 10 * tuesday[:16].sum()


def test_day_kinds_group_weekdays_with_the_same_shape() -> None:
    s = _series(28)
    kinds = models.day_kinds(s.values, s.weekdays(), 48)
    assert len(set(kinds[:5])) == 1  # Monday to Friday share one intraday shape
    # Saturday has the same shape at a lower level: it joins them; Sunday (closed) is alone.
    assert kinds[6] not in set(kinds[:6])


def test_known_events_are_left_out_of_training() -> None:
    s = _series(35)
    boosted = s.values.copy()
    campaign = slice(28 * 48, 35 * 48)  # the last week doubled by a campaign
    boosted[campaign] *= 2
    raw = Series("campaign", s.start, 48, boosted)
    start = dt.datetime(2024, 1, 29)
    cleaned, marked = exclude(raw, [(start, start + dt.timedelta(days=7))])
    assert marked == int(np.sum(~np.isnan(boosted[campaign])))
    truth = _rate(42)[35 * 48:].sum()
    with_event = backtest.forecast(raw, 7, candidates=FAST).point.sum()
    without = backtest.forecast(cleaned, 7, candidates=FAST).point.sum()
    assert abs(without - truth) < abs(with_event - truth)
    assert abs(without / truth - 1) < 0.1


def test_a_day_missing_from_the_export_is_a_gap_not_a_quiet_day() -> None:
    s = _series(28)
    values = s.values.copy()
    values[15 * 48:16 * 48] = 0  # a Tuesday with nothing at all
    values[6 * 48:7 * 48] = 0  # Sundays are closed anyway: not gaps
    marked, gaps = mark_gaps(Series("gappy", s.start, 48, values))
    assert gaps == [dt.date(2024, 1, 16)]
    assert np.isnan(marked.values[15 * 48:16 * 48]).all()


def test_daylight_saving_days_mark_the_missing_and_repeated_slots() -> None:
    # UTC times every 10 minutes across both of 2024's clock changes in London.
    spring = pd.Series(pd.date_range("2024-03-30", "2024-04-01 23:59", freq="10min"))
    s = count_series(spring, name="spring", minutes=30, timezone="Europe/London",
                     start=dt.date(2024, 3, 30), end=dt.date(2024, 3, 31))
    day = s.values[48:96]  # 31 March: 01:00-02:00 never happened
    assert np.isnan(day[2]) and np.isnan(day[3]) and np.isnan(day).sum() == 2
    assert day[4] == 3  # 02:00 local exists again (it is 01:00 UTC)
    autumn = pd.Series(pd.date_range("2024-10-26", "2024-10-28 23:59", freq="10min"))
    s = count_series(autumn, name="autumn", minutes=30, timezone="Europe/London",
                     start=dt.date(2024, 10, 27), end=dt.date(2024, 10, 27))
    assert np.isnan(s.values[2]) and np.isnan(s.values[3]) and np.isnan(s.values).sum() == 2
    assert s.values[1] == 3 and s.values[4] == 3


def test_too_little_history_says_how_much_is_needed() -> None:
    with pytest.raises(SeriesError, match="10 days of history.*at least 14 days"):
        check_history(_series(10))
    with pytest.raises(SeriesError, match="needs? at least 28 days"):
        backtest.evaluate(_series(20), 1, 14)


def test_a_series_with_no_contacts_is_refused() -> None:
    empty = Series("nothing", dt.date(2024, 1, 1), 48, np.zeros(48 * 21))
    with pytest.raises(SeriesError, match="no contacts at all"):
        check_history(empty)
    with pytest.raises(SeriesError, match="MASE is undefined"):
        backtest.evaluate(empty, 1, 3)


def test_duplicate_times_are_separate_contacts() -> None:
    t = pd.Series(pd.to_datetime(["2024-01-01 09:00:05"] * 3 + ["2024-01-01 09:31:00"]))
    s = count_series(t, name="dups", minutes=30)
    assert s.values[18] == 3 and s.values[19] == 1 and s.values.sum() == 4


@pytest.mark.parametrize(("text", "fn", "message"), [
    ("45min", interval_minutes, "15min, 30min, 60min"),
    ("0d", horizon_days, "1 to 366 days"),
    ("soon", horizon_days, "like 1d, 14d or 2w"),
])
def test_bad_interval_and_horizon_are_named(text, fn, message) -> None:
    with pytest.raises(SeriesError, match=message):
        fn(text)


@pytest.mark.slow
def test_cli_evaluates_a_csv_of_contact_times(tmp_path) -> None:
    import json

    from click.testing import CliRunner

    from cxhub.cli.main import main

    s = _series(21)
    times = [s.slot_start(i) + dt.timedelta(minutes=7) for i, v in enumerate(s.values)
             for _ in range(int(v))]
    path = tmp_path / "calls.csv"
    path.write_text("id,started\n" + "".join(f"{k},{t}\n" for k, t in enumerate(times)))
    args = ["forecast", "evaluate", str(path), "--format", "csv", "--time-col", "started",
            "--interval", "60min", "--horizon", "1d", "--folds", "1", "--json"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    got = json.loads(result.output)
    assert {"mase", "mase_seasonal_naive", "model", "folds"} <= set(got) and got["folds"] == 1
    bad = tmp_path / "bad.csv"
    bad.write_text("id,started\n1,2024-01-01 09:00\n2,yesterday\n")
    result = CliRunner().invoke(main, [*args[:2], str(bad), *args[3:]])
    said = " ".join(result.output.split())  # the console wraps long lines
    assert result.exit_code == 2 and "bad.csv line 3: started is not a time" in said
    short = CliRunner().invoke(main, [*args[:-2], "7", "--json"])
    # Sunday the 21st (closed) has no contacts: the file spans 20 days.
    assert short.exit_code == 2 and ("20 days of data; 7 folds of 1 day(s) with weekly "
                                     "seasonality need at least 21 days"
                                     in " ".join(short.output.split()))
