"""The public page on 10 million contacts: chart data, pages, the daily report, live fan-out.

    python bench/bench_public.py [--contacts 10000000] [--clients 500] [--seconds 12]

A warehouse of `--contacts` contacts over two years ending yesterday (five channels, the six
categories and causes, waits, answers, resolutions, CSAT answers) is made once with DuckDB SQL in
a cache folder outside the repository and reused. Then:

0. the metrics' ready-made tables (current labels, hourly and daily sums ...) brought up to
   date, as `cxhub serve` does when it starts: built from scratch the first time;
1. compute: each public figure computed in-process with no cache (median of 5), and the daily
   report's figures (`reports.build_figures`, median of 5) - the "< 1 s" target;
2. pages: a real `cxhub serve`; each public URL's first request (empty cache) and the median of
   20 more (the server keeps chart data for 30 s, as visitors would get it);
3. live: `--clients` server-sent-event streams held open for `--seconds`; for every tick, the
   delay between the first and the last client receiving it, and whether every client got
   every tick.
Prints one JSON document.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from cxhub.warehouse import Warehouse

DEFAULT_CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "cxhub-bench"

_CONTACTS_SQL = """
INSERT INTO contacts (contact_id, source, external_id, channel, created_at, queued_at,
    answered_at, first_response_at, resolved_at, abandoned_at, wait_seconds, outcome,
    category, cause, timely)
