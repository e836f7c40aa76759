"""A small company's contacts written straight into a warehouse: six causes sharing a season,
with a known drop planted in one cause from a given day (what a fix does)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from cxhub.warehouse import Warehouse

CAUSES = ("billing", "delivery", "other", "pricing", "product", "service")
START = dt.date(2025, 1, 6)


def plant(wh: Warehouse, *, days: int = 280, drop_cause: str = "billing", drop: float = 0.3,
          drop_day: int = 200, per_day: float = 60.0, seed: int = 1) -> dt.date:
    """Write the contacts; returns the day the drop starts."""
    rng = np.random.default_rng(seed)
    t = np.arange(days)
    season = (1 + 0.2 * np.sin(2 * np.pi * t / 365)) * np.array([1.2, 1.1, 1, 1, .9, .5, .4])[
        (t + START.weekday()) % 7]
    rows = []
    for k, cause in enumerate(CAUSES):
        rate = per_day * (0.6 + 0.15 * k) * season
        if cause == drop_cause:
            rate = rate * np.where(t >= drop_day, 1 - drop, 1.0)
        n = rng.poisson(rate)
        day = np.repeat(t, n)
        seconds = rng.integers(7 * 3600, 21 * 3600, size=len(day))
        created = (pd.Timestamp(START) + pd.to_timedelta(day, "D")
                   + pd.to_timedelta(seconds, "s"))
        rows.append(pd.DataFrame({"created_at": created, "cause": cause}))
    frame = pd.concat(rows, ignore_index=True).sort_values("created_at", ignore_index=True)
    frame["contact_id"] = np.arange(1, len(frame) + 1)
    frame["external_id"] = "K" + frame.contact_id.astype(str)
    frame["channel"] = np.array(["phone", "email", "chat"])[frame.contact_id % 3]

    def write(con):
        con.register("planted", frame)
        con.execute("INSERT INTO contacts (contact_id, source, external_id, channel, created_at,"
                    " cause) SELECT contact_id, 'test', external_id, channel, created_at, cause"
                    " FROM planted")
        con.unregister("planted")

    wh.write(write)
    return START + dt.timedelta(days=drop_day)
