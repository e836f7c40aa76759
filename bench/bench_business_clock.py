"""Business-hour clocks on a company: medians per channel on the clock and in business hours,
and what the business twin of a metric costs against its clock metric.

    CXHUB_HOME=/tmp/x/home cxhub demo --data /tmp/x/data --no-serve --no-live --customers 20000
    python bench/bench_business_clock.py --warehouse /tmp/x/home/cxhub.duckdb [--hours FILE]
        [--runs 11]

`--hours` loads an opening-hours YAML first (e.g. the demo's with `business_hours: {email:
phone, ...}` added, so the written channels count by the phone's hours). The figures are the
catalogue's (`first_response_time`, `resolution_time` and their `_business` twins) over the
last 365 days by channel, checked against `business_hours.business_seconds` (the in-memory
count). Each query is timed warm (one call, then the median of `--runs`), three ways: the clock
metric as the API answers it (ready-made tables), the clock metric from the records (a bare
backend), and the business twin (always from the records). Prints one JSON document.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import platform
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from bench_public import median_ms  # noqa: E402

from cxhub.metrics import query
from cxhub.metrics.source import Tables
from cxhub.services.forecast import business_hours, hours
from cxhub.services.metrics import compute as metrics
from cxhub.warehouse import Warehouse
from cxhub.warehouse.engines import connect

METRICS = ("first_response_time", "resolution_time")


def timed(fn: Callable[[], Any], runs: int) -> float:
    fn()  # warm: the first call compiles and reads what later ones find cached
    return median_ms(fn, runs)


def medians(wh: Warehouse, start: dt.date, end: dt.date) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for name in METRICS:
        for twin in (name, f"{name}_business"):
            for r in metrics.compute(wh, twin, start=start, end=end, by="channel"):
                if r["n"]:
                    out.setdefault(r["channel"], {})[twin + "_s"] = r["value"]
                    out[r["channel"]][f"{name}_n"] = r["n"]
    return out


def check(wh: Warehouse, h: hours.Hours, start: dt.date, end: dt.date,
          got: dict[str, dict[str, Any]]) -> float:
    """The largest difference (seconds) between the catalogue's business medians of
    resolution and business_seconds' over the same contacts."""
    df = wh.cursor().execute(
        "SELECT channel, created_at, resolved_at FROM contacts WHERE created_at >= ? AND "
        "created_at < ? AND resolved_at IS NOT NULL", [start, end]).df()
    worst = 0.0
    for channel, part in df.groupby("channel"):
        cal = channel if channel in h.channels else h.borrowed.get(str(channel), str(channel))
        ref = business_hours.business_seconds(h, cal, part.created_at, part.resolved_at)
        mine = got[str(channel)]["resolution_time_business_s"]
        worst = max(worst, abs(float(np.median(ref)) - mine))
    return worst


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--warehouse", type=Path, required=True)
    ap.add_argument("--hours", type=Path)
    ap.add_argument("--runs", type=int, default=11)
    args = ap.parse_args()
    wh = Warehouse.open(args.warehouse)
    try:
        if args.hours:
            hours.load_file(wh, args.hours)
        h = hours.stored(wh)
        if h is None:
            raise SystemExit("no opening hours in the warehouse: pass --hours FILE")
        last = wh.read_one("SELECT max(created_at) FROM contacts")
        end = (last[0] + dt.timedelta(days=1)).date()  # type: ignore[index]
        start = end - dt.timedelta(days=365)
        got = medians(wh, start, end)
        plain = Tables(connect(duckdb_connection=wh.new_cursor()))  # no ready-made tables
        shapes = {"year_by_channel": {"start": start, "end": end, "by": "channel"},
                  "30_days_by_day": {"start": end - dt.timedelta(days=30), "end": end,
                                     "by": "day"}}
        times: dict[str, dict[str, float]] = {}
        for label, kw in shapes.items():
            for name in METRICS:
                ready_ms = timed(lambda: metrics.compute(wh, name, **kw), args.runs)  # noqa: B023
                records_ms = timed(lambda: query.compute(plain, name, **kw), args.runs)  # noqa: B023
                business_ms = timed(lambda: metrics.compute(wh, f"{name}_business", **kw),  # noqa: B023
                                    args.runs)
                times[f"{label}:{name}"] = {
                    "clock_ready_ms": ready_ms, "clock_records_ms": records_ms,
                    "business_ms": business_ms,
                    "business_over_clock_records": round(business_ms / records_ms, 2)}
        print(json.dumps({
            "machine": f"{platform.machine()}, {platform.processor() or '?'}",
            "contacts": wh.read_one("SELECT count(*) FROM contacts")[0],  # type: ignore[index]
            "range": [start.isoformat(), end.isoformat()], "runs": args.runs,
            "hours": sorted(h.channels), "borrowed": h.borrowed,
            "largest_difference_from_business_seconds_s": check(wh, h, start, end, got),
            "medians": {c: {k: round(v) for k, v in d.items()} for c, d in got.items()},
            "times": times}, indent=1))
    finally:
        wh.close()


if __name__ == "__main__":
    main()