SELECT i, 'bench', 'c' || i, ch, t,
    CASE WHEN ch IN ('phone', 'chat') THEN t END,
    CASE WHEN ch IN ('phone', 'chat') AND h % 10 <> 0 THEN t + to_seconds(h % 240) END,
    CASE WHEN ch NOT IN ('phone', 'chat') THEN t + to_seconds(600 + h % 86400) END,
    CASE WHEN h % 50 <> 0 THEN t + to_seconds(900 + h % 7200) END,
    CASE WHEN ch IN ('phone', 'chat') AND h % 10 = 0 THEN t + to_seconds(h % 300) END,
    CASE WHEN ch IN ('phone', 'chat') THEN (h % 240)::DOUBLE END,
    CASE WHEN ch IN ('phone', 'chat') AND h % 10 = 0 THEN 'abandoned' ELSE 'answered' END,
    ['information', 'transaction', 'problem', 'complaint', 'idea', 'compliment'][1 + h % 6],
    ['product', 'delivery', 'pricing', 'billing', 'service', 'other'][1 + (h // 7) % 6],
    h % 20 <> 0
FROM (
    SELECT i, (hash(i) % 1000000007)::BIGINT AS h,
        ['phone', 'email', 'chat', 'web', 'social'][1 + i % 5] AS ch,
        ?::TIMESTAMP + to_seconds(((i * 7919) % ?) * ? / ?) AS t
    FROM range(?) r(i)
)
"""
_SURVEYS_SQL = """
INSERT INTO surveys (survey_id, source, external_id, survey_type, score, answered_at)
SELECT i, 'bench', 's' || i, 'csat', 1 + (hash(i) % 5)::BIGINT,
    ?::TIMESTAMP + to_seconds(((i * 7919) % ?) * ? / ?)
FROM range(?) r(i)
"""


def build(home: Path, contacts: int) -> date:
    """The warehouse, made once per size: two years of contacts ending yesterday."""
    yesterday = datetime.now(UTC).date() - timedelta(days=1)
    stamp = home / "bench-public.json"
    wanted = {"contacts": contacts, "end": yesterday.isoformat()}
    if stamp.exists() and json.loads(stamp.read_text()) == wanted:
        return yesterday
    for f in home.glob("cxhub.duckdb*"):
        f.unlink()
    start = datetime.combine(yesterday - timedelta(days=730), datetime.min.time())
    span = 731 * 86400
    surveys = contacts // 20
    with Warehouse.open(home / "cxhub.duckdb") as wh:
        wh.write(lambda con: con.execute(_CONTACTS_SQL, [start, contacts, span, contacts,
                                                         contacts]), groupable=False)
        wh.write(lambda con: con.execute(_SURVEYS_SQL, [start, surveys, span, surveys,
                                                        surveys]), groupable=False)
    stamp.write_text(json.dumps(wanted))
    return yesterday


def median_ms(fn: Any, runs: int) -> float:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return round(statistics.median(times) * 1000, 1)


def refresh_ready_tables(home: Path) -> dict[str, Any]:
    """Bring the metrics' ready-made tables up to date, as `cxhub serve` does at start (a first
    build when the data is new), timed; then time an up-to-date check."""
    from cxhub.services.metrics import ready_tables

    with Warehouse.open(home / "cxhub.duckdb") as wh:
        t = time.perf_counter()
        steps = ready_tables.refresh(wh)
        first = time.perf_counter() - t
        t = time.perf_counter()
        ready_tables.refresh(wh)
        return {"refresh_s": round(first, 1), "rebuilt": [s["step"] for s in steps
                                                          if s["rebuilt"]],
                "refresh_when_up_to_date_ms": round((time.perf_counter() - t) * 1000, 1)}


def compute_times(home: Path, day: date, runs: int = 5) -> dict[str, float]:
    from cxhub.services.public import live, reports
    from cxhub.web.public import charts

    with Warehouse.open(home / "cxhub.duckdb") as wh:
        out = {f"demand_{g}": median_ms(lambda g=g: charts.demand(wh, grain=g, min_count=10),
                                        runs) for g in ("hour", "day", "week", "month")}
        out["service"] = median_ms(lambda: charts.service(wh, min_count=10), runs)
        out["best_time"] = median_ms(lambda: charts.best_time(wh, min_count=10), runs)
        out["summary_30_days"] = median_ms(lambda: charts.summary(wh, min_count=10), runs)
        out["live_tick"] = median_ms(lambda: live.snapshot(wh, min_count=10), runs)
        out["daily_report"] = median_ms(lambda: reports.build_figures(wh, day, min_count=10),
                                        runs)
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve(home: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {**os.environ, "CXHUB_HOME": str(home)}
    proc = subprocess.Popen([sys.executable, "-m", "cxhub", "serve", "--port", str(port)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                return proc, url
        except httpx.TransportError:
            time.sleep(0.1)
    proc.terminate()
    raise SystemExit("cxhub serve did not start")


def page_times(url: str, day: date, runs: int = 20) -> dict[str, dict[str, float]]:
    paths = ["/", "/public/api/live", "/public/api/service", "/public/api/best-time",
             "/public/api/summary", "/reports/", f"/reports/{day}", f"/reports/{day}.json",
             f"/reports/{day}.csv", "/reports/feed.atom"] + [
                 f"/public/api/demand?grain={g}" for g in ("hour", "day", "week", "month")]
    out = {}
    with httpx.Client(base_url=url, timeout=120) as c:
        deadline = time.monotonic() + 600  # the server publishes yesterday when it starts
        while c.get(f"/reports/{day}.json").status_code != 200:
            if time.monotonic() > deadline:
                raise SystemExit("the report of yesterday was not published")
            time.sleep(0.2)
        for path in paths:
            first = median_ms(lambda p=path: c.get(p).raise_for_status(), 1)
            out[path] = {"first_ms": first,
                         "p50_ms": median_ms(lambda p=path: c.get(p).raise_for_status(), runs)}
    return out


async def live_fanout(url: str, clients: int, seconds: float) -> dict[str, Any]:
    received: dict[int, dict[str, float]] = defaultdict(dict)

    async def listen(c: httpx.AsyncClient, k: int) -> None:
        async with c.stream("GET", "/public/live") as response:
            async for line in response.aiter_lines():
                if line.startswith("data:"):
                    received[k][json.loads(line[5:])["at"]] = time.perf_counter()

    limits = httpx.Limits(max_connections=clients + 10, max_keepalive_connections=clients + 10)
    async with httpx.AsyncClient(base_url=url, timeout=None, limits=limits) as c:
        tasks = [asyncio.create_task(listen(c, k)) for k in range(clients)]
        await asyncio.sleep(seconds)
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    ticks: dict[str, list[float]] = defaultdict(list)
    for got in received.values():
        for at, when in got.items():
            ticks[at].append(when)
    # Ticks fully inside the window: after every client joined, before the first one left.
    joined = max(min(got.values()) for got in received.values()) if received else 0
    full = {at: ws for at, ws in ticks.items() if min(ws) > joined}
    spreads = [max(ws) - min(ws) for ws in full.values()]
    return {"clients": clients, "clients_connected": len(received), "ticks_seen": len(full),
            "every_client_got_every_tick": bool(full) and len(received) == clients
            and all(len(ws) == clients for ws in full.values()),
            "fanout_max_ms": round(max(spreads) * 1000, 1) if spreads else None,
            "fanout_p50_ms": round(statistics.median(spreads) * 1000, 1) if spreads else None}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--contacts", type=int, default=10_000_000)
    parser.add_argument("--clients", type=int, default=500)
    parser.add_argument("--seconds", type=float, default=12.0)
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    args = parser.parse_args()
    home = args.cache / f"public-{args.contacts}"
    home.mkdir(parents=True, exist_ok=True)
    t = time.perf_counter()
    day = build(home, args.contacts)
    result: dict[str, Any] = {"machine": f"{platform.machine()} {os.cpu_count()} cores",
                              "contacts": args.contacts,
                              "build_s": round(time.perf_counter() - t, 1),
                              "load_average_before": round(os.getloadavg()[0], 1),
                              "ready_tables": refresh_ready_tables(home),
                              "compute_ms": compute_times(home, day)}
    print(json.dumps(result), file=sys.stderr, flush=True)  # kept if the server part fails
    proc, url = serve(home)
    try:
        result["pages"] = page_times(url, day)
        result["live"] = asyncio.run(live_fanout(url, args.clients, args.seconds))
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    result["load_average_after"] = round(os.getloadavg()[0], 1)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
