"""Period grains, time bounds and the comparison periods (previous, same period last year).

Times are naive UTC, like every timestamp in the warehouse. A range is half-open, [start, end).
A grain cuts the range into periods named by their first instant; weeks start on Monday.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import ibis
import ibis.expr.types as ir

from cxhub.domain.errors import CxhubError

GRAINS = ("15min", "hour", "day", "week", "month")
COMPARISONS = ("previous", "last_year", "target")
MAX_PERIODS = 100_000  # a 15-minute series over two years; more would only be a slow mistake

_TRUNCATE = {"hour": "h", "day": "D", "week": "W", "month": "M"}
_FIXED = {"15min": timedelta(minutes=15), "hour": timedelta(hours=1), "day": timedelta(days=1),
          "week": timedelta(weeks=1)}
FIXED = _FIXED  # the grains of a fixed length
# Demand is weekly: a day, hour or week last year is compared with the same weekday 52 weeks
# back; months and whole-month ranges with the same calendar months a year back.
_YEAR_IN_WEEKS = timedelta(weeks=52)


class MetricQueryError(CxhubError):
    """A metric was asked for with a bad parameter; `parameter` names it (from, to, by ...)."""

    def __init__(self, parameter: str, message: str) -> None:
        super().__init__(f"{parameter}: {message}")
        self.parameter = parameter
        self.reason = message


def add_months(t: datetime, months: int) -> datetime:
    """The same instant `months` calendar months later (the day clipped to the month's end)."""
    index = t.year * 12 + (t.month - 1) + months
    year, month = divmod(index, 12)
    month += 1
    next_month = date(year + (month == 12), month % 12 + 1, 1)
    last_day = (next_month - timedelta(days=1)).day
    return t.replace(year=year, month=month, day=min(t.day, last_day))


def floor(t: datetime, grain: str) -> datetime:
    """The start of the period of `grain` that holds `t`."""
    if grain == "15min":
        return t.replace(minute=t.minute - t.minute % 15, second=0, microsecond=0)
    if grain == "hour":
        return t.replace(minute=0, second=0, microsecond=0)
    day = t.replace(hour=0, minute=0, second=0, microsecond=0)
    if grain == "day":
        return day
    if grain == "week":
        return day - timedelta(days=day.weekday())
    if grain == "month":
        return day.replace(day=1)
    raise MetricQueryError("by", f"unknown period {grain!r}; periods: {', '.join(GRAINS)}")


def step(t: datetime, grain: str, n: int = 1) -> datetime:
    """`t` moved by `n` periods of `grain`."""
    if grain == "month":
        return add_months(t, n)
    return t + n * _FIXED[grain]


def check_length(start: datetime, end: datetime, grain: str) -> None:
    """Refuse a series of more than MAX_PERIODS periods (without listing them)."""
    first = floor(start, grain)
    if grain in _FIXED and (end - first) // _FIXED[grain] <= MAX_PERIODS:
        return
    period_starts(start, end, grain)


def period_starts(start: datetime, end: datetime, grain: str) -> list[datetime]:
    """The starts of every period of `grain` that overlaps [start, end)."""
    out, t = [], floor(start, grain)
    while t < end:
        out.append(t)
        if len(out) > MAX_PERIODS:
            raise MetricQueryError(
                "by", f"{start:%Y-%m-%d} to {end:%Y-%m-%d} has more than {MAX_PERIODS:,} "
                f"periods of {grain}; ask for a coarser period or a shorter range")
        t = step(t, grain)
    return out


def bucket(ts: ir.TimestampValue, grain: str) -> ir.TimestampValue:
    """An Ibis expression: the start of the period that holds `ts`."""
    if grain == "15min":
        return ts.truncate("h") + (ts.minute() // 15 * 15).as_interval("m")
    return ts.truncate(_TRUNCATE[grain])


def interval(grain: str) -> ir.IntervalScalar:
    if grain == "month":
        return ibis.interval(months=1)
    return ibis.interval(seconds=int(_FIXED[grain].total_seconds()))


def _month_aligned(t: datetime) -> bool:
    return t == floor(t, "month")


@dataclass(frozen=True)
class Shift:
    """A comparison period: the shifted range, and how to move its periods back onto ours."""

    start: datetime
    end: datetime
    months: int = 0
    delta: timedelta = timedelta(0)

    def forward(self, t: datetime) -> datetime:
        return add_months(t, self.months) if self.months else t + self.delta

    def back(self, t: datetime) -> datetime:
        return add_months(t, -self.months) if self.months else t - self.delta


def _by_months(start: datetime, end: datetime, months: int) -> Shift:
    return Shift(add_months(start, -months), add_months(end, -months), months=months)


def _by_delta(start: datetime, end: datetime, delta: timedelta) -> Shift:
    return Shift(start - delta, end - delta, delta=delta)


def month_so_far(start: datetime, end: datetime) -> bool:
    """[start, end) runs from the 1st of a month to a moment inside that same month."""
    return _month_aligned(start) and end < add_months(start, 1)


def comparison_range(comparison: str, start: datetime, end: datetime,
                     grain: str | None) -> Shift:
    """Where `previous` or `last_year` looks for the figures compared with [start, end).

    With a grain, `previous` is the period before each period (the day before, the month
    before). Without one it is the range of the same length just before, or the same number
    of calendar months before when the range is made of whole months; a month so far (from
    the 1st to a day inside the month) is compared with the same days of the month before.
    """
    whole_months = _month_aligned(start) and _month_aligned(end)
    if comparison == "previous":
        if grain == "month":
            return _by_months(start, end, 1)
        if grain is not None:
            return _by_delta(start, end, _FIXED[grain])
        if whole_months:
            months = (end.year - start.year) * 12 + end.month - start.month
            return _by_months(start, end, months)
        if month_so_far(start, end):
            return _by_months(start, end, 1)
        return _by_delta(start, end, end - start)
    if comparison == "last_year":
        if grain == "month" or (grain is None and whole_months):
            return _by_months(start, end, 12)
        return _by_delta(start, end, _YEAR_IN_WEEKS)
    raise MetricQueryError(
        "compare", f"unknown comparison {comparison!r}; use {', '.join(COMPARISONS)}")


def parse_time(value: str | date | datetime, *, parameter: str, end: bool = False) -> datetime:
    """A range bound from text, a date or a datetime, as naive UTC.

    A plain date given as the end of a range means the whole of that day is included, the way
    people say "from the 1st to the 31st"; a date and time is taken as it is (exclusive).
    """
    if isinstance(value, datetime):
        parsed, date_only = value, False
    elif isinstance(value, date):
        parsed, date_only = datetime(value.year, value.month, value.day), True
    else:
        text = value.strip()
        try:
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise MetricQueryError(
                parameter, f"{value!r} is not a date or date-time (use 2024-03-01 or "
                "2024-03-01T09:00:00)") from None
        date_only = "T" not in text.upper() and " " not in text and ":" not in text
    if parsed.tzinfo is not None:
        parsed = (parsed - parsed.utcoffset()).replace(tzinfo=None)  # type: ignore[operator]
    if end and date_only:
        parsed += timedelta(days=1)
    return parsed
