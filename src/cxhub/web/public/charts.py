"""Data for the public page's charts, asked of the catalogue and made safe to publish.

Histories run up to the data's last contact (`data_end`), so a historic file shows its own
last year and a live company shows today.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from cxhub.services.public_figures import (
    VOICE_CHANNELS,
    WRITTEN_CHANNELS,
    compute,
    data_end,
    data_start,
    period_by,
    sections,
    suppress,
)
from cxhub.warehouse import Warehouse

log = logging.getLogger(__name__)
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _window(wh: Warehouse, days: int | None) -> tuple[datetime, datetime]:
    end = data_end(wh, _now())
    first = data_start(wh) or end
    start = first if days is None else max(first, end - timedelta(days=days))
    return start.replace(minute=0, second=0, microsecond=0), end


def demand(wh: Warehouse, *, grain: str, min_count: int) -> dict[str, Any]:
    """Contacts per period over all the data, with the same period a year earlier."""
    start, end = _window(wh, None)
    rows = compute(wh, "contacts", start=start, end=end, by=(period_by(grain),),
                   compare=("last_year",))
    return {"grain": grain, "start": start.isoformat(), "end": end.isoformat(),
            "rows": suppress(rows, min_count, counts=True)}


def service(wh: Warehouse, *, min_count: int, days: int = 365) -> dict[str, Any]:
    """Daily service level and waits (phone, chat) and first response times (written)."""
    start, end = _window(wh, days)
    day = period_by("day")

    def by_day(figure: str, channels: tuple[str, ...]) -> list[dict[str, Any]]:
        rows = compute(wh, figure, start=start, end=end, by=(day, "channel"),
                       filters={"channel": list(channels)}, compare=("target",))
        return suppress(rows, min_count)

    out: dict[str, Any] = {"start": start.isoformat(), "end": end.isoformat()}
    for key, figure, channels in (("service_level", "service_level", VOICE_CHANNELS),
                                  ("asa", "asa", VOICE_CHANNELS),
                                  ("first_response", "first_response", WRITTEN_CHANNELS)):
        try:
            out[key] = by_day(figure, channels)
        except Exception as exc:  # noqa: BLE001 - one missing metric leaves the others
            out[key] = []
            out.setdefault("unavailable", {})[key] = type(exc).__name__
    return out


def best_time(wh: Warehouse, *, min_count: int, weeks: int = 8) -> dict[str, Any]:
    """Contacts per week and average wait, by weekday and hour, over the last `weeks` weeks."""
    start, end = _window(wh, weeks * 7)
    span_weeks = max((end - start).total_seconds() / (7 * 86400), 1 / 7)
    by = ("weekday", "hour_of_day")
    demand_rows = suppress(compute(wh, "contacts", start=start, end=end, by=by), min_count,
                           counts=True)
    try:
        wait_rows = suppress(compute(wh, "asa", start=start, end=end, by=by), min_count)
    except Exception:  # noqa: BLE001 - demand alone still tells the best time
        wait_rows = []

    def grid(rows: list[dict[str, Any]], scale: float) -> list[list[float | None]]:
        cells: list[list[float | None]] = [[None] * 24 for _ in WEEKDAYS]
        for r in rows:
            if r["value"] is not None and r.get("weekday") is not None \
                    and r.get("hour_of_day") is not None:
                cells[int(r["weekday"])][int(r["hour_of_day"])] = round(r["value"] * scale, 2)
        return cells

    return {"start": start.isoformat(), "end": end.isoformat(), "weeks": round(span_weeks, 1),
            "weekdays": list(WEEKDAYS), "hours": list(range(24)),
            "contacts_per_week": grid(demand_rows, 1 / span_weeks),
            "wait_seconds": grid(wait_rows, 1.0)}


def summary(wh: Warehouse, *, min_count: int, days: int = 30) -> dict[str, Any]:
    """The daily report's sections over the last `days` days of data."""
    start, end = _window(wh, days)
    return {"start": start.isoformat(), "end": end.isoformat(), "days": days,
            "sections": sections(wh, start=start, end=end, min_count=min_count)}


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
            value = compute_fn()
            self._values[key] = (time.monotonic(), value)
            return value

    def _renew(self, key: tuple[Any, ...], compute_fn: Callable[[], Any]) -> None:
        lock = self._lock(key)
        if not lock.acquire(blocking=False):
            return  # already being computed

        def run() -> None:
            try:
                self._values[key] = (time.monotonic(), compute_fn())
            except Exception:  # noqa: BLE001 - the stale figure stays; the next ask retries
                log.exception("recomputing public figure %s failed", key)
            finally:
                lock.release()

        threading.Thread(target=run, name="cxhub-chart", daemon=True).start()
