"""The REST API under load on loopback: single-contact POSTs and 1,000-contact batches.

    python bench/bench_api.py [--runs 3] [--duration 10] [--connections 32] [--batch-connections 8]

Each run starts a fresh `cxhub serve` (one process, as users run it) on a free loopback port,
creates an ingest key with `cxhub keys create`, waits until the server's start-up work is done
(its CPU use falls below a tenth of a core; the seconds are recorded), and drives it with `wrk`
(Debian package) for a bounded time with 2 threads. Every request carries new external ids (a
counter per wrk thread), so each one really writes. After the run the server is stopped and
the contacts in its warehouse file are counted, to check that what wrk counted was written.

The baseline, run the same way in the same run, is a trivial FastAPI endpoint served by uvicorn
with the same settings: it parses the JSON body and answers, with no validation and no write.
`--before REV` also runs cxhub as it was at git revision REV (its `src/`, taken with `git
archive`), interleaved with the others, so a change is measured against the old code under the
same load; `--at REV` runs the current code the same way, from a commit rather than the working
tree. Prints one JSON document.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import duckdb

MAX_DURATION = 20  # seconds: a load test here is always bounded

# One wrk thread = one Lua state: the thread number and a counter make every id unique, and
# the run id keeps ids unique across runs against the same server.
_LUA = r"""
-- thread_no is a global: thread:set() writes the thread's globals, which a local would shadow.
local counter = 0
local next_thread = 0
local run = "r"
local batch = tonumber(os.getenv("BENCH_BATCH") or "0")
local key = os.getenv("BENCH_KEY") or ""
local path = os.getenv("BENCH_PATH") or "/api/v1/contacts"

function setup(thread)
  next_thread = next_thread + 1
  thread:set("thread_no", next_thread)
end

function init(args)
  run = args[1] or "r"
end

local channels = {"phone", "email", "chat", "web", "social"}

local function contact()
  counter = counter + 1
  return string.format(
    '{"source":"bench","external_id":"%s-%d-%d","channel":"%s",' ..
    '"created_at":"2024-05-06T09:%02d:%02d","wait_seconds":%d,"queue":"billing"}',
    run, thread_no or 0, counter, channels[counter % 5 + 1], counter % 60, counter % 59,
    counter % 600)
end

function request()
  local body
  if batch > 0 then
    local parts = {}
    for i = 1, batch do parts[i] = contact() end
    body = "[" .. table.concat(parts, ",") .. "]"
  else
    body = contact()
  end
  return wrk.format("POST", path, {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. key,
  }, body)
end
"""

_TRIVIAL = """
import sys
import orjson
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import Response

app = FastAPI()

@app.get("/healthz")
def healthz():
    return {"status": "ok"}

@app.post("/api/v1/contacts")
async def post(request: Request) -> Response:
    data = orjson.loads(await request.body())
    n = len(data) if isinstance(data, list) else 1
    return Response(orjson.dumps({"created": n}), status_code=201, media_type="application/json")

uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", access_log=False)
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_healthy(proc: subprocess.Popen[bytes], port: int, log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited {proc.returncode}:\n{log.read_text()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
                s.sendall(b"GET /healthz HTTP/1.0\r\n\r\n")
                if b" 200 " in s.recv(200):
                    return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"server not healthy after 60 s:\n{log.read_text()}")


def settle(pid: int, *, quiet: float = 0.1, limit: float = 20.0) -> float:
    """Wait until the server has done its start-up work (the public page's first figures,
    yesterday's report, the classifier's models): its CPU use over half a second falls below
    `quiet` of a core. Returns the seconds waited, at most `limit`."""
    started = time.monotonic()
    before = cpu_seconds(pid)
    while time.monotonic() - started < limit:
        time.sleep(0.5)
        now = cpu_seconds(pid)
        if now - before < quiet * 0.5:
            break
        before = now
    return round(time.monotonic() - started, 1)


def preloaded_warehouse(rows: int, work: Path) -> Path:
    """A warehouse file already holding `rows` contacts, loaded once with `cxhub ingest`."""
    sys.path.insert(0, str(Path(__file__).parent))
    from bench_ingest import DEFAULT_CACHE, generate

    home = work / f"preload-{rows}"
    if not (home / "cxhub.duckdb").exists():
        parquet = generate(DEFAULT_CACHE, rows)["parquet"]
        subprocess.run([sys.executable, "-m", "cxhub", "--home", str(home), "ingest", "generic",
                        "--kind", "contacts", "--json", str(parquet)],
                       check=True, capture_output=True)
    return home / "cxhub.duckdb"


def source_at(rev: str, work: Path) -> Path:
    """cxhub's `src/` as it was at git revision `rev`, extracted under `work`."""
    root = Path(__file__).resolve().parent.parent
    out = work / f"src-{rev}"
    out.mkdir()
    archive = subprocess.run(["git", "-C", str(root), "archive", rev, "src"],
                             capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(out)], input=archive, check=True)
    return out / "src"


