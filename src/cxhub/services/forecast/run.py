"""Forecast every channel's demand from the warehouse, store it, and backtest it.

A channel's series counts contacts by creation time per interval of the company's clock. The
warehouse keeps times as the sources write them, and the demo company writes its local wall
clock (Europe/London), so by default times are counted as they are; `utc_zone` says instead
that the stored times are UTC and names the zone whose clock to count in (days of 23 or 25
hours are then handled as in `analytics.forecast.series`). Known events from the calendar
(`calendar_events`: a campaign, a planted incident) are left out of training for their channel,
or for every channel when the event names none, so a campaign does not teach the model that
every Tuesday is busy. The newest day is left out too: it is usually still going on.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

import duckdb
import numpy as np
import pandas as pd

from cxhub.analytics.forecast import backtest
from cxhub.analytics.forecast.models import CANDIDATES
from cxhub.analytics.forecast.series import (
    Series,
    SeriesError,
    check_history,
    count_series,
    exclude,
    mark_gaps,
)
from cxhub.warehouse import Warehouse
from cxhub.warehouse.schema import edge_sql

TRAIN_WEEKS = 12  # history given to the models: enough for every candidate, bounded in time
RUN_FOLDS = 4  # inner folds (of a week each for long horizons) that choose a run's models


BY = ("channel", "queue", "team")
MIN_PART_CONTACTS = 500  # a queue or team with fewer contacts in the window is not forecast


@dataclass
class ChannelForecast:
    channel: str
    series: Series
    forecast: backtest.Forecast
    excluded_slots: int = 0
    gaps: list[dt.date] = field(default_factory=list)
    by: str = "channel"  # or queue, team: then `part` names it
    part: str | None = None

    @property
    def name(self) -> str:
        return series_name(self.channel, self.part)


@dataclass
class RunReport:
    run_id: int | None
    interval_minutes: int
    horizon_days: int
    timezone: str | None
    channels: list[ChannelForecast] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    rows: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id, "interval_minutes": self.interval_minutes,
            "horizon_days": self.horizon_days, "timezone": self.timezone, "rows": self.rows,
            "channels": [{
                "series": c.name, "channel": c.channel, "model": c.forecast.model,
                "first_day": c.series.slot_start(c.forecast.first_day * c.series.per_day)
                .date().isoformat(),
                "total": round(float(c.forecast.point.sum()), 1),
                "excluded_slots": c.excluded_slots,
                "gaps": [d.isoformat() for d in c.gaps],
                "inner_mae": {k: round(v, 3) for k, v in c.forecast.inner_mae.items()},
            } for c in self.channels],
            "skipped": self.skipped,
        }


def channels(wh: Warehouse) -> list[str]:
    return [r[0] for r in wh.read(
        "SELECT channel FROM contacts WHERE channel IS NOT NULL GROUP BY 1 ORDER BY count(*) DESC")]


def parts(wh: Warehouse, channel: str, by: str) -> list[str | None]:
    """The queues or teams of a channel with enough contacts to forecast (None: the whole
    channel)."""
    if by == "channel":
        return [None]
    if by not in BY:
        raise SeriesError(f"--by must be one of {', '.join(BY)}, got {by!r}")
    return [r[0] for r in wh.read(
        f"SELECT {by} FROM contacts WHERE channel = ? AND {by} IS NOT NULL GROUP BY 1 "
        "HAVING count(*) >= ? ORDER BY count(*) DESC", [channel, MIN_PART_CONTACTS])]


def channel_series(wh: Warehouse, channel: str, *, minutes: int, timezone: str | None,
                   weeks: int | None = TRAIN_WEEKS, origin: dt.date | None = None,
                   by: str = "channel",
                   part: str | None = None) -> tuple[Series, int, list[dt.date]]:
    """The channel's counts up to the day before `origin` (default: the newest day, which is
    usually partial, left out), with known events and gaps marked."""
    newest = wh.read_one("SELECT " + edge_sql("contacts", "created_at", "max", "channel = ?"),
                         [channel])
    if not newest or newest[0] is None:
        raise SeriesError(f"channel {channel}: no contacts")
    last_local = _to_local(pd.Timestamp(newest[0]), timezone)
    end = min(last_local.date(), origin or last_local.date()) - dt.timedelta(days=1)
    oldest = wh.read_one("SELECT " + edge_sql("contacts", "created_at", "min", "channel = ?"),
                         [channel])
    first = _to_local(pd.Timestamp(oldest[0]), timezone).date() if oldest else end
    start = max(first, end - dt.timedelta(days=weeks * 7 - 1)) if weeks else first
    since = pd.Timestamp(start) - pd.Timedelta(days=1)
    where, params = "", [channel, since.to_pydatetime()]
    if part is not None and by in BY[1:]:  # `by` is one of two column names, never user text
        where, params = f" AND {by} = ?", [*params, part]
    times = wh.cursor().execute(
        "SELECT created_at FROM contacts WHERE channel = ? AND created_at >= ?" + where,
        params).df()["created_at"]
    if times.empty:
        raise SeriesError(f"channel {channel}: no contacts before {end + dt.timedelta(days=1)}")
    series = count_series(times, name=series_name(channel, part), minutes=minutes,
                          timezone=timezone, start=start, end=end)
    series, marked = exclude(series, known_events(wh, channel, timezone))
    series, gaps = mark_gaps(series)
    return series, marked, gaps


def _to_local(t: pd.Timestamp, timezone: str | None) -> pd.Timestamp:
    if not timezone:
        return t
    return t.tz_localize("UTC").tz_convert(ZoneInfo(timezone)).tz_localize(None)


def known_events(wh: Warehouse, channel: str,
                 timezone: str | None) -> list[tuple[dt.datetime, dt.datetime]]:
    """The calendar's events for this channel (or all channels), in local time."""
    try:
        rows = wh.read("SELECT starts_at, ends_at FROM calendar_events WHERE starts_at < ends_at "
                       "AND (channel IS NULL OR channel = '' OR channel = ?)", [channel])
    except duckdb.CatalogException:
        return []  # a warehouse without the calendar (made before it existed)
    return [(_to_local(pd.Timestamp(a), timezone).to_pydatetime(),
             _to_local(pd.Timestamp(b), timezone).to_pydatetime()) for a, b in rows]


