"""How long the ready-made tables' refresh takes, and how much of DuckDB's buffer pool it
fills, on a busy day as contacts keep arriving.

    python bench/bench_refresh_busy_day.py [--rows 2000000] [--hours 10] [--rounds 7]

Two warehouses in a temporary folder, each with `--rows` contacts created over the `--hours`
before now (today's and maybe yesterday's: recent days) and their ready-made tables built.
Then `--rounds` times, interleaved: 1,000 contacts created a few seconds ago are written to
each, and its refresh (`ready_tables.refresh`, all steps) is timed, and the bytes DuckDB holds
(`duckdb_memory()`) are read after it, from a cache emptied after the build (the warehouse
reopened, as a server's renewal does). Two ways:

- `slots`: as shipped, recent days' sums kept per 10 minutes (`sums.RECENT_DAYS` = 2): a
  refresh sums again only the 10 minutes the new contacts fall in;
- `days` (the baseline, as before): every day kept whole (`sums.RECENT_DAYS` = 0): a refresh
  sums again the whole day of the new contacts.

Prints one JSON document with the load average.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

MODES = {"slots": 2, "days": 0}  # sums.RECENT_DAYS


def fill(wh: Any, first: int, rows: int, start: datetime, end: datetime) -> None:
    """`rows` contacts (ids from `first`) created evenly over [start, end)."""
    step = (end - start).total_seconds() / rows
    wh.write(lambda con: con.execute(f"""
        INSERT INTO contacts (contact_id, source, external_id, channel, created_at,
                              wait_seconds, queue)
        SELECT {first} + i, 'bench', 'b' || ({first} + i),
               ['phone', 'email', 'chat', 'web', 'social'][1 + i % 5],
               TIMESTAMP '{start}' + to_microseconds(CAST(i * {step} * 1e6 AS BIGINT)),
               i % 600, 'billing'
        FROM range({rows}) t(i)"""), groupable=False)


def held_mb(wh: Any) -> float:
    return round(wh.read_one("SELECT sum(memory_usage_bytes) FROM duckdb_memory()")[0] / 1e6, 1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=2_000_000)
    ap.add_argument("--hours", type=float, default=10.0)
    ap.add_argument("--rounds", type=int, default=7)
    args = ap.parse_args()

    from cxhub.metrics import sums
    from cxhub.services.metrics import ready_tables
    from cxhub.warehouse import Warehouse

    out: dict[str, Any] = {"benchmark": "refresh_busy_day", "rows": args.rows,
                           "hours": args.hours, "rounds": args.rounds, "cpus": os.cpu_count()}
    now = datetime.now(UTC).replace(tzinfo=None)
    with tempfile.TemporaryDirectory() as tmp:
        houses = {}
        for mode, recent_days in MODES.items():
            sums.RECENT_DAYS = recent_days
            wh = houses[mode] = Warehouse.open(Path(tmp) / f"{mode}.duckdb")
            fill(wh, 1, args.rows, now - timedelta(hours=args.hours), now - timedelta(minutes=1))
            t = time.perf_counter()
            ready_tables.refresh(wh, full=True)
            out[f"{mode}_first_build_seconds"] = round(time.perf_counter() - t, 1)
            wh.close()  # DuckDB's cache emptied, as a server's renewal does
            houses[mode] = Warehouse.open(Path(tmp) / f"{mode}.duckdb")
        times: dict[str, list[float]] = {mode: [] for mode in MODES}
        held: dict[str, list[float]] = {mode: [] for mode in MODES}
        for n in range(args.rounds):
            for mode, recent_days in MODES.items():
                sums.RECENT_DAYS = recent_days
                wh = houses[mode]
                at = datetime.now(UTC).replace(tzinfo=None)
                fill(wh, args.rows + 1 + n * 1000, 1000, at - timedelta(seconds=5), at)
                t = time.perf_counter()
                ready_tables.refresh(wh)
                times[mode].append(time.perf_counter() - t)
                held[mode].append(held_mb(wh))
                print(f"{mode}: {times[mode][-1] * 1000:.0f} ms, DuckDB holds "
                      f"{held[mode][-1]} MB; load {os.getloadavg()[0]:.1f}", file=sys.stderr)
        for wh in houses.values():
            wh.close()
    for mode, ts in times.items():
        out[mode] = {"median_ms": round(statistics.median(ts) * 1000, 1),
                     "max_ms": round(max(ts) * 1000, 1),
                     "runs_ms": [round(x * 1000, 1) for x in ts],
                     "duckdb_holds_mb": held[mode]}
    out["days_over_slots"] = round(out["days"]["median_ms"] / out["slots"]["median_ms"], 1)
    out["load_average"] = round(os.getloadavg()[0], 1)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
