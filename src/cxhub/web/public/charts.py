"""Data for the public page's charts, asked of the catalogue and made safe to publish.

Windows follow the clock, not the data: histories end with the last complete hour (hourly
demand) or day (everything else), and "the last 30 days" are the 30 days to last midnight
(UTC). So one contact posted today cannot pull the windows onto itself, and a historic file
shows an honest "no contacts in these days" instead of pretending its last month is now.
"""

from __future__ import annotations

import logging
import statistics
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, nullcontext
from datetime import UTC, datetime, timedelta
from typing import Any

from cxhub.services.metrics import compute as metrics
from cxhub.services.public.figures import (
    VOICE_CHANNELS,
    compute,
    data_start,
    last_complete,
    period_by,
    sections,
    suppress,
)
from cxhub.warehouse import Warehouse

log = logging.getLogger(__name__)

# Figures past their age are made again in the background by these threads, kept between
# renewals so that each keeps its read cursor and its Ibis tables (a thread a renewal made a new
# DuckDB client and looked every table's schema up again each time).
_RENEWERS = ThreadPoolExecutor(max_workers=2, thread_name_prefix="cxhub-chart")
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
# The longest history each grain draws (days; None: all the data). Past these a chart holds
# more points than a screen has pixels, and 27 years of hours were over 100,000 periods.
MAX_DAYS = {"hour": 31, "day": 3 * 366, "week": 20 * 366, "month": None}
SUMMARY_DAYS = 30


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _window(wh: Warehouse, days: int | None, grain: str = "day",
            now: datetime | None = None) -> tuple[datetime, datetime]:
    end = last_complete(now or _now(), grain)
    first = data_start(wh) or end
    start = first if days is None else max(first, end - timedelta(days=days))
    start = min(start, end)
    return start.replace(minute=0, second=0, microsecond=0), end


def _parents(grain: str, summary_start: datetime) -> list[Callable[[dict[str, Any]], Any]]:
    """The coarser published cells each period of `grain` adds up to: its day, its week, its
    month and, for days, whether it is inside the 30-day summary (published as a total)."""

    def moment(row: dict[str, Any]) -> datetime:
        return datetime.fromisoformat(str(row["period"]))

    day = lambda r: moment(r).date()  # noqa: E731
    week = lambda r: (moment(r) - timedelta(days=moment(r).weekday())).date()  # noqa: E731
    month = lambda r: (moment(r).year, moment(r).month)  # noqa: E731
    summary = lambda r: moment(r) >= summary_start  # noqa: E731
    return {"hour": [day, week, month], "day": [week, month, summary]}.get(grain, [])


def _floor(t: datetime, grain: str) -> datetime:
    """The start of t's week (Monday, as the catalogue's weeks) or month."""
    day = t.replace(hour=0, minute=0, second=0, microsecond=0)
    return day - timedelta(days=day.weekday()) if grain == "week" else day.replace(day=1)


def _next(t: datetime, grain: str) -> datetime:
    if grain == "week":
        return t + timedelta(weeks=1)
    return (t.replace(day=28) + timedelta(days=4)).replace(day=1)


def demand(wh: Warehouse, *, grain: str, min_count: int,
           now: datetime | None = None) -> dict[str, Any]:
    """Contacts per period, with the same period a year earlier, over all the data up to the
    grain's limit (`MAX_DAYS`: the document says when it was cut)."""
    limit = MAX_DAYS[period_by(grain)]
    start, end = _window(wh, limit, grain, now)
    capped = start > _window(wh, None, grain, now)[0]
    if grain in ("week", "month"):
        # Whole weeks and months only: the week in progress, or the first week of the data,
        # drawn as a period would read as a sudden drop in demand.
        end = max(_floor(end, grain), _floor(start, grain))
        first_day = start.replace(hour=0, minute=0, second=0, microsecond=0)
        start = first_day
        if _floor(first_day, grain) < first_day:
            start = min(_next(_floor(first_day, grain), grain), end)
    if start >= end:
        # No complete period yet (every contact is from the hour or day in progress, as on
        # a new server fed by the API): nothing to draw, which is not a failure.
        return {"grain": grain, "start": start.isoformat(), "end": end.isoformat(),
                "rows": []}
    rows = compute(wh, "contacts", start=start, end=end, by=(grain,), compare=("last_year",))
    summary_start = last_complete(now or _now()) - timedelta(days=SUMMARY_DAYS)
    doc: dict[str, Any] = {
        "grain": grain, "start": start.isoformat(), "end": end.isoformat(),
        # No total of the whole range is published: only the coarser periods protect.
        "rows": suppress(rows, min_count, counts=True, total=False,
                         parents=_parents(grain, summary_start)),
    }
    if capped:
        doc["days"] = limit  # shortened: the page says "the last N days by hour"
    return doc


