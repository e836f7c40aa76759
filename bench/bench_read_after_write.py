"""How long a metric read waits right after a write, with the ready-made tables behind.

    python bench/bench_read_after_write.py [--rows 1000000] [--rounds 5]

Builds a warehouse of `--rows` contacts (one year, made with DuckDB SQL, in a temporary folder),
brings the metrics' ready-made tables up to date, then `--rounds` times: writes 1,000 new
contacts through the API's record sink and at once asks for the `contacts` metric by day over
the last 30 days of the data (`services.metrics.compute`, as the API's metric endpoint does),
timing that call. Two ways, interleaved in the same run:

- `server`: as in `cxhub serve` (`ready_tables.start_background`): the read answers from the
  tables as they are (`ready_tables.Behind`, with `as_of`) while a background refresh catches up;
- `blocking` (the baseline, and what a CLI run still does): the read first brings the tables up
  to date.

After each `server` read the background refresh is waited for, so each round starts level.
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
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any


def build(wh: Any, rows: int) -> datetime:
    """`rows` contacts over the year before 2024-12-31, in one batch; returns the last time."""
    end = datetime(2024, 12, 31)
    step = 365 * 86400 / rows

    def job(con: Any) -> None:
        con.execute(f"""
            INSERT INTO contacts (contact_id, source, external_id, channel, created_at,
                                  wait_seconds, queue, batch_id)
            SELECT i + 1, 'preload', 'p' || i,
                   ['phone', 'email', 'chat', 'web', 'social'][1 + i % 5],
                   TIMESTAMP '{end - timedelta(days=365)}' + to_microseconds(
                       CAST(i * {step} * 1e6 AS BIGINT)),
                   i % 600, 'billing', 1
            FROM range({rows}) t(i)""")
        now = datetime.now()
        con.execute("INSERT INTO ingest_batches VALUES (1, 'bench', 'contacts', 'preload', NULL, "
                    "?, ?, 'loaded', ?, ?, 0, 0)", [now, now, rows, rows])

    wh.write(job, groupable=False)
    return end


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()

    from cxhub.ingest.sink import RecordSink
    from cxhub.services.metrics import compute as metrics
    from cxhub.services.metrics import ready_tables
    from cxhub.warehouse import Warehouse

    out: dict[str, Any] = {"benchmark": "read_after_write", "rows": args.rows,
                           "rounds": args.rounds, "cpus": os.cpu_count()}
    with tempfile.TemporaryDirectory() as tmp:
        wh = Warehouse.open(Path(tmp) / "cxhub.duckdb")
        end = build(wh, args.rows)
        t = time.perf_counter()
        ready_tables.refresh(wh, full=True)
        out["first_build_seconds"] = round(time.perf_counter() - t, 1)
        sink = RecordSink(wh)
        keeper = ready_tables._keeper(wh)
        window = {"start": (end - timedelta(days=30)).date(), "end": end.date(), "by": "day"}
        times: dict[str, list[float]] = {"server": [], "blocking": []}
        behind = 0
        n = 0
        for _ in range(args.rounds):
            for mode in ("blocking", "server"):
                rows = [{"source": "api", "external_id": f"w{n + i}", "channel": "phone",
                         "created_at": end - timedelta(hours=1), "wait_seconds": 30}
                        for i in range(1000)]
                n += 1000
                sink.submit("contacts", rows).result(timeout=120)
                keeper.background = mode == "server"
                t = time.perf_counter()
                metrics.compute(wh, "contacts", **window)
                times[mode].append(time.perf_counter() - t)
                if mode == "server":
                    behind += isinstance(metrics.backend(wh).ready, ready_tables.Behind)
                    if keeper.thread is not None:
                        keeper.thread.join()
                keeper.background = False
                print(f"{mode}: {times[mode][-1] * 1000:.0f} ms; load "
                      f"{os.getloadavg()[0]:.1f}", file=sys.stderr)
        wh.close()
    for mode, ts in times.items():
        out[mode] = {"median_ms": round(statistics.median(ts) * 1000, 1),
                     "max_ms": round(max(ts) * 1000, 1),
                     "runs_ms": [round(x * 1000, 1) for x in ts]}
    out["server_reads_answered_as_of"] = behind
    out["load_average"] = round(os.getloadavg()[0], 1)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
