"""Opening hours and holidays: loaded from the shared YAML, asked "open now? until when?".

The YAML (the demo's `opening_hours.yaml`):
    timezone: Europe/London
    channels: {phone: {mon: "08:00-20:00", ..., sun: closed}, chat: {...}}
    holidays: [2025-12-25, ...]
    business_hours: {email: phone, web: phone}   # optional: whose hours a channel's business
                                                 # clock keeps when it has none of its own
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import duckdb
import yaml

from cxhub.domain.errors import CxhubError
from cxhub.warehouse import Warehouse, business_days

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class HoursError(CxhubError, ValueError):
    pass


@dataclass(frozen=True)
class Hours:
    timezone: str
    # channel -> weekday (Monday 0) -> (opens, closes) or None when closed
    channels: dict[str, dict[int, tuple[dt.time, dt.time] | None]]
    holidays: frozenset[dt.date]
    # channel without hours -> the channel whose hours its business clock keeps (the YAML's
    # `business_hours`): e-mail answered in the phone team's hours
    borrowed: dict[str, str] = field(default_factory=dict)

    def is_open(self, channel: str, wall: dt.datetime) -> bool:
        """Open at this local wall-clock time (channels without hours are always open)."""
        week = self.channels.get(channel)
        if week is None:
            return True
        span = None if wall.date() in self.holidays else week.get(wall.weekday())
        return bool(span and span[0] <= wall.time() < span[1])

    def status(self, channel: str, at: dt.datetime) -> dict[str, Any]:
        """`status_local` for an aware time, or a naive UTC one."""
        zone = ZoneInfo(self.timezone)
        local = (at if at.tzinfo else at.replace(tzinfo=dt.UTC)).astimezone(zone)
        return self.status_local(channel, local.replace(tzinfo=None))

    def status_local(self, channel: str, local: dt.datetime) -> dict[str, Any]:
        """Whether the channel is open at this local wall-clock time, and the next change:
        {"open": True, "closes": "20:00"} or {"open": False, "opens": "Mon 08:00"}."""
        week = self.channels.get(channel)
        if week is None:
            return {"channel": channel, "known": False}
        span = None if local.date() in self.holidays else week.get(local.weekday())
        if span and span[0] <= local.time() < span[1]:
            return {"channel": channel, "known": True, "open": True,
                    "closes": span[1].strftime("%H:%M"),
                    "text": f"open now, closes at {span[1]:%H:%M}"}
        for ahead in range(0, 15):
            day = local.date() + dt.timedelta(days=ahead)
            span = None if day in self.holidays else week.get(day.weekday())
            if span and (ahead > 0 or local.time() < span[0]):
                label = span[0].strftime("%H:%M")
                if ahead:
                    label = f"{DAYS[day.weekday()].capitalize()} {label}"
                return {"channel": channel, "known": True, "open": False, "opens": label,
                        "text": f"closed now, opens {label}"}
        return {"channel": channel, "known": True, "open": False, "opens": None,
                "text": "closed"}


def parse(doc: Any, where: str) -> Hours:
    if not isinstance(doc, dict):
        raise HoursError(f"{where}: expected a mapping with timezone, channels, holidays")
    tz = str(doc.get("timezone") or "UTC")
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise HoursError(f"{where}: unknown timezone {tz!r}") from None
    channels: dict[str, dict[int, tuple[dt.time, dt.time] | None]] = {}
    for channel, week in (doc.get("channels") or {}).items():
        if not isinstance(week, dict):
            raise HoursError(f"{where}: channels.{channel} must map mon..sun to hours")
        channels[str(channel)] = {}
        for i, name in enumerate(DAYS):
            channels[str(channel)][i] = _span(week.get(name, "closed"),
                                              f"{where}: channels.{channel}.{name}")
    holidays = set()
    for h in doc.get("holidays") or []:
        try:
            holidays.add(h if isinstance(h, dt.date) else dt.date.fromisoformat(str(h)))
        except ValueError:
            raise HoursError(f"{where}: holiday {h!r} is not a date (YYYY-MM-DD)") from None
    borrowed = doc.get("business_hours") or {}
    if not isinstance(borrowed, dict):
        raise HoursError(f"{where}: business_hours must map a channel to the channel whose "
                         "hours it keeps (email: phone)")
    for channel, calendar in borrowed.items():
        if str(calendar) not in channels:
            raise HoursError(f"{where}: business_hours.{channel}: {calendar!r} has no opening "
                             f"hours; channels with hours: {', '.join(channels) or 'none'}")
        if str(channel) in channels:
            raise HoursError(f"{where}: business_hours.{channel}: {channel!r} has opening "
                             "hours of its own")
    return Hours(tz, channels, frozenset(holidays),
                 {str(a): str(b) for a, b in borrowed.items()})


def _span(text: Any, where: str) -> tuple[dt.time, dt.time] | None:
    if text is None or str(text).strip().lower() == "closed":
        return None
    try:
        a, b = str(text).split("-")
        opens, closes = dt.time.fromisoformat(a.strip()), dt.time.fromisoformat(b.strip())
    except ValueError:
        raise HoursError(f"{where}: {text!r} is not like 08:00-20:00 or closed") from None
    if closes <= opens:
        raise HoursError(f"{where}: {text!r} closes before it opens")
    return opens, closes


def load_file(wh: Warehouse, path: Path) -> Hours:
    """Read the YAML and replace the stored opening hours and holidays with it."""
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise HoursError(f"{path}: {exc}") from None
    hours = parse(doc, str(path))

    def job(con: duckdb.DuckDBPyConnection) -> None:
        con.execute("DELETE FROM opening_hours")
        con.execute("DELETE FROM holidays")
        for channel, week in hours.channels.items():
            for wd, span in week.items():
                con.execute("INSERT INTO opening_hours VALUES (?, ?, ?, ?, ?)",
                            [channel, wd, span[0] if span else None,
                             span[1] if span else None, hours.timezone])
        for day in sorted(hours.holidays):
            con.execute("INSERT INTO holidays VALUES (?, NULL)", [day])
        # The business calendar follows in the same transaction: no reader sees new hours
        # with the old calendar's business times.
        business_days.rebuild(con, hours.borrowed)

    wh.write(job, groupable=False)
    return hours


def stored(wh: Warehouse) -> Hours | None:
    """The opening hours in the warehouse, or None when none were loaded."""
    rows = wh.read("SELECT channel, weekday, opens, closes, timezone FROM opening_hours")
    if not rows:
        return None
    channels: dict[str, dict[int, tuple[dt.time, dt.time] | None]] = {}
    for channel, wd, opens, closes, _ in rows:
        channels.setdefault(channel, {})[int(wd)] = (opens, closes) if opens else None
    days = frozenset(r[0] for r in wh.read("SELECT day FROM holidays"))
    borrowed = {str(a): str(b) for a, b in wh.read(
        "SELECT DISTINCT channel, calendar FROM business_days WHERE channel <> calendar")}
    return Hours(rows[0][4] or "UTC", channels, days, borrowed)


def timezone(wh: Warehouse) -> str | None:
    """The company's time zone (from the opening hours), or None: times taken as they are."""
    row = wh.read_one("SELECT any_value(timezone) FROM opening_hours")
    return row[0] if row and row[0] else None
