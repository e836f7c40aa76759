"""The demo company's own week: a UK week, opening hours, bank holidays and the hours of a day.

The measured shapes (calibration.py) come from an Israeli bank open Sunday to Thursday, short on
Friday, closed on Saturday, answering until midnight. Northwind Connect is a UK provider, so the
shapes are mapped, not copied:

- Weekdays: the bank's five working days' shares, sorted, go to Monday..Friday busiest first
  (UK contact centres peak on Monday and ease off through the week); the bank's short Friday
  becomes Saturday and its closed Saturday becomes Sunday. Bank holidays count as Sundays.
- Hours: phone and chat arrive only while the channel is open. The measured intra-day shape over
  the bank's working hours (07:00-24:00) is stretched or squeezed onto each day's opening hours,
  so the morning peak, the lunch dip and the afternoon tail keep their places relative to
  opening and closing. Written channels arrive around the clock with a daily shape.
- A caller who finds the phone closed (Sunday, a bank holiday) calls on the next open day.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import numpy as np

from cxhub.simulate import calibration as cal

TIMEZONE = "Europe/London"
DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
LIVE_CHANNELS = ("phone", "chat")
# Opening hours of the live channels (local clock, the files' timestamps); None = closed.
# Bank holidays keep Sunday's hours. Written channels receive around the clock.
OPENING_HOURS: dict[str, tuple[tuple[int, int] | None, ...]] = {
    "phone": ((8, 20),) * 5 + ((9, 17), None),
    "chat": ((8, 22),) * 5 + ((9, 18), (10, 16)),
}
WRITTEN_IN_OFFICE_HOURS = ("email", "web", "letter")
# The measured hours the bank answered: its shape over these is mapped onto opening hours.
MEASURED_OPEN, MEASURED_CLOSE = 7, 24
SLOT_S = 1800  # the roster's and the staffing noise's interval


def uk_weekday_shape() -> np.ndarray:
    """Share of a week's contacts on each day, Monday first (see the module's docstring)."""
    m = np.asarray(cal.WEEKDAY_SHAPE, dtype=float)  # Monday first, as measured
    mon, tue, wed, thu, fri, sat, sun = m
    working = sorted((sun, mon, tue, wed, thu), reverse=True)
    shape = np.array([*working, fri, sat])
    share: np.ndarray = shape / shape.sum()
    return share


def _easter(year: int) -> date:
    """Western Easter Sunday (the anonymous Gregorian computus)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = b // 4, b % 4
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = c // 4, c % 4
    ll = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * ll) // 451
    month = (h + ll - 7 * m + 114) // 31
    return date(year, month, (h + ll - 7 * m + 114) % 31 + 1)


def _monday_on_or_after(d: date) -> date:
    return d + timedelta(days=(7 - d.weekday()) % 7)


def _last_monday(year: int, month: int) -> date:
    last = date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1)
    return last - timedelta(days=last.weekday())


def bank_holidays(year: int) -> list[tuple[date, str]]:
    """England and Wales bank holidays of a year, with the usual weekend substitutes."""
    easter = _easter(year)
    new_year = date(year, 1, 1)
    if new_year.weekday() >= 5:
        new_year = _monday_on_or_after(new_year)
    christmas, boxing = date(year, 12, 25), date(year, 12, 26)
    if christmas.weekday() >= 5:  # Saturday or Sunday: Monday and Tuesday after
        christmas = _monday_on_or_after(christmas)
        boxing = christmas + timedelta(days=1)
    elif boxing.weekday() >= 5:  # Christmas on Friday: Boxing Day moves to Monday
        boxing = _monday_on_or_after(boxing)
    return sorted([
        (new_year, "New Year's Day"),
        (easter - timedelta(days=2), "Good Friday"),
        (easter + timedelta(days=1), "Easter Monday"),
        (_monday_on_or_after(date(year, 5, 1)), "Early May bank holiday"),
        (_last_monday(year, 5), "Spring bank holiday"),
        (_last_monday(year, 8), "Summer bank holiday"),
        (christmas, "Christmas Day"),
        (boxing, "Boxing Day"),
    ])


def holidays_between(start: date, days: int) -> list[tuple[date, str]]:
    end = start + timedelta(days=days)
    every = [h for y in range(start.year, end.year + 1) for h in bank_holidays(y)]
    return [h for h in every if start <= h[0] < end]


def day_kinds(start: date, days: int) -> np.ndarray:
    """0..6 = Monday..Sunday for each day of the period, bank holidays as Sunday (6)."""
    first = start.weekday()
    kind = (first + np.arange(days)) % 7
    for h, _ in holidays_between(start, days):
        kind[(h - start).days] = 6
    return kind


