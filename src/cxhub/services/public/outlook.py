"""The public page's forward look, per live channel: open now (and until when), the expected
wait now, and the quietest hours of the next 7 days. Aggregates only: counts of calls
forecast, agents scheduled and waits; no contact or person.

Expected wait now, best first:
- `queue`: callers are waiting and agents are on duty (the roster): Erlang A's queue ahead of
  a new caller (`services.forecast.public.expected_wait`).
- `forecast`: nobody waiting, agents on duty: Erlang A's mean wait for this half hour's forecast.
- `forecast_plan`: no roster for now but a forecast: Erlang A's mean wait with the agents the
  staffing plan needs for that forecast (what the company plans to staff; said so on the page).
- `measured`: no forecast: the mean wait of contacts answered in the last 30 minutes (the
  catalogue's expected wait, the live cards' figure before forecasts existed).
The page says which one it shows.

Best time: the quietest two hours in a row of the next 7 days, from the forecast and the roster
(`best_times`), among hours whose every minute is open (a channel closing at 17:30 does not get
17:00-18:00 recommended), with the wait at the top of the forecast's 95% range as the plain
uncertainty. Without a forecast the page keeps its look-back recommendation.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any
from zoneinfo import ZoneInfo

from cxhub.analytics.staffing import agents_needed, erlang_a, erlang_c
from cxhub.services.forecast import hours, plan, public
from cxhub.services.public.figures import VOICE_CHANNELS
from cxhub.warehouse import Warehouse

log = logging.getLogger(__name__)
SPAN_HOURS = 2  # the quietest run recommended
DAYS_AHEAD = 7


def local_now(wh: Warehouse, now: dt.datetime | None = None) -> dt.datetime:
    """Now on the company's clock (the opening hours' time zone), naive like the stored times;
    `now` is naive UTC (default: the real clock)."""
    now = now or dt.datetime.now(dt.UTC).replace(tzinfo=None)
    zone = hours.timezone(wh)
    if not zone:
        return now
    return now.replace(tzinfo=dt.UTC).astimezone(ZoneInfo(zone)).replace(tzinfo=None)


def opening(wh: Warehouse, at: dt.datetime,
            channels: tuple[str, ...] = VOICE_CHANNELS) -> dict[str, dict[str, Any]]:
    """Per channel {"open": True, "closes": "20:00"} or {"open": False, "opens": "Mon 08:00"}
    at the local time `at`; channels without recorded hours are left out."""
    stored = hours.stored(wh)
    out: dict[str, dict[str, Any]] = {}
    for channel in channels:
        status = stored.status_local(channel, at) if stored else {"known": False}
        if status.get("known"):
            out[channel] = {k: status[k] for k in ("open", "closes", "opens") if k in status}
    return out


def wait_now(wh: Warehouse, channel: str, at: dt.datetime) -> dict[str, Any] | None:
    """{"value": seconds, "basis": "queue" | "forecast" | "forecast_plan"} at local time `at`,
    or None when neither a roster nor a forecast covers now (the caller falls back to the
    measured wait)."""
    try:
        found = public.expected_wait(wh, channel, at)
    except Exception:  # noqa: BLE001 - the measured wait still shows
        log.exception("expected wait of %s failed", channel)
        return None
    if found.get("basis") in ("queue", "forecast") and found.get("seconds") is not None:
        return {"value": found["seconds"], "basis": found["basis"]}
    if found.get("basis") != "no agents rostered":
        return None  # rostered, nobody waiting, no forecast: no estimate of our own
    return _staffed_to_plan(wh, channel, at, int(found.get("waiting") or 0))


def _staffed_to_plan(wh: Warehouse, channel: str, at: dt.datetime,
                     waiting: int) -> dict[str, Any] | None:
    row = wh.read_one(
        "SELECT point, interval_minutes FROM forecasts WHERE channel = ? "
        "AND interval_start <= ? AND interval_start + to_minutes(interval_minutes) > ? "
        "ORDER BY run_id DESC LIMIT 1", [channel, at, at])
    if not row or row[0] is None or row[0] <= 0:
        return None
    arrivals, minutes = float(row[0]), int(row[1])
    aht, patience = plan.history_before_today(wh, channel, at)
    per = plan.CONCURRENCY.get(channel, 1)
    target, within = plan.service_targets(channel)
    agents = float(agents_needed(arrivals, minutes * 60, aht / per, target, within,
                                 patience).item())
    if agents <= 0:
        return None
    if waiting:
        rates = [agents * per / aht + i / (patience or 1e9) for i in range(waiting + 1)]
        return {"value": round(sum(1 / r for r in rates), 1), "basis": "forecast_plan"}
    if patience:
        f = erlang_a(agents, arrivals, minutes * 60, aht / per, 0, patience)
    else:
        f = erlang_c(agents, arrivals, minutes * 60, aht / per, 0)
    return {"value": round(float(f.asa_seconds), 1), "basis": "forecast_plan"}


def quietest(wh: Warehouse, channel: str, at: dt.datetime, *, days: int = DAYS_AHEAD,
             span: int = SPAN_HOURS) -> dict[str, Any] | None:
    """The quietest `span` open hours in a row of the next `days` days (local time `at`):
    weekday, date, from, to, the expected wait and the wait if demand is at the top of its
    95% forecast range; None without a forecast."""
    found = public.best_times(wh, channel, days=days, at=at, span_hours=span)
    stored = hours.stored(wh)
    rows = [r for r in found.get("hours", [])
            if stored is None or _open_all_hour(stored, channel, r["start"])]
    best: tuple[float, list[dict[str, Any]]] | None = None
    for i in range(len(rows) - span + 1):
        run = rows[i:i + span]
        first = dt.datetime.fromisoformat(run[0]["start"])
        if dt.datetime.fromisoformat(run[-1]["start"]) - first != dt.timedelta(hours=span - 1):
            continue  # a closed hour in between
        if first < at.replace(minute=0, second=0, microsecond=0):
            continue
        score = sum(r["wait_seconds"] for r in run) / span
        if best is None or score < best[0]:
            best = (score, run)
    if best is None:
        return None
    score, run = best
    first = dt.datetime.fromisoformat(run[0]["start"])
    return {"channel": channel, "weekday": first.weekday(), "date": first.date().isoformat(),
            "start": first.strftime("%H:%M"),
            "end": (first + dt.timedelta(hours=span)).strftime("%H:%M"),
            "value": round(score, 1),
            "high": round(max(r["wait_seconds_high"] for r in run), 1)}


def _open_all_hour(stored: hours.Hours, channel: str, start: str) -> bool:
    hour = dt.datetime.fromisoformat(start)
    return all(stored.is_open(channel, hour + dt.timedelta(minutes=m)) for m in (0, 30, 59))


def outlook(wh: Warehouse, *, now: dt.datetime | None = None,
            channels: tuple[str, ...] = VOICE_CHANNELS) -> dict[str, Any]:
    """The page's forward look: per channel the opening status and the quietest hours ahead
    (`recommended`, empty without a forecast: the page then keeps its look-back hint)."""
    at = local_now(wh, now)
    status = opening(wh, at, channels)
    recommended = []
    for channel in channels:
        try:
            pick = quietest(wh, channel, at)
        except Exception:  # noqa: BLE001 - one channel's failure leaves the others
            log.exception("best time of %s failed", channel)
            pick = None
        if pick is not None:
            recommended.append(pick)
    # A list, not a mapping by channel: public documents hold only known keys.
    return {"at": at.replace(microsecond=0).isoformat(), "timezone": hours.timezone(wh),
            "days": DAYS_AHEAD, "recommended": recommended,
            "opening": [{"channel": c, **s} for c, s in status.items()]}


def live_snapshot(wh: Warehouse, *, min_count: int,
                  now: dt.datetime | None = None) -> dict[str, Any]:
    """The live cards' figures (`services.live.snapshot`) with, for phone and chat, the
    expected wait from Erlang A (roster and forecast) where one can be had, and the opening
    status. Each channel's `expected_wait.basis` says which estimate it is."""
    from cxhub.services.public.live import snapshot

    now = now or dt.datetime.now(dt.UTC).replace(tzinfo=None)
    data = snapshot(wh, min_count=min_count, now=now)
    at = local_now(wh, now)
    status = opening(wh, at)
    for entry in data["channels"]:
        channel = entry["channel"]
        if channel in status:
            entry["opening"] = status[channel]
        wait = entry.get("expected_wait") or {}
        wait["basis"] = "measured"
        if channel in VOICE_CHANNELS and status.get(channel, {}).get("open", True):
            found = wait_now(wh, channel, at)
            if found is not None:
                wait = {**found, "suppressed": False}
        entry["expected_wait"] = wait
    return data
