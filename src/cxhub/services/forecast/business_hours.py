"""Response and resolution times counted in business hours: only the time the channel is open
by the opening-hours calendar (`opening_hours` and `holidays`, schema v9) counts, as helpdesks
do where the company promises business hours ("we reply within 8 working hours").

In the warehouse this is the catalogue's: the calendar is the table `business_days` (schema
v14, `cxhub.warehouse.business_days`), made again whenever the hours or holidays change, and
`business_hours: true` on a definition adds its `_business` twin (`first_response_time_business`,
`resolution_time_business`), everywhere metrics are. `response_times` below only gathers both
figures per channel from the catalogue.

`business_seconds` counts the same clock in memory, for times that are not in the warehouse (a
file, a list): F(b) - F(a), with F(t) the open seconds of the channel's calendar from a fixed
origin up to the local time t (a cumulative sum over the whole days plus the open part of t's
own day), exact for any span in one vectorised pass. It is also the reference the catalogue's
clock is tested against (tests/warehouse/test_business_clock.py).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd

from cxhub.services.forecast import hours
from cxhub.services.metrics import compute as metrics
from cxhub.warehouse import Warehouse

DAY_S = 86400


def _day_spans(h: hours.Hours, channel: str, days: pd.DatetimeIndex) -> np.ndarray:
    """(len(days), 2) open and close second of each day (0, 0 when closed)."""
    week = h.channels[channel]
    out = np.zeros((len(days), 2))
    for i, day in enumerate(days):
        span = None if day.date() in h.holidays else week.get(day.weekday())
        if span:
            out[i] = [span[0].hour * 3600 + span[0].minute * 60 + span[0].second,
                      span[1].hour * 3600 + span[1].minute * 60 + span[1].second]
    return out


def business_seconds(h: hours.Hours, channel: str, starts: Any, ends: Any) -> np.ndarray:
    """Open seconds of `channel` between each start and end (local wall-clock times, naive);
    NaN where either is missing. A channel without recorded hours counts every second."""
    a, b = pd.to_datetime(pd.Series(starts)), pd.to_datetime(pd.Series(ends))
    out = np.full(len(a), np.nan)
    ok = (a.notna() & b.notna()).to_numpy()
    if not ok.any():
        return out
    if channel not in h.channels:
        out[ok] = (b[ok] - a[ok]).dt.total_seconds().to_numpy()
        return out
    first, last = min(a[ok].min(), b[ok].min()).floor("D"), max(a[ok].max(), b[ok].max())
    days = pd.date_range(first, last.floor("D"), freq="D")
    spans = _day_spans(h, channel, days)
    length = spans[:, 1] - spans[:, 0]
    before = np.concatenate([[0.0], np.cumsum(length)[:-1]])  # open seconds before each day

    def f(t: pd.Series) -> np.ndarray:
        i = ((t - first).dt.days).to_numpy()
        sec = (t - t.dt.floor("D")).dt.total_seconds().to_numpy()
        inside = np.clip(sec, spans[i, 0], spans[i, 1]) - spans[i, 0]
        open_seconds: np.ndarray = before[i] + inside
        return open_seconds

    out[ok] = np.maximum(f(b[ok]) - f(a[ok]), 0.0)
    return out


def response_times(wh: Warehouse, *, start: dt.datetime, end: dt.datetime) -> list[dict[str, Any]]:
    """Per channel, over the contacts created in [start, end): the catalogue's median first
    response and resolution times on the clock and in business hours, with the contacts each
    is built from. Channels without hours of their own count by those they borrow (the hours
    YAML's `business_hours`), else every hour: both figures agree."""
    h = hours.stored(wh)
    if h is None:
        raise hours.HoursError("no opening hours loaded: `cxhub forecast hours FILE` first")
    rows: dict[str, dict[str, Any]] = {}
    for name, metric in (("first_response", "first_response_time"),
                         ("resolution", "resolution_time")):
        for suffix, twin in (("seconds", metric), ("business_seconds", f"{metric}_business")):
            for r in metrics.compute(wh, twin, start=start, end=end, by="channel"):
                if not r["n"]:
                    continue
                channel = r["channel"]
                cal = channel if channel in h.channels else h.borrowed.get(channel)
                row = rows.setdefault(channel, {"channel": channel,
                                                "calendar": cal or "around the clock"})
                row[f"{name}_n"] = r["n"]
                row[f"{name}_{suffix}"] = r["value"]
    return [rows[c] for c in sorted(rows, key=str)]
