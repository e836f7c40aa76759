"""What the public page's live tick costs as the history grows: its three figures (arrivals in
the last hour, backlog now, expected wait over the last half hour, per channel) computed as
the server does every 2 seconds, on a warehouse holding only the last hour and on one holding
the same hour plus an older history.

    python bench/bench_live_tick.py [--recent 1000000] [--history 3000000] [--rounds 7]

Two warehouses in a temporary folder: `recent` with `--recent` contacts created over the last
hour, `history` with the same contacts plus `--history` created over the days before (closed
long ago, bar a few still open), each with its ready-made tables built. Each is reopened (an
empty cache, as after a server's renewal), then `--rounds` ticks are timed on each,
interleaved, and the bytes DuckDB holds (`duckdb_memory()`) are read after the first tick and
after the last. The backlog's current hour and the expected wait count contacts by when they
were closed or reached, not by when they were made: the contacts are stored in order of
creation, and only the ranges of their stored times let DuckDB skip the older row groups.
The baseline is `recent`: with nothing older to skip, `history` should cost about the same.

Contacts: phone, e-mail, chat and web in turn; phone and chat answered after their wait (one
in 17 abandoned), e-mail and web first replied to within two hours; resolved within 90
minutes of their wait, one in 50 still open.

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

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_refresh_busy_day import held_mb  # noqa: E402


def fill(wh: Any, first: int, rows: int, start: datetime, end: datetime) -> None:
    """`rows` contacts (ids from `first`) created evenly over [start, end)."""
    step = (end - start).total_seconds() / rows
    wh.write(lambda con: con.execute(f"""
        INSERT INTO contacts (contact_id, source, external_id, channel, created_at,
                              wait_seconds, answered_at, abandoned_at, first_response_at,
                              resolved_at, outcome, queue)
        SELECT id, 'bench', 'b' || id, channel, created_at, wait,
               CASE WHEN live AND NOT gave_up THEN created_at + to_seconds(wait) END,
               CASE WHEN live AND gave_up THEN created_at + to_seconds(wait) END,
               CASE WHEN NOT live THEN created_at + to_seconds((id * 13) % 7200) END,
               CASE WHEN id % 50 <> 0 AND NOT gave_up
                    THEN created_at + to_seconds(wait + (id * 31) % 5400) END,
               CASE WHEN gave_up THEN 'abandoned' WHEN live THEN 'answered' END, 'billing'
        FROM (SELECT {first} + i AS id, ['phone', 'email', 'chat', 'web'][1 + i % 4] AS channel,
                     i % 4 IN (0, 2) AS live, i % 4 IN (0, 2) AND i % 17 = 0 AS gave_up,
                     TIMESTAMP '{start}' + to_microseconds(CAST(i * {step} * 1e6 AS BIGINT))
                         AS created_at, (i * 7) % 400 AS wait
              FROM range({rows}) t(i))"""), groupable=False)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--recent", type=int, default=1_000_000)
    ap.add_argument("--history", type=int, default=3_000_000)
    ap.add_argument("--history-days", type=float, default=3.0)
    ap.add_argument("--rounds", type=int, default=7)
    args = ap.parse_args()

    from cxhub.services.metrics import ready_tables
    from cxhub.services.public import live
    from cxhub.warehouse import Warehouse

    out: dict[str, Any] = {"benchmark": "live_tick", "recent": args.recent,
                           "history": args.history, "history_days": args.history_days,
                           "rounds": args.rounds, "cpus": os.cpu_count()}
    now = datetime.now(UTC).replace(tzinfo=None)
    hour_ago = now - timedelta(hours=1)
    modes = ("recent", "history")
    with tempfile.TemporaryDirectory() as tmp:
        houses = {}
        for mode in modes:
            wh = Warehouse.open(Path(tmp) / f"{mode}.duckdb")
            if mode == "history":
                fill(wh, 1, args.history, hour_ago - timedelta(days=args.history_days), hour_ago)
            fill(wh, args.history + 1, args.recent, hour_ago, now)
            ready_tables.refresh(wh, full=True)
            wh.close()
            houses[mode] = Warehouse.open(Path(tmp) / f"{mode}.duckdb")
        times: dict[str, list[float]] = {mode: [] for mode in modes}
        held: dict[str, list[float]] = {mode: [] for mode in modes}
        figures: dict[str, Any] = {}
        for n in range(args.rounds):
            for mode in modes:
                wh = houses[mode]
                t = time.perf_counter()
                snap = live.snapshot(wh, min_count=10, now=now)
                times[mode].append(time.perf_counter() - t)
                if n in (0, args.rounds - 1):
                    held[mode].append(held_mb(wh))
                figures[mode] = {c["channel"]: {k: c[k]["value"] for k in
                                                ("arrivals", "backlog", "expected_wait")}
                                 for c in snap["channels"]}
                print(f"{mode}: {times[mode][-1] * 1000:.0f} ms; load "
                      f"{os.getloadavg()[0]:.1f}", file=sys.stderr)
        for wh in houses.values():
            wh.close()
    for mode, ts in times.items():
        out[mode] = {"first_ms": round(ts[0] * 1000, 1),
                     "median_ms": round(statistics.median(ts[1:] or ts) * 1000, 1),
                     "runs_ms": [round(x * 1000, 1) for x in ts],
                     "duckdb_holds_mb_first_last": held[mode], "figures": figures[mode]}
    out["history_over_recent"] = round(out["history"]["median_ms"]
                                       / out["recent"]["median_ms"], 2)
    out["load_average"] = round(os.getloadavg()[0], 1)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
