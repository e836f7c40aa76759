"""A request for a metric: the definition, a range, a grain, dimensions and filters.

Every module that turns a request into an Ibis expression reads it through `moment(name)`,
so that a query compiled once with stand-in instants can be reused for other ranges.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from cxhub.metrics import periods
from cxhub.metrics.definitions import Metric
from cxhub.metrics.facts import TIME_DIMENSIONS


@dataclass(frozen=True)
class Request:
    """What to compute: a metric over [start, end), cut by grain and dimensions, filtered.

    Every instant a query writes into its SQL is one of the request's `moments` (the range,
    its first period, its whole hours and days), taken through `moment(name)`: a query can
    then be compiled once with stand-ins (`at`) and reused for any range whose moments are in
    the same order (query.py keeps such compiled queries)."""

    metric: Metric
    start: datetime
    end: datetime
    grain: str | None = None
    dimensions: tuple[str, ...] = ()
    filters: Mapping[str, tuple[Any, ...]] = field(default_factory=dict)
    at: Mapping[str, datetime] | None = None  # stand-ins written instead of the moments

    @property
    def first_period(self) -> datetime:
        return periods.floor(self.start, self.grain) if self.grain else self.start

    def moments(self) -> dict[str, datetime]:
        """The real instants, by name: the range, the first period, the first and last whole
        hour and day of the range (`*_first` rounded up, `*_last` down) and the first
        period rounded down to the hour and to the day."""
        out = {"start": self.start, "end": self.end, "first_period": self.first_period}
        for unit in ("hour", "day"):
            first = periods.floor(self.start, unit)
            out[f"{unit}_first"] = first if first == self.start else periods.step(first, unit)
            out[f"{unit}_last"] = periods.floor(self.end, unit)
            out[f"period_{unit}"] = periods.floor(self.first_period, unit)
        return out

    def moment(self, name: str) -> datetime:
        """The instant to write into SQL: the stand-in when compiling for reuse."""
        if self.at is not None:
            return self.at[name]
        return self.moments()[name]

    def within(self, start: str, end: str) -> Request:
        """The same request over [moment start, moment end) of this one."""
        real = self.moments()
        return replace(self, start=real[start], end=real[end], at=None if self.at is None else
                       {**self.at, "start": self.at[start], "end": self.at[end]})

    def needed(self) -> set[str]:
        """Fact columns to build: the definition's, the dimensions' and the filters'."""
        asked = set(self.dimensions) | set(self.filters)
        return self.metric.columns() | (asked - set(TIME_DIMENSIONS))
