"""Problems: the impact of one action, discovery, and new contacts joining open problems, on a
warehouse of N synthetic contacts (default 10 million).

    python bench/bench_problems.py [--contacts 10000000] [--runs 5] [--home /tmp/bench-problems]

The contacts are written by DuckDB itself (one year, six causes sharing a season and a weekday
shape, a planted 30% drop of one cause at 70% of the year, a planted four-day fault with its own
words in another); the warehouse is kept under --home for later runs. The ready-made daily sums
(`services.metrics.ready_tables`, what the pipeline keeps up to date) are built once, untimed.

Timed (median of --runs, wall clock; peak resident memory of the process at the end):
- impact: `problems.impact.cause_impact` on the dropped cause, against the baseline of a plain
  DuckDB count of the contacts by day and cause (the least any estimate has to read);
- discovery: `problems.discovery.discover` over the whole warehouse (first run: the problem is
  stored; later runs find it again);
- joining: `join_new_contacts` for a batch of 1,000 new contacts (what arrives in a second at
  1,000 contacts/s), against the target of one second.
Prints one JSON document, including the impact estimate against the planted effect.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import platform
import resource
import statistics
import time
from pathlib import Path
from typing import Any

from cxhub.services.metrics import ready_tables
from cxhub.services.problems import discovery, impact
from cxhub.warehouse import Warehouse

CAUSES = ("billing", "delivery", "other", "pricing", "product", "service")
START = dt.date(2025, 1, 6)
EFFECT = 0.3


def _timed(fn: Any, runs: int) -> tuple[float, list[float], Any]:
    times, result = [], None
    for _ in range(runs):
        t = time.perf_counter()
        result = fn()
        times.append(round(time.perf_counter() - t, 4))
    return statistics.median(times), times, result


def build(wh: Warehouse, n: int) -> None:
    """n contacts over 365 days written by DuckDB (seeded): draws thinned by the season and the
    weekday, a cause from equal shares, delivery thinned by EFFECT more from day 255; then
    n / 500 billing contacts about a duplicate charge on days 120-123."""
    fault = max(400, n // 500)  # the fault's week: about 1.45 times the cause's usual week

    def write(c: Any) -> None:
        c.execute("SELECT setseed(0.42)")
        c.execute(f"""
            CREATE TEMP TABLE raw AS
            SELECT i AS contact_id,
                   floor(random() * 365)::INT AS day,
                   random() AS u, random() AS keep, random() AS v, random() AS s
            FROM range(1, {int(n / 0.66) + 1} + 1) t(i)""")
        c.execute(f"""
            INSERT INTO contacts (contact_id, source, external_id, channel, created_at, cause,
                                  category, text, region)
            SELECT contact_id, 'bench', 'K' || contact_id,
                   ['phone', 'email', 'chat'][1 + contact_id % 3],
                   DATE '{START}' + day * INTERVAL 1 DAY + (8 * 3600 + s * 12 * 3600)::INT
                     * INTERVAL 1 SECOND,
                   ['{"','".join(CAUSES)}'][1 + floor(u * 6)::INT],
                   'problem', ['question about my account', 'where is my parcel',
                               'the router is slow', 'how much is the upgrade'][1 + contact_id % 4],
                   'London'
            FROM raw
            WHERE NOT (floor(u * 6)::INT = 1 AND day >= 255 AND v < {EFFECT})
              -- the season and the weekday shape, by thinning
              AND keep < (0.8 + 0.2 * sin(2 * pi() * day / 365))
                 * (CASE WHEN (day % 7) IN (5, 6) THEN 0.5 ELSE 1 END)
            LIMIT {n}""")
        c.execute(f"""
            INSERT INTO contacts (contact_id, source, external_id, channel, created_at, cause,
                                  category, text, region)
            SELECT {n} + i, 'bench', 'F' || i, 'phone',
                   DATE '{START}' + (120 + i % 4) * INTERVAL 1 DAY + (9 * 3600 + i % 36000)
                     * INTERVAL 1 SECOND,
                   'billing', 'complaint', 'I was charged twice, a duplicate charge', 'London'
            FROM range(1, {fault} + 1) t(i)""")
        c.execute("DROP TABLE raw")
    wh.write(write, groupable=False)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--contacts", type=int, default=10_000_000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--home", type=Path, default=Path("/tmp/bench-problems"))
    args = ap.parse_args()
    home = args.home / str(args.contacts)
    fresh = not (home / "cxhub.duckdb").exists()
    out: dict[str, Any] = {"contacts": args.contacts, "machine": platform.platform(),
                           "runs": args.runs}
    with Warehouse.open(home / "cxhub.duckdb") as wh:
        if fresh:
            t = time.perf_counter()
            build(wh, args.contacts)
            out["build_seconds"] = round(time.perf_counter() - t, 1)
            t = time.perf_counter()
            ready_tables.refresh(wh)
            out["ready_tables_refresh_seconds"] = round(time.perf_counter() - t, 1)
        else:  # up to date again after the last run's joined contacts were deleted
            ready_tables.refresh(wh)
        out["rows"] = wh.read_one("SELECT count(*) FROM contacts")[0]
        since = START + dt.timedelta(days=255)
        cur = wh.cursor()
        base, base_all, _ = _timed(lambda: cur.execute(
            "SELECT date_trunc('day', created_at), cause, count(*) FROM contacts "
            "GROUP BY ALL").fetchall(), args.runs)
        med, times, imp = _timed(lambda: impact.cause_impact(wh, cause="delivery", since=since),
                                 args.runs)
        out["impact"] = {"median_s": med, "runs_s": times, "baseline_plain_count_s": base,
                         "baseline_runs_s": base_all, "ratio": round(med / base, 2),
                         "planted_effect": -EFFECT, "relative_effect": imp.relative_effect,
                         "interval": [imp.relative_low, imp.relative_high]}
        med, times, rep = _timed(lambda: discovery.discover(wh), max(1, args.runs // 2))
        out["discovery"] = {"median_s": med, "runs_s": times, "report": rep.to_dict()}
        newest = wh.read_one("SELECT max(contact_id) FROM contacts")[0]
        last = wh.read_one("SELECT max(created_at) FROM contacts")[0]

        def arrive_and_join() -> Any:
            start = wh.read_one("SELECT max(contact_id) FROM contacts")[0]
            wh.write(lambda c: c.execute(
                "INSERT INTO contacts (contact_id, source, external_id, channel, created_at, "
                "cause, category, text) SELECT ? + i, 'bench', 'N' || (? + i), 'chat', ?, "
                "'billing', 'complaint', CASE WHEN i % 10 = 0 THEN 'a duplicate charge again'"
                " ELSE 'question about my account' END FROM range(1, 1001) t(i)",
                [start, start, last]))
            t = time.perf_counter()
            joined = discovery.join_new_contacts(wh, after_id=start)
            return time.perf_counter() - t, joined

        joins = [arrive_and_join() for _ in range(args.runs)]
        out["join_1000"] = {"median_s": statistics.median(j[0] for j in joins),
                            "runs_s": [round(j[0], 4) for j in joins],
                            "linked_per_batch": [j[1]["linked"] for j in joins],
                            "target_s": 1.0}
        wh.write(lambda c: c.execute("DELETE FROM contacts WHERE contact_id > ?", [newest]))
    out["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    print(json.dumps(out, indent=2, default=str))


if __name__ == "__main__":
    main()
