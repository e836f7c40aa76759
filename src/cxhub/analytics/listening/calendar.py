"""Demand known in advance (a campaign, a release, a price change) laid over the series.

A calendar event names a window, and optionally a channel, a cause and the expected lift (1.35:
a third more contacts than usual). `planned_matrix` marks, for every series and hour, the lift
the detector should expect there: NaN where nothing is planned, the calendar's lift where one
is given, 0 where the event gives none (the detector then measures it, see `spikes.detect`).

Which series an event touches: contacts always (the calendar speaks of customer demand);
mentions too when the event names no channel or the social channel. Within a target, an event
without a cause touches every series; one with a cause touches that cause's series and the
series that include it (the total, the categories, the terms), but never another cause's: an
unplanned spike of another cause in the same days still alerts.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class PlannedEvent:
    starts_at: dt.datetime
    ends_at: dt.datetime
    channel: str | None = None
    cause: str | None = None
    expected_lift: float | None = None
    name: str = ""


def _targets(event: PlannedEvent) -> tuple[str, ...]:
    if event.channel in (None, "", "social"):
        return ("contacts", "mentions")
    return ("contacts",)


def _touches(event: PlannedEvent, dimension: str, value: str) -> bool:
    if not event.cause:
        return True
    if dimension == "cause":
        return value == event.cause
    return True  # the total, a category, a term: each may hold the planned cause's contacts


def planned_matrix(keys: Sequence[tuple[str, str, str]], start: dt.datetime, hours: int,
                   events: Iterable[PlannedEvent]) -> np.ndarray | None:
    """(series, hours): the lift expected in each hour (NaN: nothing planned; 0: planned, lift
    unknown). None when no event falls inside the hours."""
    out = np.full((len(keys), hours), np.nan)
    any_event = False
    for event in events:
        first = int((event.starts_at - start) // dt.timedelta(hours=1))
        last = int(-((start - event.ends_at) // dt.timedelta(hours=1)))  # ceiling
        first, last = max(0, first), min(hours, last)
        if first >= last:
            continue
        lift = float(event.expected_lift) if event.expected_lift else 0.0
        targets = _targets(event)
        for i, (target, dimension, value) in enumerate(keys):
            if target in targets and _touches(event, dimension, value):
                span = out[i, first:last]
                out[i, first:last] = np.where(np.isnan(span), lift, np.maximum(span, lift))
                any_event = True
    return out if any_event else None