def service(wh: Warehouse, *, min_count: int, days: int = 365,
            now: datetime | None = None) -> dict[str, Any]:
    """Daily service level and waits (phone, chat) and first response times (written)."""
    start, end = _window(wh, days, now=now)
    day = period_by("day")

    def by_day(figure: str, channels: tuple[str, ...] | None) -> list[dict[str, Any]]:
        filters = {"channel": list(channels)} if channels else None
        rows = compute(wh, figure, start=start, end=end, by=(day, "channel"),
                       filters=filters, compare=("target",))
        return suppress(rows, min_count)

    out: dict[str, Any] = {"start": start.isoformat(), "end": end.isoformat()}
    # Waits per channel group: the wait for an answer on phone and chat, the first reply on
    # the written channels (the catalogue's first response time covers exactly those).
    for key, figure, channels in (("service_level", "service_level", VOICE_CHANNELS),
                                  ("asa", "asa", VOICE_CHANNELS),
                                  ("first_response", "first_response", None)):
        try:
            out[key] = by_day(figure, channels)
        except Exception as exc:  # noqa: BLE001 - one missing metric leaves the others
            out[key] = []
            out.setdefault("unavailable", {})[key] = type(exc).__name__
    return out


def best_time(wh: Warehouse, *, min_count: int, weeks: int = 8,
              now: datetime | None = None) -> dict[str, Any]:
    """Contacts per week and the wait for an answer (phone, chat), by weekday and hour, over
    the last `weeks` weeks; and the hours to recommend (`recommended`, see `recommend`)."""
    start, end = _window(wh, weeks * 7, now=now)
    span_weeks = max((end - start).total_seconds() / (7 * 86400), 1 / 7)
    by = ("weekday", "hour_of_day")
    demand_raw = compute(wh, "contacts", start=start, end=end, by=by)
    demand_rows = suppress(demand_raw, min_count, counts=True)
    try:
        wait_raw = compute(wh, "asa", start=start, end=end, by=by,
                           filters={"channel": list(VOICE_CHANNELS)})
    except Exception:  # noqa: BLE001 - demand alone still tells when it is busy
        wait_raw = []
    wait_rows = suppress(wait_raw, min_count)

    def grid(rows: list[dict[str, Any]], scale: float) -> list[list[float | None]]:
        cells: list[list[float | None]] = [[None] * 24 for _ in WEEKDAYS]
        for r in rows:
            if r["value"] is not None and r.get("weekday") is not None \
                    and r.get("hour_of_day") is not None:
                cells[int(r["weekday"])][int(r["hour_of_day"])] = round(r["value"] * scale, 2)
        return cells

    per_week, wait = grid(demand_rows, 1 / span_weeks), grid(wait_rows, 1.0)
    # Recommended per channel: phone and chat keep different hours (a Sunday with only chat
    # open must not be offered to callers), each ranked on its own waits and demand.
    recommended = []
    for channel in VOICE_CHANNELS:
        try:
            waits_of = suppress(compute(wh, "asa", start=start, end=end, by=by,
                                        filters={"channel": [channel]}), min_count)
            demand_of = suppress(compute(wh, "contacts", start=start, end=end, by=by,
                                         filters={"channel": [channel]}), min_count,
                                 counts=True)
        except Exception:  # noqa: BLE001 - a channel without figures gets no recommendation
            continue
        for pick in recommend(grid(demand_of, 1 / span_weeks), grid(waits_of, 1.0)):
            recommended.append({"channel": channel, **pick})
    return {"start": start.isoformat(), "end": end.isoformat(), "weeks": round(span_weeks, 1),
            "weekdays": list(WEEKDAYS), "hours": list(range(24)),
            "contacts_per_week": per_week, "wait_seconds": wait,
            "recommended": recommended}


def recommend(per_week: list[list[float | None]], wait: list[list[float | None]],
              k: int = 3) -> list[dict[str, Any]]:
    """The `k` best hours to call or chat: only hours when someone answers (a published wait,
    which needs answered calls or chats in that hour: until opening hours are recorded, an
    hour with none in the history counts as closed), ranked by the wait and the demand, each
    against its median over the open hours (equal weight: a short wait matters as much as a
    quiet line)."""
    cells = [(d, h, w, per_week[d][h] or 0.0) for d, row in enumerate(wait)
             for h, w in enumerate(row) if w is not None]
    if not cells:
        return []
    mid_wait = statistics.median(c[2] for c in cells) or 1.0
    mid_volume = statistics.median(c[3] for c in cells) or 1.0
    ranked = sorted(cells, key=lambda c: (c[2] / mid_wait + c[3] / mid_volume, c[0], c[1]))
    # The wait only: "n" means a count of contacts everywhere else, and the volume per week
    # is in the grid beside it.
    return [{"weekday": d, "hour_of_day": h, "value": round(w, 1)} for d, h, w, _ in ranked[:k]]


