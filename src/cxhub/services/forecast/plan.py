"""The staffing plan: agents needed per live channel and interval from the latest forecast,
against the roster, interval by interval.

Need: Erlang A (Erlang C where nobody has abandoned yet) for the forecast arrivals, with the
channel's handling time and patience measured over the four weeks before the forecast, and the
catalogue's service-level target and threshold (`service_level`: 80% within 20 s on the phone,
60 s on chat). A chat agent handles two chats at once, as the demo company's do, so a chat's
handling time counts half. An interval is under-staffed when fewer agents are scheduled than
needed, over-staffed when more than the need plus its square root (the usual slack of a
square-root staffing rule) are scheduled; the roster rows of every team add up.
"""

from __future__ import annotations

import datetime as dt
import math
import threading
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from cxhub.analytics.staffing import agents_needed, figures
from cxhub.domain.errors import NotFoundError
from cxhub.services.forecast import hours
from cxhub.warehouse import Warehouse
from cxhub.warehouse.schema import edge_sql

LIVE = ("phone", "chat")
CONCURRENCY = {"chat": 2}
HISTORY_DAYS = 28
_HISTORY: dict[tuple[str, str, dt.datetime], tuple[float, float | None]] = {}
_HISTORY_LOCK = threading.Lock()


@dataclass
class ChannelPlan:
    channel: str
    aht_seconds: float
    patience_seconds: float | None
    target: float
    threshold_seconds: float
    intervals: pd.DataFrame  # interval_start, forecast, lo, hi, actual, need, scheduled, status

    def summary(self) -> dict[str, Any]:
        df = self.intervals
        rostered = df[df["scheduled"].notna()]
        return {
            "channel": self.channel, "aht_seconds": round(self.aht_seconds, 1),
            "patience_seconds": None if self.patience_seconds is None
            else round(self.patience_seconds, 1),
            "target": self.target, "threshold_seconds": self.threshold_seconds,
            "intervals": len(df), "rostered_intervals": len(rostered),
            "closed": int((df["status"] == "closed").sum()),
            "under": int((df["status"] == "under").sum()),
            "under_ahead": int(((df["status"] == "under") & df["actual"].isna()).sum()),
            "over": int((df["status"] == "over").sum()),
            # Needed and scheduled over the same intervals, the rostered ones: the forecast
            # runs past the roster, and the need of those intervals set against no schedule
            # read as a shortfall (the demo's phone: 618 hours needed against 392 scheduled, where
            # the rostered intervals needed 364). What the rest need is given apart.
            "agent_hours_needed": round(float(rostered["need"].sum()) * _hours(df), 1),
            "agent_hours_scheduled": round(float(rostered["scheduled"].sum()) * _hours(df), 1),
            "agent_hours_needed_unrostered": round(
                float(df["need"].sum() - rostered["need"].sum()) * _hours(df), 1),
        }


def gaps_ahead(p: ChannelPlan, *, limit: int = 5) -> tuple[list[dict[str, Any]], int]:
    """The roster's under-staffed stretches still to come (runs of consecutive under-staffed
    intervals not yet arrived): the `limit` largest by agent-hours short, in time order, each
    with its busiest interval's need and roster; and how many stretches there are."""
    df = p.intervals
    if df.empty:
        return [], 0
    step = dt.timedelta(minutes=int(df["interval_minutes"].iloc[0]))
    ahead = df[df["actual"].isna() & (df["status"] == "under")]
    gaps: list[dict[str, Any]] = []
    last = -2
    for i, row in ahead.iterrows():
        start, short = row["interval_start"].to_pydatetime(), int(row["need"] - row["scheduled"])
        if i != last + 1:
            gaps.append({"start": start, "short_by": 0, "agent_hours_short": 0.0})
        gap, last = gaps[-1], int(i)
        gap["end"] = start + step
        gap["agent_hours_short"] += short * step.total_seconds() / 3600
        if short > gap["short_by"]:
            gap.update(short_by=short, need=int(row["need"]), scheduled=int(row["scheduled"]))
    largest = sorted(gaps, key=lambda g: -g["agent_hours_short"])[:limit]
    return sorted(largest, key=lambda g: g["start"]), len(gaps)