def run(wh: Warehouse, *, channel: str | None = None, minutes: int = 30, h_days: int = 14,
        store: bool = True, utc_zone: str | None = None,
        origin: dt.date | None = None,
        candidates: tuple[str, ...] = CANDIDATES, by: str = "channel") -> RunReport:
    """Forecast each channel (or one) from `origin` (default: the newest day) and store every
    series of the run in one write. An origin in the past forecasts days that have arrived,
    so the forecast can be compared with them."""
    timezone = utc_zone
    report = RunReport(None, minutes, h_days, timezone)
    wanted = [channel] if channel else channels(wh)
    if channel and channel not in channels(wh):
        raise SeriesError(f"channel {channel}: no contacts in the warehouse")
    todo = [(name, part) for name in wanted for part in parts(wh, name, by)]
    for name, part in todo:
        try:
            series, marked, gaps = channel_series(wh, name, minutes=minutes, timezone=timezone,
                                                  origin=origin, by=by, part=part)
            check_history(series)
        except SeriesError as exc:
            if channel and by == "channel":
                raise
            report.skipped[series_name(name, part)] = str(exc)
            continue
        fc = backtest.forecast(series, h_days, folds=RUN_FOLDS, candidates=candidates)
        report.channels.append(ChannelForecast(name, series, fc, marked, gaps, by, part))
    if store and report.channels:
        report.run_id, report.rows = _store(wh, report)
    return report


def series_name(channel: str, part: str | None) -> str:
    return channel if part is None else f"{channel}/{part}"


def _rows(c: ChannelForecast, timezone: str | None) -> pd.DataFrame:
    s, fc = c.series, c.forecast
    n = len(fc.point)
    local = pd.date_range(s.slot_start(fc.first_day * s.per_day), periods=n,
                          freq=f"{s.minutes}min")
    if timezone:
        aware = local.tz_localize(ZoneInfo(timezone), ambiguous=np.ones(n, dtype=bool),
                                  nonexistent="NaT")
        starts = aware.tz_convert("UTC").tz_localize(None)
    else:
        starts = local
    df = pd.DataFrame({
        "series": c.name, "channel": c.channel, "team": c.part if c.by == "team" else None,
        "model": fc.model,
        "interval_start": starts, "interval_minutes": s.minutes,
        "horizon": np.arange(n) // s.per_day + 1, "point": fc.point, "lo": fc.lo, "hi": fc.hi,
        "level": fc.level})
    # A slot the clocks skip has no start; one they repeat keeps its first start only.
    return df[df["interval_start"].notna()].drop_duplicates("interval_start")


def _store(wh: Warehouse, report: RunReport) -> tuple[int, int]:
    frame = pd.concat([_rows(c, report.timezone) for c in report.channels], ignore_index=True)
    origin = frame["interval_start"].min().to_pydatetime()
    settings = {"candidates": list(CANDIDATES), "level": backtest.LEVEL}

    def job(con: duckdb.DuckDBPyConnection) -> int:
        row = con.execute("SELECT coalesce(max(run_id), 0) + 1 FROM forecast_runs").fetchone()
        run_id = int(row[0]) if row else 1
        con.execute(
            "INSERT INTO forecast_runs VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [run_id, dt.datetime.now(dt.UTC).replace(tzinfo=None), origin,
             report.interval_minutes, report.horizon_days, report.timezone,
             json.dumps(settings), json.dumps(report.to_dict())])
        con.register("new_forecasts", frame)
        try:
            con.execute(
                "INSERT INTO forecasts SELECT ?, series, channel, team, model, interval_start, "
                "interval_minutes, horizon, point, lo, hi, level FROM new_forecasts", [run_id])
        finally:
            con.unregister("new_forecasts")
        return run_id

    return wh.write(job, groupable=False), len(frame)


def backtest_channels(wh: Warehouse, *, channel: str | None = None, minutes: int = 30,
                      h_days: int = 1, folds: int = 7,
                      utc_zone: str | None = None, by: str = "channel") -> list[dict[str, Any]]:
    """Rolling-origin evaluation of each channel's (or queue's, team's) series."""
    timezone = utc_zone
    out = []
    for name, part in [(n, p) for n in ([channel] if channel else channels(wh))
                       for p in parts(wh, n, by)]:
        series, _, _ = channel_series(wh, name, minutes=minutes, timezone=timezone, by=by,
                                      part=part)
        try:
            out.append(backtest.evaluate(series, h_days, folds))
        except SeriesError as exc:
            if channel:
                raise
            out.append({"series": name, "error": str(exc)})
    return out