def start_server(kind: str, home: Path, src: Path | None = None
                 ) -> tuple[subprocess.Popen[bytes], int, str]:
    """('cxhub' | 'trivial') -> (process, port, API key); `src`: run cxhub from that tree."""
    port = free_port()
    env = {**os.environ, "CXHUB_HOME": str(home)}
    if src is not None:
        env["PYTHONPATH"] = str(src)
    key = ""
    if kind == "cxhub":
        made = subprocess.run([sys.executable, "-m", "cxhub", "keys", "create", "--scope",
                               "ingest", "--name", "bench"], env=env, capture_output=True,
                              text=True, check=True)
        key = made.stdout.strip().splitlines()[0]
        argv = [sys.executable, "-m", "cxhub", "serve", "--port", str(port)]
    else:
        argv = [sys.executable, "-c", _TRIVIAL, str(port)]
    log = home / f"{kind}.log"
    with open(log, "wb") as fh:
        proc = subprocess.Popen(argv, stdout=fh, stderr=subprocess.STDOUT, env=env)
    wait_healthy(proc, port, log)
    return proc, port, key


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (from /proc): a figure that other load on
    the machine does not inflate, unlike throughput."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def parse_wrk(text: str) -> dict[str, Any]:
    def latency_ms(label: str) -> float:
        m = re.search(rf"^\s*{label}%\s+([\d.]+)(us|ms|s)\s*$", text, re.M)
        if not m:
            raise RuntimeError(f"no {label}% latency in wrk output:\n{text}")
        return float(m.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[m.group(2)]

    rps = re.search(r"Requests/sec:\s+([\d.]+)", text)
    done = re.search(r"(\d+) requests in ([\d.]+)(s|m)", text)
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    errors = re.search(r"Socket errors: (.*)", text)
    if not rps or not done:
        raise RuntimeError(f"unexpected wrk output:\n{text}")
    return {
        "requests": int(done.group(1)),
        "requests_per_s": float(rps.group(1)),
        "p50_ms": latency_ms("50"),
        "p99_ms": latency_ms("99"),
        "non_2xx": int(bad.group(1)) if bad else 0,
        "socket_errors": errors.group(1).strip() if errors else "",
    }


def run_once(kind: str, batch: int, args: argparse.Namespace, script: Path,
             preloaded: Path | None = None, src: Path | None = None) -> dict[str, Any]:
    home = Path(tempfile.mkdtemp(prefix=f"cxhub-bench-api-{kind}-"))
    try:
        if preloaded is not None and kind == "cxhub":
            shutil.copy(preloaded, home / "cxhub.duckdb")
        proc, port, key = start_server(kind, home, src)
        conns = args.batch_connections if batch else args.connections
        env = {**os.environ, "BENCH_KEY": key, "BENCH_BATCH": str(batch)}
        settled = settle(proc.pid)
        load_before = round(os.getloadavg()[0], 1)
        cpu_before = cpu_seconds(proc.pid)
        try:
            out = subprocess.run(
                ["wrk", "-t2", f"-c{conns}", f"-d{args.duration}s", "--latency",
                 "--timeout", "10s", "-s", str(script), f"http://127.0.0.1:{port}",
                 "--", f"r{time.time_ns()}"],
                env=env, capture_output=True, text=True, check=True,
                timeout=args.duration + 30,
            ).stdout
            cpu = cpu_seconds(proc.pid) - cpu_before
        finally:
            stop(proc)
        result = parse_wrk(out)
        result["server_cpu_ms_per_request"] = round(1000 * cpu / max(result["requests"], 1), 3)
        result["load_average"] = round(os.getloadavg()[0], 1)
        result["load_average_before"] = load_before
        result["settle_seconds"] = settled
        per_request = max(batch, 1)
        result["contacts_per_s"] = round(result["requests_per_s"] * per_request)
        if kind == "cxhub":
            con = duckdb.connect(str(home / "cxhub.duckdb"), read_only=True)
            stored = con.execute("SELECT count(*) FROM contacts").fetchone()
            con.close()
            result["contacts_stored"] = (int(stored[0]) if stored else 0) - args.preload
            ok = (result["requests"] - result["non_2xx"]) * per_request
            if result["contacts_stored"] < ok:
                raise RuntimeError(f"wrk counted {ok} contacts written, the file holds "
                                   f"{result['contacts_stored']}")
        return result
    finally:
        shutil.rmtree(home, ignore_errors=True)


def summarise(runs: list[dict[str, Any]], base: list[dict[str, Any]],
              before: list[dict[str, Any]]) -> dict[str, Any]:
    def med(rs: list[dict[str, Any]], k: str) -> float:
        return round(statistics.median(r[k] for r in rs), 2)

    then: dict[str, Any] = {}
    if before:
        then = {
            "before_runs": before,
            "before_median_contacts_per_s": med(before, "contacts_per_s"),
            "before_median_p99_ms": med(before, "p99_ms"),
            "before_ratio_vs_baseline": round(
                med(before, "requests_per_s") / med(base, "requests_per_s"), 3),
            "contacts_per_s_vs_before": round(
                med(runs, "contacts_per_s") / med(before, "contacts_per_s"), 2),
        }
    return {
        "runs": runs,
        "baseline_runs": base,
        "median_requests_per_s": med(runs, "requests_per_s"),
        "median_contacts_per_s": med(runs, "contacts_per_s"),
        "median_p50_ms": med(runs, "p50_ms"),
        "median_p99_ms": med(runs, "p99_ms"),
        "baseline_median_requests_per_s": med(base, "requests_per_s"),
        "baseline_median_p99_ms": med(base, "p99_ms"),
        "median_server_cpu_ms_per_request": med(runs, "server_cpu_ms_per_request"),
        "baseline_median_server_cpu_ms_per_request": med(base, "server_cpu_ms_per_request"),
        "ratio_vs_baseline": round(med(runs, "requests_per_s") / med(base, "requests_per_s"), 3),
        "median_load_average": med(runs, "load_average"),
        **then,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--duration", type=int, default=10, help=f"seconds per run, <= {MAX_DURATION}")
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--batch-connections", type=int, default=8)
    ap.add_argument("--batch", type=int, default=1000, help="contacts per batch request")
    ap.add_argument("--scenarios", default="single,batch")
    ap.add_argument("--preload", type=int, default=0,
                    help="contacts already in the warehouse when each run starts (e.g. 1000000)")
    ap.add_argument("--before", metavar="REV",
                    help="also run cxhub as at this git revision, interleaved (e.g. HEAD~3)")
    ap.add_argument("--at", metavar="REV",
                    help="run the current cxhub as at this git revision instead of the working "
                         "tree (others' unfinished edits left out)")
    args = ap.parse_args()
    if not 1 <= args.duration <= MAX_DURATION:
        ap.error(f"--duration must be between 1 and {MAX_DURATION} seconds")
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed: apt-get install -y wrk")
    version = subprocess.run(["wrk", "--version"], capture_output=True, text=True).stdout
    result: dict[str, Any] = {
        "benchmark": "api",
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "wrk": version.split()[1] if version else "?"},
        "settings": {"duration_s": args.duration, "threads": 2,
                     "connections": args.connections, "batch_connections": args.batch_connections,
                     "batch": args.batch, "preloaded_contacts": args.preload,
                     "before": args.before, "at": args.at},
    }
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "post.lua"
        script.write_text(_LUA)
        preloaded = preloaded_warehouse(args.preload, Path(tmp)) if args.preload else None
        old = source_at(args.before, Path(tmp)) if args.before else None
        now = source_at(args.at, Path(tmp)) if args.at else None
        for scenario in args.scenarios.split(","):
            batch = args.batch if scenario == "batch" else 0
            runs, base, before = [], [], []
            for _ in range(args.runs):
                base.append(run_once("trivial", batch, args, script))
                if old is not None:
                    before.append(run_once("cxhub", batch, args, script, preloaded, old))
                    print(f"{scenario}: before {before[-1]['requests_per_s']:.0f} req/s "
                          f"p99 {before[-1]['p99_ms']:.1f} ms; load {os.getloadavg()[0]:.1f}",
                          file=sys.stderr)
                runs.append(run_once("cxhub", batch, args, script, preloaded, now))
                print(f"{scenario}: cxhub {runs[-1]['requests_per_s']:.0f} req/s "
                      f"p99 {runs[-1]['p99_ms']:.1f} ms; trivial "
                      f"{base[-1]['requests_per_s']:.0f} req/s; server CPU "
                      f"{runs[-1]['server_cpu_ms_per_request']:.2f} vs "
                      f"{base[-1]['server_cpu_ms_per_request']:.2f} ms/request; "
                      f"load {os.getloadavg()[0]:.1f}",
                      file=sys.stderr)
            result[scenario] = summarise(runs, base, before)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