def _hours(df: pd.DataFrame) -> float:
    return float(df["interval_minutes"].iloc[0]) / 60 if len(df) else 0.0


@dataclass
class Plan:
    run_id: int
    channels: list[ChannelPlan] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "channels": [c.summary() for c in self.channels]}


def latest_run(wh: Warehouse) -> int:
    row = wh.read_one("SELECT max(run_id) FROM forecast_runs")
    if not row or row[0] is None:
        raise NotFoundError("no forecast yet: run `cxhub forecast run` first")
    return int(row[0])


def service_targets(channel: str) -> tuple[float, float]:
    """The catalogue's service-level target and threshold (seconds) for the channel."""
    from cxhub.metrics.definitions import default_catalogue

    metric = default_catalogue().metrics["service_level"]
    target = metric.target_for(channel) or 0.8
    threshold = (metric.params.get("threshold") or {}).get(channel, 20)
    return float(target), float(threshold)


def channel_history(wh: Warehouse, channel: str, before: dt.datetime) -> tuple[float, float | None]:
    """Mean handling time (talk + hold + wrap of answered contacts) and mean patience (waits of
    everyone queued over the abandons: exponential, censored) in the weeks before `before`."""
    since = before - dt.timedelta(days=HISTORY_DAYS)
    row = wh.read_one(
        "SELECT avg(coalesce(talk_seconds, 0) + coalesce(hold_seconds, 0) "
        "          + coalesce(wrap_seconds, 0)) FILTER (WHERE answered_at IS NOT NULL), "
        "       sum(wait_seconds) FILTER (WHERE answered_at IS NOT NULL "
        "                                 OR abandoned_at IS NOT NULL), "
        "       count(*) FILTER (WHERE abandoned_at IS NOT NULL) "
        "FROM contacts WHERE channel = ? AND created_at >= ? AND created_at < ?",
        [channel, since, before])
    aht = float(row[0]) if row and row[0] else 300.0
    waited, abandons = (float(row[1] or 0), int(row[2] or 0)) if row else (0.0, 0)
    return aht, (waited / abandons if abandons and waited > 0 else None)


def history_before_today(wh: Warehouse, channel: str,
                         at: dt.datetime) -> tuple[float, float | None]:
    """`channel_history` of the weeks before the day of `at` began, read once a day per
    warehouse file and channel. The public page's live tick asks for each voice channel every
    2 s: four weeks of contacts read each time (28.5 MB of blocks at 5.5 million contacts,
    37 ms), which DuckDB keeps, made the server hold more of the file with every contact (the
    soak, docs/reliability.md); the mean handling time and patience of four weeks move little
    within a day."""
    day = at.replace(hour=0, minute=0, second=0, microsecond=0)
    key = (str(wh.path), channel, day)
    with _HISTORY_LOCK:
        found = _HISTORY.get(key)
    if found is None:
        found = channel_history(wh, channel, day)
        with _HISTORY_LOCK:
            if len(_HISTORY) >= 256:  # days gone by, warehouses of earlier tests
                _HISTORY.clear()
            _HISTORY[key] = found
    return found


def plan(wh: Warehouse, *, run_id: int | None = None, channel: str | None = None) -> Plan:
    run_id = run_id or latest_run(wh)
    out = Plan(run_id)
    fc = wh.cursor().execute(
        "SELECT channel, interval_start, interval_minutes, point, lo, hi FROM forecasts "
        "WHERE run_id = ? AND series = channel ORDER BY channel, interval_start",
        [run_id]).df()  # whole channels only: the roster is per channel
    if fc.empty:
        raise NotFoundError(f"forecast run {run_id} has no forecast of a whole channel "
                            "(`cxhub forecast run --by channel` makes one)")
    for name in [channel] if channel else [c for c in LIVE if c in set(fc["channel"])]:
        df = fc[fc["channel"] == name].reset_index(drop=True)
        if df.empty:
            raise NotFoundError(f"forecast run {run_id} has no forecast for channel {name}")
        out.channels.append(_channel_plan(wh, name, df))
    return out


