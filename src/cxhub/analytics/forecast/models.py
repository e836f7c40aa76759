"""The candidate forecasting models. Each takes whole days of history and returns whole days.

A model is `f(history, weekdays, future_weekdays, per_day) -> forecast`: `history` holds
n_days x per_day counts (NaN = missing), `weekdays` each history day's weekday (Monday 0),
`future_weekdays` those of the days to forecast. With a few weeks of data, what a model can
learn is the weekly pattern and the current level, and noise is the enemy: one week's slot of
30 minutes holds a few dozen calls. So besides statsforecast's MSTL and AutoETS the
candidates average: the seasonal mean of recent weeks, and a day-level x daily-profile model
that estimates the intraday shape from every recent day of the same kind (Sunday to Thursday
share one shape at the Anonymous Bank, Monday to Friday at a British company).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np

Model = Callable[[np.ndarray, np.ndarray, np.ndarray, int], np.ndarray]
RECENT_WEEKS = 4  # the weeks averaged for a weekday's level and the seasonal mean
RECENT_DAYS = 5  # recent days of the same kind averaged for profile_recent's level
PROFILE_DAYS = 10  # recent days of the same kind averaged for the intraday shape
SAME_SHAPE = 0.8  # cosine similarity of two weekdays' intraday shares to share a shape
MSTL_WEEKS = 8  # history given to MSTL: enough for the weekly season, bounded in time


def _days(history: np.ndarray, per_day: int) -> np.ndarray:
    return history.reshape(-1, per_day)


def _same_weekday(days: np.ndarray, weekdays: np.ndarray, wd: int, k: int) -> np.ndarray:
    rows = np.flatnonzero(weekdays == wd)[-k:]
    return days[rows]


def seasonal_naive(history: np.ndarray, weekdays: np.ndarray, future: np.ndarray,
                   per_day: int) -> np.ndarray:
    """The same slot one week earlier (the baseline every model is measured against)."""
    days = _days(history, per_day)
    out = []
    for wd in future:
        last = _same_weekday(days, weekdays, wd, 1)
        row = last[0] if len(last) else np.full(per_day, np.nan)
        out.append(np.where(np.isnan(row), _nanmean_rows(_same_weekday(
            days, weekdays, wd, RECENT_WEEKS), per_day), row))
    return np.asarray(np.nan_to_num(np.concatenate(out)), dtype=float)


def seasonal_mean(history: np.ndarray, weekdays: np.ndarray, future: np.ndarray,
                  per_day: int) -> np.ndarray:
    """The mean of the same slot over the last four weeks (missing slots left out)."""
    days = _days(history, per_day)
    return np.concatenate([_nanmean_rows(_same_weekday(days, weekdays, wd, RECENT_WEEKS),
                                         per_day) for wd in future])


def _nanmean_rows(rows: np.ndarray, per_day: int) -> np.ndarray:
    if not len(rows):
        return np.zeros(per_day)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a slot missing in every week
        return np.asarray(np.nan_to_num(np.nanmean(rows, axis=0)), dtype=float)


def day_kinds(history: np.ndarray, weekdays: np.ndarray, per_day: int) -> np.ndarray:
    """Group the weekdays whose intraday shapes agree (cosine >= SAME_SHAPE), busiest first:
    returns each weekday's group number."""
    days = _days(history, per_day)
    shapes = np.zeros((7, per_day))
    volume = np.zeros(7)
    for wd in range(7):
        rows = days[weekdays == wd]
        total = np.nan_to_num(rows).sum(axis=0)
        volume[wd] = total.sum()
        if volume[wd] > 0:
            shapes[wd] = total / volume[wd]
    kinds = np.full(7, -1)
    for wd in np.argsort(-volume):
        if kinds[wd] >= 0:
            continue
        kinds[wd] = wd
        for other in range(7):
            if kinds[other] < 0 and volume[other] > 0 and volume[wd] > 0:
                a, b = shapes[wd], shapes[other]
                if a @ b / (np.linalg.norm(a) * np.linalg.norm(b)) >= SAME_SHAPE:
                    kinds[other] = wd
    return kinds


def _shape(days: np.ndarray, weekdays: np.ndarray, kinds: np.ndarray, wd: int) -> np.ndarray:
    """The mean intraday share profile of the last PROFILE_DAYS complete days of wd's kind."""
    per_day = days.shape[1]
    same = np.flatnonzero(kinds[weekdays] == kinds[wd])
    complete = [d for d in same if not np.isnan(days[d]).any() and days[d].sum() > 0]
    rows = days[complete[-PROFILE_DAYS:]]
    if not len(rows):  # no complete day: shares of whatever slots were seen
        total = np.nan_to_num(days[same]).sum(axis=0)
        return total / total.sum() if total.sum() > 0 else np.full(per_day, 1 / per_day)
    return np.asarray((rows / rows.sum(axis=1, keepdims=True)).mean(axis=0), dtype=float)


