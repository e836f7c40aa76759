"""Next best action: decisions per second and latency under `wrk`, and uplift training time.

    python bench/bench_offers.py --home /tmp/offers/home [--runs 3] [--duration 10]
        [--connections 16] [--wrk-threads 2] [--train-rows 1000000] [--skip-wrk] [--skip-train]
        [--refresh-stall] [--rate 3000]

Decisions: the warehouse of HOME (the demo company, `cxhub demo --no-serve`) is copied to a
temporary folder, an ingest key is made with `cxhub keys create`, and one `cxhub serve` process
is started on loopback. Once its decision engine is loaded (profiles, models) and its start-up
work is done, each run drives it with `wrk -t2 --latency` for a bounded time: first the trivial
endpoint `GET /healthz` (the baseline, same server, same run), then `POST /api/v1/decisions`
with a Lua script that sends a random known customer (by the CRM's id) and a random contact
context per request. The decisions written are counted in the file after the server stops.
Also the engine alone in this process (no HTTP): the time of one decision, p50 and p99.

By default `wrk` sends as fast as the server answers (a closed loop at saturation: the tail
is then the server's slowest moments with a request always waiting behind). `--rate R` caps
the offered load at about R requests a second, for both the decisions and the baseline
(`wrk`'s `delay()`: each connection waits connections/R seconds before its next request), to
read the latency at a stated throughput; the achieved rate is reported with it.

Training: a synthetic set of N decisions (10 profile features, 10% control, an effect in one
segment) and the two-model uplift learner's fit, in a child process: seconds and peak memory
(ru_maxrss). Prints one JSON document.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from bench_api import cpu_seconds, free_port, parse_wrk, settle, stop, wait_healthy  # noqa: E402

MAX_DURATION = 20

_LUA = r"""
local ids = {%(ids)s}
local channels = {"phone", "chat", "phone", "email"}
local categories = {"information", "transaction", "problem", "information", "complaint"}
local causes = {"product", "service", "pricing", "billing", "other"}
local key = os.getenv("BENCH_KEY") or ""
function request()
  local body = string.format(
    '{"customer_source":"%%s","customer_external_id":"%%s","channel":"%%s",' ..
    '"category":"%%s","cause":"%%s","sentiment":"neutral"}',
    ids[math.random(#ids)][1], ids[math.random(#ids)][2], channels[math.random(4)],
    categories[math.random(5)], causes[math.random(5)])
  return wrk.format("POST", "/api/v1/decisions", {
    ["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. key}, body)
end
"""
# Appended to each run's script when the load is capped (`--rate`).
_DELAY = "function delay() return %(ms).4f end\n"


def _paced(script: Path, args: argparse.Namespace) -> Path | None:
    """The script with a pause before each request (`--rate`), or as it is."""
    if not args.rate:
        return None if script.stat().st_size == 0 else script
    paced = script.with_suffix(".paced.lua")
    paced.write_text(script.read_text() + _DELAY % {"ms": args.connections * 1000 / args.rate})
    return paced


def _wrk(port: int, path: str, args: argparse.Namespace, script: Path | None,
         key: str, pid: int) -> dict[str, Any]:
    argv = ["wrk", f"-t{args.wrk_threads}", f"-c{args.connections}", f"-d{args.duration}s",
            "--latency"]
    if script is not None:
        argv += ["-s", str(script)]
    before = cpu_seconds(pid)
    out = subprocess.run([*argv, f"http://127.0.0.1:{port}{path}"], capture_output=True,
                         text=True, env={**os.environ, "BENCH_KEY": key}, check=True).stdout
    r = parse_wrk(out)
    r["server_cpu_ms_per_request"] = round(
        (cpu_seconds(pid) - before) * 1000 / max(r["requests"], 1), 3)
    # The machine is shared: the load average over the last minute, as the run ends.
    r["load_1min"] = round(os.getloadavg()[0], 2)
    return r


def _customers(db: Path, n: int = 5000) -> list[tuple[str, str]]:
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    try:
        return [(s, e) for s, e in con.execute(
            f"SELECT source, external_id FROM customer_links USING SAMPLE reservoir({int(n)}) "
            "REPEATABLE (1)").fetchall()]
    finally:
        con.close()


def _ready(port: int, key: str, timeout: float = 300.0) -> float:
    import httpx

    started = time.monotonic()
    while time.monotonic() - started < timeout:
        r = httpx.post(f"http://127.0.0.1:{port}/api/v1/decisions", json={"channel": "phone"},
                       headers={"Authorization": f"Bearer {key}"}, timeout=120)
        if r.status_code == 200:
            return round(time.monotonic() - started, 1)
        time.sleep(1)
    raise RuntimeError("the decision engine did not load")


def bench_wrk(args: argparse.Namespace) -> dict[str, Any]:
    src = Path(args.home) / "cxhub.duckdb"
    with tempfile.TemporaryDirectory(prefix="cxhub-bench-offers-") as tmp:
        home = Path(tmp)
        shutil.copy(src, home / "cxhub.duckdb")
        if (Path(args.home) / "models").exists():
            shutil.copytree(Path(args.home) / "models", home / "models")
        env = {**os.environ, "CXHUB_HOME": str(home)}
        key = subprocess.run([sys.executable, "-m", "cxhub", "keys", "create", "--scope",
                              "ingest", "--name", "bench"], env=env, capture_output=True,
                             text=True, check=True).stdout.strip().splitlines()[0]
        ids = _customers(home / "cxhub.duckdb")
        script = home / "decide.lua"
        script.write_text(_LUA % {"ids": ",".join(f'{{"{s}","{e}"}}' for s, e in ids)})
        trivial = home / "healthz.lua"
        trivial.write_text("")
        decide, baseline = _paced(script, args), _paced(trivial, args)
        before = _count(home / "cxhub.duckdb")
        port = free_port()
        log = home / "serve.log"
        with open(log, "wb") as fh:
            proc = subprocess.Popen([sys.executable, "-m", "cxhub", "serve", "--port",
                                     str(port)], stdout=fh, stderr=subprocess.STDOUT, env=env)
        try:
            wait_healthy(proc, port, log)
            loaded = _ready(port, key)
            settled = settle(proc.pid, limit=120)
            inside = _server_timing(port, key, ids)
            runs, base = [], []
            for _ in range(args.runs):
                base.append(_wrk(port, "/healthz", args, baseline, key, proc.pid))
                runs.append(_wrk(port, "", args, decide, key, proc.pid))
                print(f"decisions {runs[-1]['requests_per_s']:.0f}/s p99 "
                      f"{runs[-1]['p99_ms']:.2f} ms; healthz {base[-1]['requests_per_s']:.0f}/s "
                      f"p99 {base[-1]['p99_ms']:.2f} ms; load {os.getloadavg()[0]:.1f}",
                      file=sys.stderr)
        finally:
            stop(proc)
        written = _count(home / "cxhub.duckdb") - before

    def med(rs: list[dict[str, Any]], k: str) -> float:
        return round(statistics.median(r[k] for r in rs), 3)

    keys = ("requests_per_s", "p50_ms", "p99_ms", "server_cpu_ms_per_request")
    return {"engine_loaded_s": loaded, "settled_s": settled, "server_timing": inside,
            "decisions": {k: med(runs, k) for k in keys},
            "healthz": {k: med(base, k) for k in keys},
            "ratio_rps_vs_healthz": round(med(runs, "requests_per_s")
                                          / med(base, "requests_per_s"), 3),
            "decision_requests": sum(r["requests"] for r in runs),
            "non_2xx": sum(r["non_2xx"] for r in runs),
            "decisions_written": written, "runs": runs, "baseline_runs": base}


def _server_timing(port: int, key: str, ids: list[tuple[str, str]], n: int = 3000
                   ) -> dict[str, float]:
    """The server's own time per decision (its Server-Timing header: from the validated
    request to the serialised answer), over n sequential requests."""
    import httpx

    rng = random.Random(2)
    times = []
    with httpx.Client(base_url=f"http://127.0.0.1:{port}",
                      headers={"Authorization": f"Bearer {key}"}) as client:
        for _ in range(n):
            source, ext = rng.choice(ids)
            r = client.post("/api/v1/decisions", json={
                "customer_source": source, "customer_external_id": ext,
                "channel": rng.choice(["phone", "chat"]), "category": "information",
                "cause": "product", "sentiment": "neutral"})
            times.append(float(r.headers["server-timing"].split("dur=")[1]))
    times.sort()
    return {"requests": n, "p50_ms": round(times[n // 2], 3),
            "p99_ms": round(times[int(n * 0.99)], 3), "max_ms": round(times[-1], 3)}


def _count(db: Path) -> int:
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    try:
        row = con.execute("SELECT count(DISTINCT json_extract_string(attributes, "
                          "'$.decision_id')) FROM offer_decisions "
                          "WHERE source = 'cxhub-nba'").fetchone()
        return int(row[0]) if row else 0
    finally:
        con.close()


def bench_engine(home: Path, n: int = 20_000) -> dict[str, Any]:
    """One decision in this process, without HTTP and without the write."""
    from cxhub.services.offers.engine import Context, Engine
    from cxhub.warehouse import Warehouse

    with tempfile.TemporaryDirectory() as tmp:
        shutil.copy(home / "cxhub.duckdb", Path(tmp) / "cxhub.duckdb")
        with Warehouse.open(Path(tmp) / "cxhub.duckdb") as wh:
            engine = Engine(wh)
            t = time.perf_counter()
            engine.refresh()
            load_s = time.perf_counter() - t
            ids = list(engine.state.profiles.by_id)  # type: ignore[union-attr]
            rng = random.Random(1)
            times = []
            for _ in range(n):
                ctx = Context(rng.choice(["phone", "chat"]), "information", "product", "neutral")
                t = time.perf_counter_ns()
                engine.decide(customer_id=rng.choice(ids), context=ctx, record=False)
                times.append(time.perf_counter_ns() - t)
    times.sort()
    return {"profiles": len(ids), "load_s": round(load_s, 2),
            "p50_us": round(times[n // 2] / 1000, 1),
            "p99_us": round(times[int(n * .99)] / 1000, 1)}


def bench_refresh_stall(home: Path) -> dict[str, Any]:
    """Decisions in this process while the engine reads everything again in another thread
    (as the server's 5-minute refresh does): the gaps between consecutive answers."""
    import threading

    from cxhub.services.offers.engine import Context, Engine
    from cxhub.warehouse import Warehouse

    with tempfile.TemporaryDirectory() as tmp:
        shutil.copy(home / "cxhub.duckdb", Path(tmp) / "cxhub.duckdb")
        with Warehouse.open(Path(tmp) / "cxhub.duckdb") as wh:
            engine = Engine(wh)
            engine.refresh()
            ids = list(engine.state.profiles.by_id)  # type: ignore[union-attr]
            rng = random.Random(1)
            ctx = Context("phone", "information", "product", "neutral")
            took: list[float] = []

            def again() -> None:
                t = time.perf_counter()
                engine.refresh()
                took.append(time.perf_counter() - t)

            thread = threading.Thread(target=again)
            gaps, last = [], time.perf_counter()
            thread.start()
            while thread.is_alive():
                engine.decide(customer_id=rng.choice(ids), context=ctx, record=False)
                now = time.perf_counter()
                gaps.append(now - last)
                last = now
            thread.join()
    gaps.sort()
    return {"refresh_s": round(took[0], 1), "decisions": len(gaps),
            "gap_p99_ms": round(gaps[int(len(gaps) * .99)] * 1000, 2),
            "slowest_gaps_ms": [round(g * 1000) for g in gaps[-5:]]}


_TRAIN = r"""
import json, resource, sys, time
import numpy as np, pandas as pd
from cxhub.analytics.offers.uplift import TwoModelUplift
n = int(sys.argv[1])
rng = np.random.default_rng(0)
seg = rng.choice(["family", "senior", "student", "young_professional", "small_business",
                  "value_seeker"], n)
f = pd.DataFrame({"segment": seg, "age": rng.integers(18, 90, n).astype(float),
    "tenure_days": rng.integers(0, 4000, n).astype(float), "clv": rng.gamma(2, 300, n),
    "products_held": rng.integers(0, 5, n).astype(float),
    "persona": rng.choice(list("ABCDE"), n), "portfolio": rng.choice(list("WXYZ"), n),
    "rfm_segment": rng.choice(["champions", "loyal", "at risk", "lost"], n),
    "value_band": rng.choice(["low", "mid", "high"], n),
    "region": rng.choice([f"r{i}" for i in range(12)], n)})
t = rng.random(n) >= 0.1
y = rng.random(n) < np.where(t & (seg == "family"), 0.24, 0.04)
start = time.perf_counter()
model = TwoModelUplift(seed=0).fit(f, t, y)
fit_s = time.perf_counter() - start
start = time.perf_counter()
model.predict(f)
u = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({"rows": n, "fit_s": round(fit_s, 2), "cpu_s": round(u.ru_utime + u.ru_stime, 1),
                  "predict_s": round(time.perf_counter() - start, 2),
                  "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}))
"""


def bench_train(rows: int, runs: int) -> dict[str, Any]:
    results = [json.loads(subprocess.run([sys.executable, "-c", _TRAIN, str(rows)],
                                         capture_output=True, text=True, check=True).stdout)
               for _ in range(runs)]
    return {"rows": rows, "fit_s": statistics.median(r["fit_s"] for r in results),
            "process_cpu_s": statistics.median(r["cpu_s"] for r in results),
            "predict_s": statistics.median(r["predict_s"] for r in results),
            "peak_rss_mb": max(r["peak_rss_mb"] for r in results), "runs": results}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--home", required=True, help="CXHUB_HOME holding the demo company")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--duration", type=int, default=10)
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--wrk-threads", type=int, default=2,
                    help="wrk's threads (on a 2-core machine, 1 leaves the server a core)")
    ap.add_argument("--train-rows", type=int, default=1_000_000)
    ap.add_argument("--train-runs", type=int, default=3)
    ap.add_argument("--rate", type=float, default=0,
                    help="cap the offered load at about this many requests a second "
                         "(default: as fast as the server answers)")
    ap.add_argument("--skip-wrk", action="store_true")
    ap.add_argument("--skip-train", action="store_true")
    ap.add_argument("--refresh-stall", action="store_true",
                    help="Also: decisions while the engine refreshes (the 5-minute reload).")
    args = ap.parse_args()
    if not 1 <= args.duration <= MAX_DURATION:
        ap.error(f"--duration must be between 1 and {MAX_DURATION} seconds")
    out: dict[str, Any] = {"benchmark": "offers", "machine": {"cpus": os.cpu_count()},
                           "settings": vars(args)}
    if not args.skip_wrk:
        if shutil.which("wrk") is None:
            sys.exit("wrk is not installed: apt-get install -y wrk")
        out["engine"] = bench_engine(Path(args.home))
        out["wrk"] = bench_wrk(args)
    if args.refresh_stall:
        out["refresh_stall"] = bench_refresh_stall(Path(args.home))
    if not args.skip_train:
        out["train"] = bench_train(args.train_rows, args.train_runs)
    out["bench_peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    print(json.dumps(out, indent=2, default=str))


if __name__ == "__main__":
    main()
