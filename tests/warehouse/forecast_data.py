"""A small phone company for the forecast and staffing tests: three weeks of calls from a
known Poisson rate (open 8:00-20:00 Monday to Saturday), opening hours, and a roster for the
third week with planted under- and over-staffed half hours."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np

from cxhub.services.forecast import hours
from cxhub.services.records.files import ingest_paths
from cxhub.warehouse import Warehouse

START = dt.date(2024, 1, 8)  # a Monday
DAYS = 21
ORIGIN = START + dt.timedelta(days=14)
UNDER = dt.time(11, 0)  # the roster's planted gaps on the first forecast day
OVER = dt.time(15, 0)


def rate(day: dt.date) -> np.ndarray:
    """Expected calls per half hour."""
    slot = np.arange(48)
    shape = np.where((slot >= 16) & (slot < 40), 1 + np.sin((slot - 16) / 24 * np.pi), 0.0)
    return shape * (12.0 if day.weekday() < 5 else 6.0 if day.weekday() == 5 else 0.0)


def build(wh: Warehouse, folder: Path, *, seed: int = 5) -> None:
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    lines = ["source,external_id,channel,created_at,queued_at,answered_at,abandoned_at,"
             "wait_seconds,talk_seconds,outcome"]
    n = 0
    for d in range(DAYS):
        day = START + dt.timedelta(days=d)
        for slot, lam in enumerate(rate(day)):
            for _ in range(rng.poisson(lam)):
                t = dt.datetime.combine(day, dt.time()) + dt.timedelta(
                    seconds=slot * 1800 + float(rng.uniform(0, 1800)))
                wait = float(rng.exponential(30))
                n += 1
                if rng.random() < 0.08:
                    lines.append(f"pbx,c{n},phone,{t},{t},,{t + dt.timedelta(seconds=wait)},"
                                 f"{wait:.0f},,abandoned")
                else:
                    lines.append(f"pbx,c{n},phone,{t},{t},{t + dt.timedelta(seconds=wait)},,"
                                 f"{wait:.0f},{rng.exponential(180):.0f},answered")
    (folder / "contacts.csv").write_text("\n".join(lines) + "\n")
    roster = ["source,external_id,channel,team,starts_at,ends_at,agents"]
    for d in range(14, DAYS):
        day = START + dt.timedelta(days=d)
        for slot in range(16, 40 if day.weekday() < 6 else 16):
            start = dt.datetime.combine(day, dt.time()) + dt.timedelta(minutes=30 * slot)
            agents = 4
            if d == 14 and start.time() == UNDER:
                agents = 1
            if d == 14 and start.time() == OVER:
                agents = 30
            roster.append(f"wfm,r{d}-{slot},phone,,{start},{start + dt.timedelta(minutes=30)},"
                          f"{agents}")
    (folder / "rosters.csv").write_text("\n".join(roster) + "\n")
    for name in ("contacts", "rosters"):
        report = ingest_paths(wh, "generic", [folder / f"{name}.csv"])
        assert report.totals["quarantined"] == 0 and not report.failed, report.to_dict()
    (folder / "opening_hours.yaml").write_text(
        "timezone: Europe/London\nchannels:\n  phone: {mon: '08:00-20:00', tue: '08:00-20:00', "
        "wed: '08:00-20:00', thu: '08:00-20:00', fri: '08:00-20:00', sat: '08:00-20:00', "
        "sun: closed}\nholidays: []\n")
    hours.load_file(wh, folder / "opening_hours.yaml")
