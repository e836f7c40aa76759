"""The impact estimate on daily series with a known planted change."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from cxhub.analytics.problems.impact import ImpactSettings, estimate, weekly

START = dt.date(2025, 1, 1)


def _company(seed: int, effect: float, *, days: int = 365, level: float = 300.0):
    """Daily contacts of a treated cause and four others, sharing a season, growth and a
    weekday shape; the treated one drops by `effect` from day 0.7 * days, and has a
    two-week incident early on (the fit must not take it as the baseline)."""
    rng = np.random.default_rng(seed)
    t = np.arange(days)
    season = 1 + 0.25 * np.sin(2 * np.pi * t / 365) + 0.1 * np.cos(4 * np.pi * t / 365)
    weekday = np.array([1.2, 1.1, 1.0, 1.0, 0.9, 0.5, 0.4])[t % 7]
    base = season * weekday * (1 + 0.3 * t / days)
    action = int(0.7 * days)
    treated_rate = level * base
    treated_rate[action:] *= 1 - effect
    treated_rate[60:74] *= 2.5
    shares = np.array([0.8, 1.3, 0.6, 1.0])
    controls = rng.poisson(level * base[:, None] * shares[None, :]).astype(float)
    controls[200:210, 1] *= 1.8  # a campaign in one control
    treated = rng.poisson(treated_rate).astype(float)
    days_arr = np.datetime64(START, "D") + t
    return days_arr, treated, controls, START + dt.timedelta(days=action)


@pytest.mark.parametrize(("seed", "effect"), [(1, 0.3), (24, 0.2), (3, 0.45)])
def test_planted_drop_found_within_ten_percent_and_covered(seed, effect):
    days, treated, controls, action = _company(seed, effect)
    w = weekly(days, treated, controls.copy(), action, START, START + dt.timedelta(days=364))
    imp = estimate(w, action)
    assert imp.status == "measured"
    assert imp.relative_effect == pytest.approx(-effect, rel=0.10)
    assert imp.relative_low < -effect < imp.relative_high
    assert imp.significant
    assert imp.avoided_per_week > 0
    assert imp.weeks_left_out >= 1  # the incident weeks


@pytest.mark.parametrize("seed", [4, 5, 6])
def test_placebo_interval_covers_zero(seed):
    days, treated, controls, _ = _company(seed, 0.0)
    action = START + dt.timedelta(days=250)
    w = weekly(days, treated, controls, action, START, START + dt.timedelta(days=364))
    imp = estimate(w, action)
    assert imp.relative_low < 0 < imp.relative_high
    assert not imp.significant
    assert "no measurable change" in imp.message


def test_weeks_are_whole_and_aligned_on_the_action():
    days = np.datetime64("2025-01-01", "D") + np.arange(30)
    ones = np.ones(30)
    w = weekly(days, ones, ones[:, None], dt.date(2025, 1, 10), dt.date(2025, 1, 1),
               dt.date(2025, 1, 30))
    # 2025-01-03 .. 2025-01-30: weeks starting on the 3rd, 10th, 17th, 23rd.
    assert w.week_starts[0] == dt.date(2025, 1, 3)
    assert list(w.offsets) == [-1, 0, 1, 2]
    assert list(w.treated) == [7, 7, 7, 7]


def test_too_early_and_too_few_say_so():
    days, treated, controls, _ = _company(7, 0.3)
    last = START + dt.timedelta(days=364)
    action = last - dt.timedelta(days=3)
    imp = estimate(weekly(days, treated, controls, action, START, last), action)
    assert imp.status == "too_early" and imp.relative_effect is None
    assert "cannot tell yet" in imp.message
    few = estimate(weekly(days, treated / 200, controls, START + dt.timedelta(days=200), START,
                          last), START + dt.timedelta(days=200))
    assert few.status == "too_few_contacts" and "a week" in few.message
    early = START + dt.timedelta(days=20)
    imp = estimate(weekly(days, treated, controls, early, START, last), early,
                   ImpactSettings(min_weeks_before=8))
    assert imp.status == "too_little_history"