def calendar(wh: Warehouse, *, limit: int = 200) -> dict[str, Any]:
    """The campaign calendar's events as marks for the history charts: kind, name, start, end
    and channel only (a name is the company's own label, checked like any public label)."""
    rows = wh.read("SELECT kind, name, starts_at, ends_at, channel FROM calendar_events "
                   "WHERE starts_at < ends_at ORDER BY starts_at DESC LIMIT ?", [limit])
    return {"marks": [{"kind": r[0], "name": (r[1] or "")[:60], "start": r[2].isoformat(),
                       "end": r[3].isoformat(), "channel": r[4]} for r in reversed(rows)]}


def summary(wh: Warehouse, *, min_count: int, days: int = SUMMARY_DAYS,
            now: datetime | None = None) -> dict[str, Any]:
    """The daily report's sections over the `days` days to last midnight (UTC)."""
    start, end = _window(wh, days, now=now)
    start = end - timedelta(days=days)  # a fixed window, even before the data starts
    return {"start": start.isoformat(), "end": end.isoformat(), "days": days,
            "sections": sections(wh, start=start, end=end, min_count=min_count,
                                 frozen=False),
            "waits": waits(wh, start=start, end=end, min_count=min_count)}


def waits(wh: Warehouse, *, start: datetime, end: datetime,
          min_count: int) -> list[dict[str, Any]]:
    """The wait per channel group (the catalogue's expected wait: the answer on phone and
    chat, the first reply on the written channels), never one mean over seconds and hours."""
    try:
        groups = metrics.waits_by_channel_group(wh, start=start, end=end)
    except Exception:  # noqa: BLE001 - the page says "not measured" for this block only
        log.exception("waits by channel group failed")
        return []
    rows = [{"channel": g["group"], "value": g["value"], "n": g["n"]} for g in groups]
    return suppress(rows, min_count)


class TtlCache:
    """Chart data changes slowly: compute each figure at most once per `seconds`, whoever asks.
    Concurrent askers of the same key wait for one computation instead of starting their own.

    A figure older than `seconds` (but younger than `stale_for`) is still served while one
    background thread computes it again, so no visitor waits for a computation except the
    first one of a key (or after `stale_for` without visitors)."""

    def __init__(self, seconds: float, stale_for: float | None = None) -> None:
        self.seconds = seconds
        self.stale_for = stale_for if stale_for is not None else 10 * seconds
        self._values: dict[tuple[Any, ...], tuple[float, Any]] = {}
        self._locks: dict[tuple[Any, ...], threading.Lock] = {}
        self._guard = threading.Lock()
        self._generation = 0  # moved on by `forget`: computations begun before are not kept
        # What a figure recomputed in the background runs inside: the warehouse's gate (set by
        # the web app; web.gate), as it runs outside the request that asked for it.
        self.around: Callable[[], AbstractContextManager[Any]] = nullcontext

    def _lock(self, key: tuple[Any, ...]) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(key, threading.Lock())

    def get(self, key: tuple[Any, ...], compute_fn: Callable[[], Any]) -> Any:
        hit = self._values.get(key)
        if hit:
            age = time.monotonic() - hit[0]
            if age < self.seconds:
                return hit[1]
            if age < self.stale_for:
                self._renew(key, compute_fn)
                return hit[1]
        lock = self._lock(key)
        with lock:
            hit = self._values.get(key)
            if hit and time.monotonic() - hit[0] < self.seconds:
                return hit[1]
            generation = self._generation
            value = compute_fn()
            if generation == self._generation:
                self._values[key] = (time.monotonic(), value)
            return value

    def forget(self) -> None:
        """Drop every figure: what they were made from changed (the calendar, through the
        API), and the next visitor gets them made again. A computation already running keeps
        its answer to its own caller but not in the cache: it may have read the old data."""
        with self._guard:
            self._generation += 1
            self._values.clear()

    def _renew(self, key: tuple[Any, ...], compute_fn: Callable[[], Any]) -> None:
        lock = self._lock(key)
        if not lock.acquire(blocking=False):
            return  # already being computed

        generation = self._generation

        def run() -> None:
            try:
                with self.around():
                    value = compute_fn()
                if generation == self._generation:
                    self._values[key] = (time.monotonic(), value)
            except Exception:  # noqa: BLE001 - the stale figure stays; the next ask retries
                log.exception("recomputing public figure %s failed", key)
            finally:
                lock.release()

        _RENEWERS.submit(run)