def _channel_plan(wh: Warehouse, channel: str, df: pd.DataFrame) -> ChannelPlan:
    minutes = int(df["interval_minutes"].iloc[0])
    first = df["interval_start"].min().to_pydatetime()
    last = df["interval_start"].max().to_pydatetime() + dt.timedelta(minutes=minutes)
    aht, patience = channel_history(wh, channel, first)
    target, threshold = service_targets(channel)
    effective_aht = aht / CONCURRENCY.get(channel, 1)
    opening = hours.stored(wh)
    # The roster and the forecast use the company's clock (times as stored).
    is_open = np.array([opening.is_open(channel, t.to_pydatetime()) if opening else True
                        for t in df["interval_start"]])
    need = agents_needed(np.where(is_open, df["point"].to_numpy(), 0.0), minutes * 60,
                         effective_aht, target, threshold, patience)
    actual = wh.cursor().execute(
        f"SELECT time_bucket(INTERVAL {minutes} MINUTE, created_at) AS interval_start, "
        "count(*) AS actual FROM contacts WHERE channel = ? AND created_at >= ? "
        "AND created_at < ? GROUP BY 1", [channel, first, last]).df()
    roster = wh.cursor().execute(
        f"SELECT time_bucket(INTERVAL {minutes} MINUTE, starts_at) AS interval_start, "
        "sum(agents) AS scheduled FROM rosters WHERE channel = ? AND starts_at >= ? "
        "AND starts_at < ? GROUP BY 1", [channel, first, last]).df()
    df = df.assign(need=need)
    df = df.merge(actual, on="interval_start", how="left").merge(roster, on="interval_start",
                                                                 how="left")
    have_actuals = df["interval_start"] < _newest(wh, channel)
    df["actual"] = np.where(have_actuals, df["actual"].fillna(0), np.nan)
    sched = df["scheduled"].to_numpy(dtype=float)
    slack = np.sqrt(df["need"].to_numpy(dtype=float))
    df["status"] = np.select(
        [np.isnan(sched) & (df["need"] > 0), sched < df["need"],
         sched > df["need"] + np.maximum(slack, 1)], ["unrostered", "under", "over"], "ok")
    df.loc[np.isnan(sched) & (df["need"] == 0), "status"] = "ok"
    df.loc[~is_open, "status"] = "closed"
    sl = figures(np.where(np.isnan(sched), 0, sched), df["point"].to_numpy(), minutes * 60,
                 effective_aht, threshold, patience)
    df["service_level_scheduled"] = np.asarray(sl.service_level)
    return ChannelPlan(channel, aht, patience, target, threshold, df)


def _newest(wh: Warehouse, channel: str) -> pd.Timestamp:
    row = wh.read_one("SELECT " + edge_sql("contacts", "created_at", "max", "channel = ?"),
                      [channel])
    return pd.Timestamp(row[0]) if row and row[0] else pd.Timestamp.min


def chart_data(p: ChannelPlan) -> dict[str, Any]:
    """What the dashboard's two charts draw (ISO times, None for gaps)."""
    df = p.intervals

    def col(name: str) -> list[float | None]:
        return [None if v is None or (isinstance(v, float) and math.isnan(v)) else float(v)
                for v in df[name].tolist()]

    return {
        "channel": p.channel,
        "x": [t.isoformat() for t in df["interval_start"]],
        "forecast": col("point"), "lo": col("lo"), "hi": col("hi"), "actual": col("actual"),
        "need": col("need"), "scheduled": col("scheduled"), "status": df["status"].tolist(),
    }
