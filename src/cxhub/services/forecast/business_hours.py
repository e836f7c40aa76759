"""Response and resolution times counted in business hours: only the time the channel is open
by the opening-hours calendar (`opening_hours` and `holidays`, schema v9) counts, as helpdesks
do where the company promises business hours ("we reply within 8 working hours").

A service-level figure, not a catalogue option (yet): the catalogue's facts are Ibis
expressions over the warehouse tables, and a business clock there needs the calendar as a table
of cumulative open seconds per channel and day joined at both ends of every contact; that table
(and keeping it up to date as holidays change) is not built. Both figures come side by side
here: the clock times as the catalogue counts them (`first_response_time`, `resolution_time`:
medians) and the business-hour ones, over the same contacts.

Method: with F(t) the open seconds of the channel's calendar from a fixed origin up to the
local time t, the business time from a to b is F(b) - F(a). F is the open seconds of every
whole day before t's day (a cumulative sum over the calendar) plus the open part of t's own day
before t: exact for any span, in one vectorised pass.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd

from cxhub.services.forecast import hours
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


def response_times(wh: Warehouse, *, start: dt.datetime, end: dt.datetime,
                   calendar_of: str | None = None) -> list[dict[str, Any]]:
    """Per channel, over the contacts created in [start, end): the median first response and
    resolution time, on the clock and in business hours, with the contacts each is built from.
    `calendar_of`: whose opening hours count for channels with none of their own (e.g. the
    written channels answered by the phone team: "phone"); otherwise those channels count
    every hour, so both figures agree."""
    h = hours.stored(wh)
    if h is None:
        raise hours.HoursError("no opening hours loaded: `cxhub forecast hours FILE` first")
    df = wh.cursor().execute(
        "SELECT channel, created_at, first_response_at, resolved_at FROM contacts "
        "WHERE created_at >= ? AND created_at < ?", [start, end]).df()
    rows = []
    for channel, part in df.groupby("channel", sort=True):
        cal = channel if channel in h.channels else (calendar_of or channel)
        row: dict[str, Any] = {"channel": channel, "calendar": cal if cal in h.channels
                               else "around the clock"}
        for name, column in (("first_response", "first_response_at"),
                             ("resolution", "resolved_at")):
            done = part[part[column].notna() & (part[column] >= part["created_at"])]
            clock = (done[column] - done["created_at"]).dt.total_seconds().to_numpy()
            business = business_seconds(h, cal, done["created_at"], done[column])
            row[f"{name}_n"] = len(done)
            row[f"{name}_seconds"] = float(np.median(clock)) if len(done) else None
            row[f"{name}_business_seconds"] = float(np.median(business)) if len(done) else None
        rows.append(row)
    return rows