def opening(channel: str, kinds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(open hour, close hour) of a live channel for each day kind; both 0 when closed."""
    table = OPENING_HOURS[channel]
    lo = np.array([t[0] if t else 0 for t in table])
    hi = np.array([t[1] if t else 0 for t in table])
    return lo[kinds], hi[kinds]


def _measured_cdf() -> np.ndarray:
    """The measured hour shape over the bank's open hours, as a cumulative share at each hour
    boundary MEASURED_OPEN..MEASURED_CLOSE (the few night calls before 07:00 are dropped)."""
    shape = np.asarray(cal.HOUR_SHAPE, dtype=float)[MEASURED_OPEN:MEASURED_CLOSE]
    return np.concatenate([[0.0], np.cumsum(shape / shape.sum())])


_CDF = _measured_cdf()
_SPAN = MEASURED_CLOSE - MEASURED_OPEN


def live_seconds(lo: np.ndarray, hi: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Seconds after midnight for live contacts on days open lo..hi hours: a time drawn from
    the measured shape, mapped linearly from the bank's hours onto the opening hours."""
    u = rng.random(len(lo))
    hour = np.searchsorted(_CDF, u, side="right") - 1
    frac = (u - _CDF[hour]) / (_CDF[hour + 1] - _CDF[hour])
    x = (hour + frac) / _SPAN  # 0..1 through the measured day
    seconds: np.ndarray = ((lo + x * (hi - lo)) * 3600).astype(np.int64)
    return seconds


def live_share_before(lo: float, hi: float, hour: float) -> float:
    """Share of a day's live demand arriving before `hour` when open lo..hi."""
    if hi <= lo or hour <= lo:
        return 0.0
    if hour >= hi:
        return 1.0
    x = (hour - lo) / (hi - lo) * _SPAN
    return float(np.interp(x, np.arange(_SPAN + 1), _CDF))


def slot_shares(lo: float, hi: float) -> np.ndarray:
    """Share of a day's live demand in each 30-minute slot (48) when open lo..hi."""
    edges = np.arange(49) / 2
    cdf = np.array([live_share_before(lo, hi, e) if e < hi else 1.0 for e in edges])
    if hi <= lo:
        return np.zeros(48)
    return np.diff(cdf)


def next_open_day(channel: str, kinds: np.ndarray) -> np.ndarray:
    """For each day, the first day on or after it when the channel opens (len(kinds) if none
    within the period)."""
    lo, hi = opening(channel, kinds)
    open_day = np.flatnonzero(hi > lo)
    idx = np.searchsorted(open_day, np.arange(len(kinds)))
    return np.where(idx < len(open_day), open_day[np.minimum(idx, len(open_day) - 1)],
                    len(kinds))


def hourly_factor(channel: str, when: datetime) -> float:
    """Arrivals of a channel in the hour starting at `when` over those of an average hour (the
    UK week, bank holidays as Sundays, and for phone and chat the opening hours: 0 when
    closed; the demand of the closed days before comes on the next open day, as simulated).
    For a live feed that keeps the simulated company's week going."""
    shape = uk_weekday_shape()

    def kind_of(day: date) -> int:
        return 6 if day in {h for h, _ in bank_holidays(day.year)} else day.weekday()

    day = when.date()
    kind = kind_of(day)
    daily = float(shape[kind]) * 7
    if channel in OPENING_HOURS:
        lo, hi = opening(channel, np.array([kind]))
        share = live_share_before(lo[0], hi[0], when.hour + 1) - live_share_before(
            lo[0], hi[0], when.hour)
        before = day - timedelta(days=1)
        while hi[0] > lo[0] and OPENING_HOURS[channel][kind_of(before)] is None:
            daily += float(shape[kind_of(before)]) * 7  # the closed day's callers come today
            before -= timedelta(days=1)
    else:
        share = float(hour_shape(True)[when.hour])
    return daily * share * 24


def hour_shape(written: bool) -> np.ndarray:
    """Arrival shape over the 24 hours as measured (phone and chat then follow each day's
    opening hours: `live_seconds`); written channels arrive more evenly (people write in
    the evening), so half of their shape is flat over 7-23."""
    measured: np.ndarray = np.asarray(cal.HOUR_SHAPE, dtype=float)
    measured = measured / measured.sum()
    if not written:
        return measured
    flat = np.zeros(24)
    flat[7:24] = 1 / 17
    mixed: np.ndarray = 0.5 * measured + 0.5 * flat
    return mixed


def opening_hours_doc(start: date, days: int) -> dict[str, Any]:
    """The opening hours as the shared YAML format (timezone, channels, holidays, and whose
    hours the written channels' business clocks keep)."""
    channels = {}
    for channel, table in OPENING_HOURS.items():
        channels[channel] = {
            name: (f"{t[0]:02d}:00-{t[1]:02d}:00" if t else "closed")
            for name, t in zip(DAY_NAMES, table, strict=True)
        }
    return {
        "timezone": TIMEZONE,
        "channels": channels,
        "holidays": [h.isoformat() for h, _ in holidays_between(start, days)],
        # The demo company promises its written replies in the phone team's hours ("within 8
        # working hours"): their business-hour clocks keep those hours. Social media and the
        # community are watched around the clock.
        "business_hours": {channel: "phone" for channel in WRITTEN_IN_OFFICE_HOURS},
    }
