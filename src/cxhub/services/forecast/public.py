"""What the public page asks of forecasting: the expected wait now, and the best time to get
in touch over the next days. Aggregates only (no contact or person appears).

Expected wait now: with q callers already waiting and n agents on duty (the roster), a new
caller is answered after q + 1 departures from the head of the queue, each at rate
n / AHT + (callers ahead) / patience (Erlang A's queue: agents finish, callers ahead hang up),
so the expected wait is the sum of 1 / (n / AHT + i / patience) for i = 0..q. With nobody
waiting it is Erlang A's mean wait for the forecast arrivals of this half hour.

Best time: each open hour of the next days, Erlang A's mean wait for the forecast arrivals
(its upper 95% bound as the pessimistic case) and the agents rostered (or, without a roster,
the agents the plan needs); the quietest run of hours wins.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd

from cxhub.analytics.staffing import agents_needed, erlang_a, erlang_c
from cxhub.services.forecast import hours, plan
from cxhub.warehouse import Warehouse
from cxhub.warehouse.schema import edge_sql

DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def _now(wh: Warehouse, at: dt.datetime | None) -> dt.datetime:
    if at is not None:
        return at
    row = wh.read_one("SELECT " + edge_sql("contacts", "created_at", "max"))
    return row[0] if row and row[0] else dt.datetime.now(dt.UTC).replace(tzinfo=None)


def expected_wait(wh: Warehouse, channel: str = "phone",
                  at: dt.datetime | None = None) -> dict[str, Any]:
    """{"seconds": 95.0, "basis": "queue", "waiting": 4, "agents": 3, "open": {...}} at `at`
    (company clock; default: the newest contact's time)."""
    at = _now(wh, at)
    opening = hours.stored(wh)
    status = opening.status_local(channel, at) if opening else {"known": False}
    aht, patience = plan.history_before_today(wh, channel, at)
    patience = patience or 1e9  # nobody hangs up: Erlang C's queue
    row = wh.read_one(
        "SELECT count(*) FROM contacts WHERE channel = ? AND queued_at <= ? "
        "AND queued_at >= ? - INTERVAL 2 HOUR AND coalesce(answered_at, abandoned_at, "
        "resolved_at) IS NULL", [channel, at, at])
    waiting = int(row[0]) if row else 0
    agents = _rostered(wh, channel, at)
    out: dict[str, Any] = {"channel": channel, "at": at.isoformat(), "waiting": waiting,
                           "agents": agents, "open": status, "aht_seconds": round(aht, 1)}
    if not agents:
        return {**out, "seconds": None, "basis": "no agents rostered"}
    per = plan.CONCURRENCY.get(channel, 1)
    if waiting:
        rates = agents * per / aht + np.arange(waiting + 1) / patience
        return {**out, "seconds": round(float(np.sum(1 / rates)), 1), "basis": "queue"}
    arrivals = _forecast_at(wh, channel, at)
    if arrivals is None:
        return {**out, "seconds": 0.0, "basis": "no queue, no forecast"}
    f = erlang_a(agents, arrivals, 1800, aht / per, 0, patience)
    return {**out, "seconds": round(float(f.asa_seconds), 1), "basis": "forecast"}


# A rota repeats week by week: beyond the last week a roster covers, the same weekday and
# time of the latest covered week stands in for it (up to this many weeks back), rather than
# pretending every future hour is staffed exactly to need.
ROTA_WEEKS_BACK = 4


def _rostered(wh: Warehouse, channel: str, at: dt.datetime) -> float:
    for weeks in range(ROTA_WEEKS_BACK + 1):
        when = at - dt.timedelta(weeks=weeks)
        row = wh.read_one("SELECT sum(agents) FROM rosters WHERE channel = ? "
                          "AND starts_at <= ? AND ends_at > ?", [channel, when, when])
        if row and row[0]:
            return float(row[0])
    return 0.0


def _weekly_rota(roster: pd.DataFrame, hours_wanted: pd.Series) -> pd.Series:
    """Agents per wanted hour: the roster's own, else the same hour of an earlier week."""
    by_hour = dict(zip(roster["hour"], roster["agents"], strict=True))
    found = []
    for hour in hours_wanted:
        agents = None
        for weeks in range(ROTA_WEEKS_BACK + 1):
            agents = by_hour.get(hour - pd.Timedelta(weeks=weeks))
            if agents is not None:
                break
        found.append(agents)
    return pd.Series(found, dtype=float)


def _forecast_at(wh: Warehouse, channel: str, at: dt.datetime) -> float | None:
    row = wh.read_one(
        "SELECT point * 30.0 / interval_minutes FROM forecasts WHERE channel = ? "
        "AND interval_start <= ? AND interval_start + to_minutes(interval_minutes) > ? "
        "ORDER BY run_id DESC LIMIT 1", [channel, at, at])
    return float(row[0]) if row else None


def best_times(wh: Warehouse, channel: str = "phone", *, days: int = 7,
               at: dt.datetime | None = None, span_hours: int = 2) -> dict[str, Any]:
    """The open hours of the next `days` by expected wait, and the quietest `span_hours`
    in a row, said plainly."""
    at = _now(wh, at)
    fc = wh.cursor().execute(
        "SELECT interval_start, interval_minutes, point, hi FROM forecasts WHERE run_id = "
        "(SELECT max(run_id) FROM forecasts WHERE channel = ?) AND channel = ? "
        "AND interval_start >= ? AND interval_start < ? ORDER BY 1",
        [channel, channel, at, at + dt.timedelta(days=days)]).df()
    if fc.empty:
        return {"channel": channel, "hours": [], "summary": None}
    opening = hours.stored(wh)
    aht, patience = plan.history_before_today(wh, channel, at)
    per = plan.CONCURRENCY.get(channel, 1)
    fc["hour"] = fc["interval_start"].dt.floor("h")
    hourly = fc.groupby("hour").agg(point=("point", "sum"), hi=("hi", "sum")).reset_index()
    hourly = hourly[[opening.is_open(channel, h.to_pydatetime()) if opening else True
                     for h in hourly["hour"]]].reset_index(drop=True)
    if hourly.empty:
        return {"channel": channel, "hours": [], "summary": None}
    roster = wh.cursor().execute(
        "SELECT date_trunc('hour', starts_at) AS hour, avg(agents) AS agents FROM rosters "
        "WHERE channel = ? GROUP BY 1", [channel]).df()
    hourly["agents"] = _weekly_rota(roster, hourly["hour"])
    need = agents_needed(hourly["point"].to_numpy(), 3600, aht / per,
                              plan.service_targets(channel)[0],
                              plan.service_targets(channel)[1], patience)
    agents = hourly["agents"].fillna(pd.Series(need, dtype=float)).to_numpy(dtype=float)
    agents = np.maximum(agents, 1.0)

    def wait(arrivals: np.ndarray) -> np.ndarray:
        if patience:
            return np.asarray(erlang_a(agents, arrivals, 3600, aht / per, 0, patience).asa_seconds)
        return np.asarray(erlang_c(agents, arrivals, 3600, aht / per, 0).asa_seconds)

    hourly["wait"] = wait(hourly["point"].to_numpy())
    hourly["wait_hi"] = wait(hourly["hi"].to_numpy())
    rows = [{"start": h.isoformat(), "weekday": DAY_NAMES[h.weekday()], "hour": h.hour,
             "contacts": round(float(p), 1), "wait_seconds": round(float(w), 1),
             "wait_seconds_high": round(float(wh_), 1)}
            for h, p, w, wh_ in zip(hourly["hour"], hourly["point"], hourly["wait"],
                                    hourly["wait_hi"], strict=True)]
    return {"channel": channel, "hours": rows, "summary": _quietest(rows, span_hours)}


def _quietest(rows: list[dict[str, Any]], span: int) -> dict[str, Any] | None:
    best = None
    for i in range(len(rows) - span + 1):
        run = rows[i:i + span]
        first = dt.datetime.fromisoformat(run[0]["start"])
        if dt.datetime.fromisoformat(run[-1]["start"]) - first != dt.timedelta(hours=span - 1):
            continue  # not consecutive open hours
        score = sum(r["wait_seconds"] for r in run) / span
        if best is None or score < best[0]:
            best = (score, run, first)
    if best is None:
        return None
    score, run, first = best
    high = max(r["wait_seconds_high"] for r in run)
    end = first + dt.timedelta(hours=span)
    return {
        "weekday": DAY_NAMES[first.weekday()], "from": f"{first:%H:%M}", "to": f"{end:%H:%M}",
        "wait_seconds": round(score, 1), "wait_seconds_high": high,
        "text": (f"quietest: {DAY_NAMES[first.weekday()]} {first:%H:%M}-{end:%H:%M}, expected "
                 f"wait {_plain(score)} (if demand is at the top of its forecast range: "
                 f"{_plain(high)})"),
    }


def _plain(seconds: float) -> str:
    if seconds < 60:
        return "under 1 minute"
    return f"about {round(seconds / 60)} minutes"
