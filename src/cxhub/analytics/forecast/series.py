"""Demand series: contacts counted per interval of local wall-clock time, whole days only.

Seasonality lives in local time (people call at 9:00 local, summer or winter), so a series is
a grid of days x slots of local time, starting at a midnight. A day of 23 hours (the clocks go
forward) has a slot that never happened and a day of 25 hours has a slot that happened twice:
those slots are marked missing (NaN) rather than counted as zero or double, and models learn
from the other days. Known events (a campaign, an incident) are marked missing the same way.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from cxhub.domain.errors import CxhubError

INTERVALS = {"15min": 15, "30min": 30, "60min": 60, "1h": 60}
MIN_DAYS_WEEKLY = 14  # two weeks: one to learn each weekday from, one to check it on


class SeriesError(CxhubError, ValueError):
    """A series that cannot be forecast; the message says what is needed."""


def interval_minutes(interval: str) -> int:
    try:
        return INTERVALS[interval.strip().lower()]
    except KeyError:
        raise SeriesError(
            f"interval must be one of 15min, 30min, 60min, got {interval!r}") from None


def horizon_days(horizon: str) -> int:
    """'1d', '14d', '2w' -> days."""
    text = horizon.strip().lower()
    try:
        if text.endswith("w"):
            days = 7 * int(text[:-1])
        elif text.endswith("d"):
            days = int(text[:-1])
        else:
            days = int(text)
    except ValueError:
        raise SeriesError(
            f"horizon must be a number of days like 1d, 14d or 2w, got {horizon!r}") from None
    if not 1 <= days <= 366:
        raise SeriesError(f"horizon must be 1 to 366 days, got {horizon!r}")
    return days


@dataclass(frozen=True)
class Series:
    """Counts per slot of local time: `values[d * per_day + s]` is slot s of day `start + d`."""

    name: str
    start: dt.date
    per_day: int
    values: np.ndarray  # float, NaN = missing (DST slot, known event, excluded)
    timezone: str | None = None

    @property
    def days(self) -> int:
        return len(self.values) // self.per_day

    @property
    def minutes(self) -> int:
        return 1440 // self.per_day

    def weekdays(self, first: int = 0, count: int | None = None) -> np.ndarray:
        """Weekday (Monday 0) of days first .. first + count - 1 (may run past the end)."""
        count = self.days - first if count is None else count
        return (self.start.weekday() + first + np.arange(count)) % 7

    def head(self, days: int) -> Series:
        return replace(self, values=self.values[: days * self.per_day])

    def slot_start(self, index: int) -> dt.datetime:
        """The local wall-clock start of slot `index` (may be past the end: forecasts)."""
        day, slot = divmod(index, self.per_day)
        return (dt.datetime.combine(self.start, dt.time()) +
                dt.timedelta(days=day, minutes=slot * self.minutes))


def count_series(times: pd.Series, *, name: str, minutes: int, timezone: str | None = None,
                 start: dt.date | None = None, end: dt.date | None = None) -> Series:
    """Count contact times per slot. `times` are naive UTC when `timezone` is given (converted
    to local wall-clock time), else naive local times. Days run from the first contact's day
    (or `start`) to the last one's (or `end`, inclusive)."""
    if 1440 % minutes:
        raise SeriesError(f"the interval must divide a day, got {minutes} minutes")
    t = pd.to_datetime(times.dropna())
    if t.empty:
        raise SeriesError(f"{name}: no contacts to count")
    if timezone:
        t = t.dt.tz_localize("UTC").dt.tz_convert(ZoneInfo(timezone)).dt.tz_localize(None)
    first = start or t.min().date()
    last = end or t.max().date()
    n_days = (last - first).days + 1
    per_day = 1440 // minutes
    since = (t - pd.Timestamp(first)) // pd.Timedelta(minutes=minutes)
    since = since[(since >= 0) & (since < n_days * per_day)].to_numpy(dtype=np.int64)
    values = np.bincount(since, minlength=n_days * per_day).astype(float)
    series = Series(name, first, per_day, values, timezone)
    if timezone:
        series = _mark_clock_changes(series)
    return series


def _mark_clock_changes(series: Series) -> Series:
    """NaN for slots that did not exist (clocks forward) or happened twice (clocks back)."""
    zone = ZoneInfo(series.timezone or "UTC")
    values = series.values.copy()
    for d in range(series.days):
        day = series.start + dt.timedelta(days=d)
        midnight = dt.datetime.combine(day, dt.time(), zone)
        next_midnight = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), zone)
        hours = (next_midnight.astimezone(dt.UTC) - midnight.astimezone(dt.UTC))
        if hours == dt.timedelta(days=1):
            continue
        for s in range(series.per_day):
            wall = midnight.replace(tzinfo=None) + dt.timedelta(minutes=s * series.minutes)
            there = wall.replace(tzinfo=zone)
            round_trip = there.astimezone(dt.UTC).astimezone(zone).replace(tzinfo=None)
            twice = (wall.replace(tzinfo=zone, fold=0).utcoffset()
                     != wall.replace(tzinfo=zone, fold=1).utcoffset())
            if round_trip != wall or twice:
                values[d * series.per_day + s] = np.nan
    return replace(series, values=values)


def exclude(series: Series, spans: list[tuple[dt.datetime, dt.datetime]]) -> tuple[Series, int]:
    """Mark the slots overlapping each (start, end) span of local time as missing; return the
    series and the number of slots marked."""
    values = series.values.copy()
    marked = 0
    origin = dt.datetime.combine(series.start, dt.time())
    step = dt.timedelta(minutes=series.minutes)
    for a, b in spans:
        lo = max(int((a - origin) // step), 0)
        hi = min(int(-((origin - b) // step)), len(values))
        if hi > lo:
            marked += int(np.sum(~np.isnan(values[lo:hi])))
            values[lo:hi] = np.nan
    return replace(series, values=values), marked


def check_history(series: Series, *, days_needed: int = MIN_DAYS_WEEKLY) -> None:
    """Refuse a series too short for weekly seasonality, or with nothing in it."""
    if series.days < days_needed:
        raise SeriesError(
            f"{series.name}: {series.days} days of history; a forecast with daily and weekly "
            f"seasonality needs at least {days_needed} days (two whole weeks)")
    if np.nansum(series.values) <= 0:
        raise SeriesError(f"{series.name}: no contacts at all in {series.days} days; "
                          "nothing to forecast")


def mark_gaps(series: Series, *, min_usual: float = 20.0) -> tuple[Series, list[dt.date]]:
    """Days with no contacts at all where that weekday usually has at least `min_usual` are
    taken for gaps in the data (an export that missed a day), not for quiet days, and marked
    missing. Returns the series and the days marked."""
    per_day = series.per_day
    days = series.values[: series.days * per_day].reshape(series.days, per_day)
    totals = np.nansum(days, axis=1)
    weekdays = series.weekdays()
    gaps = []
    values = series.values.copy()
    for d in range(series.days):
        if totals[d] > 0:
            continue
        usual = totals[(weekdays == weekdays[d]) & (np.arange(series.days) != d)]
        if usual.size and np.median(usual) >= min_usual:
            gaps.append(series.start + dt.timedelta(days=d))
            values[d * per_day:(d + 1) * per_day] = np.nan
    return replace(series, values=values), gaps