def _totals(days: np.ndarray, weekdays: np.ndarray) -> np.ndarray:
    """Each day's total; a day with missing slots is scaled up by its weekday's usual share
    of those slots, and a day with nothing seen takes its weekday's mean."""
    totals = np.nansum(days, axis=1)
    for d in np.flatnonzero(np.isnan(days).any(axis=1)):
        seen = ~np.isnan(days[d])
        usual = np.nan_to_num(days[(weekdays == weekdays[d])]).sum(axis=0)
        share = usual[seen].sum() / usual.sum() if usual.sum() > 0 else 0.0
        if share > 0.2:
            totals[d] = totals[d] / share
        else:
            others = (weekdays == weekdays[d]) & ~np.isnan(days).any(axis=1)
            totals[d] = days[others].sum(axis=1).mean() if others.any() else 0.0
    return np.asarray(totals, dtype=float)


def profile_mean(history: np.ndarray, weekdays: np.ndarray, future: np.ndarray,
                 per_day: int) -> np.ndarray:
    """Day level = mean total of the same weekday over recent weeks; x the kind's shape."""
    days = _days(history, per_day)
    kinds = day_kinds(history, weekdays, per_day)
    totals = _totals(days, weekdays)
    out = []
    for wd in future:
        same = totals[weekdays == wd][-RECENT_WEEKS:]
        level = same.mean() if len(same) else 0.0
        out.append(level * _shape(days, weekdays, kinds, wd))
    return np.concatenate(out)


def profile_recent(history: np.ndarray, weekdays: np.ndarray, future: np.ndarray,
                   per_day: int) -> np.ndarray:
    """Day level = mean total of the last RECENT_DAYS days of the same kind (quicker to follow
    a change of level than four weeks of one weekday, blind to weekday differences within a
    kind); x the kind's shape."""
    days = _days(history, per_day)
    kinds = day_kinds(history, weekdays, per_day)
    totals = _totals(days, weekdays)
    out = []
    for wd in future:
        same = totals[kinds[weekdays] == kinds[wd]][-RECENT_DAYS:]
        out.append((same.mean() if len(same) else 0.0) * _shape(days, weekdays, kinds, wd))
    return np.concatenate(out)


def profile_ets(history: np.ndarray, weekdays: np.ndarray, future: np.ndarray,
                per_day: int) -> np.ndarray:
    """Day level = statsforecast AutoETS (weekly season) on the daily totals; x the shape."""
    from statsforecast.models import AutoETS

    days = _days(history, per_day)
    kinds = day_kinds(history, weekdays, per_day)
    totals = _totals(days, weekdays)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # short series: ETS warns on its variance estimate
        level = AutoETS(season_length=7).forecast(y=totals, h=len(future))["mean"]
    level = np.maximum(np.nan_to_num(level), 0.0)
    return np.concatenate([lv * _shape(days, weekdays, kinds, wd)
                           for lv, wd in zip(level, future, strict=True)])


def mstl(history: np.ndarray, weekdays: np.ndarray, future: np.ndarray,
         per_day: int) -> np.ndarray:
    """statsforecast MSTL with daily and weekly seasons (AutoETS trend) on the last weeks;
    missing slots are filled with the seasonal mean first (MSTL needs a full series)."""
    from statsforecast.models import MSTL, AutoETS

    days = _days(history, per_day)[-MSTL_WEEKS * 7:]
    wds = weekdays[-MSTL_WEEKS * 7:]
    filled = days.copy()
    for d in np.flatnonzero(np.isnan(days).any(axis=1)):
        guess = _nanmean_rows(days[wds == wds[d]], per_day)
        filled[d] = np.where(np.isnan(days[d]), guess, days[d])
    model = MSTL(season_length=[per_day, 7 * per_day], trend_forecaster=AutoETS(model="ZZN"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fc = model.forecast(y=filled.ravel(), h=len(future) * per_day)["mean"]
    return np.asarray(np.maximum(np.nan_to_num(fc), 0.0), dtype=float)


BASELINE = "seasonal_naive"
MODELS: dict[str, Model] = {
    "seasonal_naive": seasonal_naive,
    "seasonal_mean": seasonal_mean,
    "profile_mean": profile_mean,
    "profile_recent": profile_recent,
    "profile_ets": profile_ets,
    "mstl": mstl,
}
CANDIDATES = ("seasonal_mean", "profile_mean", "profile_recent", "profile_ets", "mstl")
