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
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import duckdb
import yaml

from cxhub.domain.canonical import CHANNELS
from cxhub.domain.errors import CxhubError
from cxhub.warehouse import Warehouse, business_days

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class HoursError(CxhubError, ValueError):
    """A calendar refused. `problems`: (the field's path, the reason) of each fault found,
    for the API's 422 (the message says them all, with the file's name)."""

    def __init__(self, message: str,
                 problems: list[tuple[tuple[str | int, ...], str]] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or []


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


FIELDS = ("timezone", "channels", "holidays", "business_hours")
_SPAN = re.compile(r"^\s*(\d{1,2}):(\d{2})(?::(\d{2}))?\s*-\s*(\d{1,2}):(\d{2})(?::(\d{2}))?\s*$")
_DATE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
FieldPath = tuple[str | int, ...]  # a field's place: ("channels", "phone", "mon"), ("holidays", 2)
Problems = list[tuple[FieldPath, str]]


def parse(doc: Any, where: str) -> Hours:
    """The calendar of a YAML or JSON document, checked field by field: every fault is in the
    HoursError's `problems`, each with its field's path (("channels", "phone", "mon"), ...)."""
    problems: Problems = []
    if not isinstance(doc, dict):
        raise HoursError(f"{where}: expected a mapping with timezone, channels, holidays",
                         [((), "expected a mapping with timezone, channels, holidays")])
    for key in doc:
        if key not in FIELDS:
            problems.append(((str(key),), f"unknown field; a calendar has {', '.join(FIELDS)}"))
    tz = str(doc.get("timezone") or "UTC")
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a name too long for a file
        problems.append((("timezone",), f"unknown timezone {tz!r} (an IANA name like "
                                        "Europe/London)"))
    channels = _channels(doc.get("channels"), problems)
    holidays = {d for i, h in enumerate(_list(doc.get("holidays"), ("holidays",), problems))
                if (d := holiday(h, ("holidays", i), problems)) is not None}
    borrowed = doc.get("business_hours") or {}
    if not isinstance(borrowed, dict):
        problems.append((("business_hours",), "must map a channel to the channel whose hours "
                                              "it keeps (email: phone)"))
        borrowed = {}
    for channel, calendar in borrowed.items():
        at = ("business_hours", str(channel))
        if str(channel) not in CHANNELS:
            problems.append((at, f"unknown channel {channel!r}; channels are "
                                 f"{', '.join(CHANNELS)}"))
        elif str(calendar) not in channels:
            problems.append((at, f"{calendar!r} has no opening hours; channels with hours: "
                                 f"{', '.join(channels) or 'none'}"))
        elif str(channel) in channels:
            problems.append((at, f"{channel!r} has opening hours of its own"))
    if problems:
        raise HoursError("\n".join(f"{where}: {'.'.join(map(str, p)) or '(the calendar)'}: {reason}"
                                   for p, reason in problems), problems)
    return Hours(tz, channels, frozenset(holidays),
                 {str(a): str(b) for a, b in borrowed.items()})


def _list(value: Any, at: FieldPath, problems: Problems) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        problems.append((at, "must be a list of dates (YYYY-MM-DD)"))
        return []
    return value


def _channels(raw: Any, problems: Problems) -> dict[str, dict[int, tuple[dt.time, dt.time] | None]]:
    channels: dict[str, dict[int, tuple[dt.time, dt.time] | None]] = {}
    if not isinstance(raw, dict) or not raw:
        # The time zone is stored with the hours: a calendar without them would lose it.
        problems.append((("channels",), "must give at least one channel's hours "
                                        "({phone: {mon: 08:00-20:00, ..., sun: closed}})"))
        return channels
    for channel, week in raw.items():
        at = ("channels", str(channel))
        if str(channel) not in CHANNELS:
            problems.append((at, f"unknown channel; channels are {', '.join(CHANNELS)}"))
            continue
        if not isinstance(week, dict):
            problems.append((at, "must map mon..sun to hours (08:00-20:00 or closed)"))
            continue
        for day in week:
            if day not in DAYS:
                problems.append(((*at, str(day)), f"not a day; days are {', '.join(DAYS)}"))
        channels[str(channel)] = {i: _span(week.get(name, "closed"), (*at, name), problems)
                                  for i, name in enumerate(DAYS)}
    return channels


def _span(text: Any, at: FieldPath,
          problems: Problems) -> tuple[dt.time, dt.time] | None:
    if text is None or str(text).strip().lower() == "closed":
        return None
    found = _SPAN.match(text) if isinstance(text, str) else None
    try:
        if found is None:
            raise ValueError
        g = [int(x or 0) for x in found.groups()]
        opens, closes = dt.time(g[0], g[1], g[2]), dt.time(g[3], g[4], g[5])
    except ValueError:
        problems.append((at, f"{text!r} is not a time span like 08:00-20:00 (or closed)"))
        return None
    if closes <= opens:
        problems.append((at, f"{text!r} closes before it opens"))
        return None
    return opens, closes


def holiday(value: Any, at: FieldPath, problems: Problems) -> dt.date | None:
    """A holiday as a date (YAML gives dates, JSON strings), or None with the problem noted."""
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    found = _DATE.match(value.strip()) if isinstance(value, str) else None
    try:
        if found is None:
            raise ValueError
        return dt.date(*map(int, found.groups()))
    except ValueError:
        problems.append((at, f"{value!r} is not a date (YYYY-MM-DD)"))
        return None


def document(h: Hours) -> dict[str, Any]:
    """The calendar in the YAML's shape, as JSON values: what `parse` reads back equal."""
    def span(s: tuple[dt.time, dt.time] | None) -> str:
        if s is None:
            return "closed"
        spec = "seconds" if s[0].second or s[1].second else "minutes"
        return f"{s[0].isoformat(spec)}-{s[1].isoformat(spec)}"

    return {"timezone": h.timezone,
            "channels": {c: {DAYS[i]: span(week.get(i)) for i in range(7)}
                         for c, week in sorted(h.channels.items())},
            "holidays": [d.isoformat() for d in sorted(h.holidays)],
            "business_hours": dict(sorted(h.borrowed.items()))}


class _Loader(yaml.SafeLoader):
    """Dates stay text for `holiday` to read: YAML's own reading of 2025-13-01 raised a bare
    ValueError that named neither the field nor the file."""


def _text(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> str:
    return str(loader.construct_scalar(node))


_Loader.add_constructor("tag:yaml.org,2002:timestamp", _text)


def load_file(wh: Warehouse, path: Path) -> Hours:
    """Read the YAML and replace the stored opening hours and holidays with it."""
    try:
        doc = yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader)  # noqa: S506
    except (OSError, yaml.YAMLError) as exc:
        raise HoursError(f"{path}: {exc}") from None
    return store(wh, parse(doc, str(path)))


def store(wh: Warehouse, hours: Hours) -> Hours:
    """Replace the stored opening hours, holidays and borrowings with `hours` (the file load
    and the API's PUT), the business calendar made again in the same transaction."""

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
