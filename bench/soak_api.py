"""A soak of the REST API: contacts at a steady rate for a long time, with the public page and
its live stream read at the same time; the server's memory sampled every 10 s; at the end,
every contact the server acknowledged looked up in its warehouse file.

    python bench/soak_api.py                      # 60 minutes at 1,000 contacts/s
    python bench/soak_api.py --minutes 10 --rate 1000 --batch 100
    python bench/soak_api.py --prefill-minutes 60  # the last hour already full

One `cxhub serve` (as users run it) on a fresh warehouse in a temporary folder, an ingest key
made with `cxhub keys create`. Writers post batches of new contacts (unique external ids,
`created_at` a few seconds ago, so the live figures move) on a fixed schedule; a reader opens
the public page and its chart feeds every few seconds; another holds the server-sent-events
stream `/public/live` open (reconnecting if it drops) and counts its events. Every 10 s the
server's resident memory (VmRSS in /proc/PID/status), its CPU time, the machine's load and the
contacts acknowledged so far are recorded. After the run the server is stopped with SIGTERM and
every acknowledged batch is counted in the file: each must be there whole; a batch that was not
acknowledged must be there whole or not at all.

With `--prefill-minutes 60` the warehouse starts with the contacts of the hour before, at the
same rate (posted through the API to a first server, stopped before the soak's starts): the
live figures (arrivals in the last hour, the backlog and waits over the last
hour and half hour) then read as many contacts at the start as at the end, and memory that
follows that window levels off from the start instead of rising with it for the whole hour.

This is a reliability run, not a speed benchmark: there is no baseline to divide by. The rate
is far below what the API takes (BENCHMARKS.md: about 45,000 contacts/s in batches of 1,000),
so errors or growing memory here are leaks or faults, not overload. Prints one JSON document
on stdout; progress on stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import httpx

PUBLIC = ["/", "/public/api/live", "/public/api/summary", "/public/api/service",
          "/public/api/demand?grain=hour", "/public/api/demand?grain=day", "/reports/"]


def log(message: str) -> None:
    print(f"[soak {datetime.now(UTC):%H:%M:%S}] {message}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def proc_status(pid: int) -> dict[str, int]:
    """VmRSS (RssAnon: the process's own memory, RssFile: files mapped in it), VmHWM and
    threads of a process, in kB."""
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "RssAnon", "RssFile", "VmHWM", "Threads"):
            out[name] = int(value.split()[0])
    return out


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 1)


class Soak:
    def __init__(self, args: argparse.Namespace, url: str, key: str) -> None:
        self.args, self.url, self.key = args, url, key
        self.run = f"s{time.time_ns()}"
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.acked: dict[int, int] = {}  # batch number -> contacts acknowledged
        self.failed: list[int] = []  # batches sent but not acknowledged
        self.errors: Counter[str] = Counter()
        self.write_ms: list[float] = []
        self.read_ms: list[float] = []
        self.reads = 0
        self.events = 0
        self.event_gaps: list[float] = []
        self.late_batches = 0  # the schedule slipped: a batch started over a second late

    # --- writers ---------------------------------------------------------------------------
    def batch(self, n: int) -> list[dict[str, Any]]:
        at = (datetime.now(UTC) - timedelta(seconds=5)).replace(tzinfo=None).isoformat()
        channels = ("phone", "email", "chat", "web")
        return [{"source": "soak", "external_id": f"{self.run}-{n}-{i}",
                 "channel": channels[(n + i) % 4], "created_at": at,
                 "wait_seconds": (n * 7 + i) % 400, "queue": "billing"}
                for i in range(self.args.batch)]

    def post(self, client: httpx.Client, n: int) -> None:
        started = time.monotonic()
        try:
            answer = client.post("/api/v1/contacts", json=self.batch(n))
        except httpx.HTTPError as exc:
            with self.lock:
                self.failed.append(n)
                self.errors[f"write {type(exc).__name__}"] += 1
            return
        took = 1000 * (time.monotonic() - started)
        with self.lock:
            if answer.status_code == 201 and len(answer.json()["ids"]) == self.args.batch:
                self.acked[n] = self.args.batch
                self.write_ms.append(took)
            else:
                self.failed.append(n)
                self.errors[f"write {answer.status_code}"] += 1

    def writers(self, end: float) -> None:
        every = self.args.batch / self.args.rate
        local = threading.local()

        def job(n: int) -> None:
            if not hasattr(local, "client"):
                local.client = httpx.Client(base_url=self.url, timeout=60, headers={
                    "Authorization": f"Bearer {self.key}"})
            self.post(local.client, n)

        # At most one batch in flight per writer: when the server falls behind, the schedule
        # slips (counted) instead of a queue growing in this process, and the rate reached
        # is what the server took.
        free = threading.Semaphore(self.args.writers)

        def one(n: int) -> None:
            try:
                job(n)
            finally:
                free.release()

        with ThreadPoolExecutor(self.args.writers, thread_name_prefix="writer") as pool:
            start, n = time.monotonic(), 0
            while not self.stop.is_set():
                due = start + n * every
                if due >= end:
                    break
                wait = due - time.monotonic()
                if wait > 0:
                    time.sleep(wait)
                while not free.acquire(timeout=1):
                    if self.stop.is_set() or time.monotonic() >= end:
                        return
                if time.monotonic() - due > 1:
                    self.late_batches += 1
                pool.submit(one, n)
                n += 1

    # --- readers ---------------------------------------------------------------------------
    def page_reader(self, end: float) -> None:
        with httpx.Client(base_url=self.url, timeout=60) as client:
            while time.monotonic() < end and not self.stop.is_set():
                for path in PUBLIC:
                    started = time.monotonic()
                    try:
                        answer = client.get(path)
                        ok = answer.status_code == 200
                        if not ok:
                            self.errors[f"read {path} {answer.status_code}"] += 1
                    except httpx.HTTPError as exc:
                        self.errors[f"read {path} {type(exc).__name__}"] += 1
                        ok = False
                    if ok:
                        self.read_ms.append(1000 * (time.monotonic() - started))
                        self.reads += 1
                time.sleep(self.args.read_every)

    def stream_reader(self, end: float) -> None:
        while time.monotonic() < end and not self.stop.is_set():
            last = time.monotonic()
            try:
                with httpx.stream("GET", self.url + "/public/live",
                                  timeout=httpx.Timeout(60, read=60)) as answer:
                    if answer.status_code != 200:
                        self.errors[f"stream {answer.status_code}"] += 1
                        time.sleep(1)
                        continue
                    for line in answer.iter_lines():
                        if line.startswith("data:"):
                            json.loads(line[5:])
                            now = time.monotonic()
                            self.events += 1
                            self.event_gaps.append(now - last)
                            last = now
                        if time.monotonic() >= end or self.stop.is_set():
                            return
            except (httpx.HTTPError, json.JSONDecodeError) as exc:
                self.errors[f"stream {type(exc).__name__}"] += 1
                time.sleep(1)


PREFILL_REQUESTS_PER_POST = 10  # the soak's requests of `batch` contacts sent ten at a time
PREFILL_WRITERS = 4


def prefill(url: str, key: str, minutes: float, rate: float, batch: int) -> int:
    """The contacts the soak would have written in the `minutes` before it starts, at `rate`:
    its own requests of `batch` contacts (one `created_at` each, the same channels, waits and
    ids), posted as fast as the server takes them; returns how many.

    Through the API, so that the server's writer stores them as it stores the soak's (its
    batches, its checkpoints at a row group's end): rows written straight into the file (an
    evenly spaced `created_at` each, one batch, DuckDB's default row groups) were laid out in
    half the blocks, so the last hour's figures read half as much at the start as at the end,
    and the memory holding what they read grew for the whole hour."""
    requests = int(minutes * 60 * rate) // batch
    first = datetime.now(UTC).replace(tzinfo=None) - timedelta(minutes=minutes)
    run = f"p{time.time_ns()}"
    channels = ("phone", "email", "chat", "web")

    def post(n0: int) -> int:
        body = []
        for n in range(n0, min(requests, n0 + PREFILL_REQUESTS_PER_POST)):
            at = (first + timedelta(seconds=n * batch / rate)).isoformat()
            body += [{"source": "prefill", "external_id": f"{run}-{n}-{i}",
                      "channel": channels[(n + i) % 4], "created_at": at,
                      "wait_seconds": (n * 7 + i) % 400, "queue": "billing"}
                     for i in range(batch)]
        with httpx.Client(base_url=url, headers={"X-API-Key": key}, timeout=120) as client:
            answer = client.post("/api/v1/contacts", json=body)
        if answer.status_code != 201:
            raise SystemExit(f"prefill refused ({answer.status_code}): {answer.text[:300]}")
        return len(body)

    with ThreadPoolExecutor(PREFILL_WRITERS) as pool:
        return sum(pool.map(post, range(0, requests, PREFILL_REQUESTS_PER_POST)))


def serve(home: Path, port: int) -> subprocess.Popen[bytes]:
    """`cxhub serve` on `home`, once it answers."""
    env = {**os.environ, "CXHUB_HOME": str(home)}
    fh = open(home / "serve.log", "ab")  # noqa: SIM115 - open while the server runs
    proc = subprocess.Popen([sys.executable, "-m", "cxhub", "serve", "--port", str(port)],
                            stdout=fh, stderr=subprocess.STDOUT, env=env)
    deadline = time.monotonic() + 120
    while True:
        if proc.poll() is not None:
            raise SystemExit(f"cxhub serve exited:\n{(home / 'serve.log').read_text()}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            proc.kill()
            raise SystemExit("cxhub serve not healthy in 120 s")
        time.sleep(0.1)


def start_server(home: Path, port: int, prefill_minutes: float = 0.0, rate: float = 0.0,
                 batch: int = 100) -> tuple[subprocess.Popen[bytes], str]:
    """The soak's server and its ingest key. With a prefill, a first server takes the
    prefill and is stopped: the soak's starts fresh, as after a restart."""
    env = {**os.environ, "CXHUB_HOME": str(home)}
    made = subprocess.run([sys.executable, "-m", "cxhub", "keys", "create", "--scope", "ingest",
                           "--name", "soak"], env=env, capture_output=True, text=True,
                          check=True)
    key = made.stdout.strip().splitlines()[0]
    if prefill_minutes:
        first = serve(home, port)
        began = time.monotonic()
        try:
            n = prefill(f"http://127.0.0.1:{port}", key, prefill_minutes, rate, batch)
        finally:
            first.terminate()
            first.wait(timeout=300)
        log(f"prefilled {n:,} contacts through the API in {time.monotonic() - began:.0f} s")
    return serve(home, port), key


def verify(db: Path, soak: Soak) -> dict[str, Any]:
    """Every acknowledged batch whole in the file; every other batch whole or absent."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        stored = dict(con.execute(
            "SELECT split_part(external_id, '-', 2)::BIGINT, count(*) FROM contacts "
            "WHERE source = 'soak' AND starts_with(external_id, ?) GROUP BY 1",
            [soak.run + "-"]).fetchall())
        total, distinct = con.execute(
            "SELECT count(*), count(DISTINCT external_id) FROM contacts WHERE source = 'soak'"
        ).fetchone()  # type: ignore[misc]
    finally:
        con.close()
    missing = [n for n, count in soak.acked.items() if stored.get(n) != count]
    partial = [n for n in soak.failed if stored.get(n) not in (None, soak.args.batch)]
    return {
        "acknowledged_contacts": sum(soak.acked.values()),
        "stored_contacts": total, "distinct_ids": distinct,
        "acknowledged_batches_missing_or_short": len(missing),
        "unacknowledged_batches": len(soak.failed),
        "unacknowledged_batches_stored_whole": sum(stored.get(n) == soak.args.batch
                                                   for n in soak.failed),
        "unacknowledged_batches_half_written": len(partial),
        "ok": not missing and not partial and total == distinct,
    }


def folder_mb(folder: Path, pattern: str) -> float:
    return round(sum(f.stat().st_size for d in folder.glob(pattern) for f in d.rglob("*")
                     if f.is_file()) / 2**20, 1)


def curve(samples: list[dict[str, Any]], field: str, minutes: float = 5.0) -> list[float]:
    """The median of `field` in each `minutes` of the run: the memory curve to report."""
    groups: dict[int, list[float]] = {}
    for s in samples:
        groups.setdefault(int(s["t"] // (60 * minutes)), []).append(s[field])
    return [round(statistics.median(v), 1) for _, v in sorted(groups.items())]


def slope_mb_per_hour(samples: list[dict[str, Any]], skip_s: float,
                      field: str = "rss_mb") -> float | None:
    """Least-squares slope of `field` (RSS) over time, after the warm-up."""
    points = [(s["t"], s[field]) for s in samples if s["t"] >= skip_s]
    if len(points) < 3:
        return None
    mt = statistics.fmean(t for t, _ in points)
    mr = statistics.fmean(r for _, r in points)
    den = sum((t - mt) ** 2 for t, _ in points)
    return round(3600 * sum((t - mt) * (r - mr) for t, r in points) / den, 1) if den else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--rate", type=float, default=1000.0, help="contacts per second")
    parser.add_argument("--batch", type=int, default=100, help="contacts per request")
    parser.add_argument("--writers", type=int, default=8,
                        help="writer threads, each with one batch in flight at most")
    parser.add_argument("--read-every", type=float, default=5.0,
                        help="seconds between two reads of the public page and its feeds")
    parser.add_argument("--sample-every", type=float, default=10.0)
    parser.add_argument("--warm-up", type=float, default=120.0,
                        help="seconds left out of the memory slope (caches filling)")
    parser.add_argument("--prefill-minutes", type=float, default=0.0,
                        help="start with the contacts of this many minutes before, at the "
                             "same rate: the last hour's figures then read as much at the "
                             "start as at the end")
    parser.add_argument("--keep", action="store_true",
                        help="keep the temporary home (warehouse and server log)")
    args = parser.parse_args()

    home = Path(tempfile.mkdtemp(prefix="cxhub-soak-"))
    port = free_port()
    proc, key = start_server(home, port, args.prefill_minutes, args.rate, args.batch)
    url = f"http://127.0.0.1:{port}"
    soak = Soak(args, url, key)
    log(f"server pid {proc.pid} on {url}, home {home}; {args.minutes} min at {args.rate}/s")
    began = time.monotonic()
    end = began + 60 * args.minutes
    threads = [threading.Thread(target=fn, args=(end,), daemon=True, name=fn.__name__)
               for fn in (soak.writers, soak.page_reader, soak.stream_reader)]
    cpu0 = cpu_seconds(proc.pid)
    samples: list[dict[str, Any]] = []
    for t in threads:
        t.start()
    try:
        while time.monotonic() < end:
            time.sleep(min(args.sample_every, max(0.0, end - time.monotonic())))
            if proc.poll() is not None:
                soak.errors["server exited"] += 1
                break
            status = proc_status(proc.pid)
            with soak.lock:
                acked = sum(soak.acked.values())
                writes = soak.write_ms[-int(args.rate / args.batch * args.sample_every):]
            sample = {
                "t": round(time.monotonic() - began, 1),
                "rss_mb": round(status["VmRSS"] / 1024, 1),
                "anon_mb": round(status.get("RssAnon", 0) / 1024, 1),
                "file_mb": round(status.get("RssFile", 0) / 1024, 1),
                "key_runs_mb": folder_mb(home, ".cxhub.duckdb.keys-*"),
                "threads": status.get("Threads"),
                "cpu_s": round(cpu_seconds(proc.pid) - cpu0, 1),
                "load1": round(os.getloadavg()[0], 2),
                "acked": acked, "errors": sum(soak.errors.values()),
                "write_p99_ms": pct(writes, 0.99), "events": soak.events,
            }
            samples.append(sample)
            log(json.dumps(sample))
    finally:
        soak.stop.set()
        for t in threads:
            t.join(timeout=120)
        final = proc_status(proc.pid) if proc.poll() is None else {}
        proc.terminate()
        try:
            proc.wait(timeout=120)
        except subprocess.TimeoutExpired:
            proc.kill()
            soak.errors["server ignored SIGTERM"] += 1
    elapsed = time.monotonic() - began
    check = verify(home / "cxhub.duckdb", soak)
    log_text = (home / "serve.log").read_text(errors="replace")
    after_warm = [s["rss_mb"] for s in samples if s["t"] >= args.warm_up] or [
        s["rss_mb"] for s in samples]
    result = {
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "settings": vars(args),
        "seconds": round(elapsed, 1),
        "contacts_per_s": round(check["acknowledged_contacts"] / elapsed, 1),
        "target_contacts": int(args.rate * 60 * args.minutes),
        "late_batches": soak.late_batches,
        "errors": dict(soak.errors),
        "server_log_tracebacks": log_text.count("Traceback"),
        "write_ms": {"p50": pct(soak.write_ms, 0.5), "p99": pct(soak.write_ms, 0.99),
                     "max": pct(soak.write_ms, 1.0)},
        "public_reads": soak.reads,
        "read_ms": {"p50": pct(soak.read_ms, 0.5), "p99": pct(soak.read_ms, 0.99)},
        "live_events": soak.events,
        "live_event_gap_s": {"p50": pct(soak.event_gaps, 0.5), "max": pct(soak.event_gaps, 1.0)},
        "rss_mb": {"first": samples[0]["rss_mb"] if samples else None,
                   "after_warm_up_min": min(after_warm, default=None),
                   "after_warm_up_max": max(after_warm, default=None),
                   "last": samples[-1]["rss_mb"] if samples else None,
                   "peak_hwm": round(final.get("VmHWM", 0) / 1024, 1) or None,
                   "slope_mb_per_hour_after_warm_up": slope_mb_per_hour(samples, args.warm_up),
                   "anon_slope_mb_per_hour_after_warm_up": slope_mb_per_hour(
                       samples, args.warm_up, "anon_mb"),
                   "median_each_5_min": curve(samples, "rss_mb"),
                   "anon_median_each_5_min": curve(samples, "anon_mb")},
        "key_runs_mb_last": samples[-1]["key_runs_mb"] if samples else None,
        "warehouse_mb": round((home / "cxhub.duckdb").stat().st_size / 2**20, 1),
        "server_cpu_s": samples[-1]["cpu_s"] if samples else None,
        "load_average": {"min": min((s["load1"] for s in samples), default=None),
                         "median": statistics.median([s["load1"] for s in samples])
                         if samples else None,
                         "max": max((s["load1"] for s in samples), default=None)},
        "stored": check,
        "samples": samples,
        "home": str(home) if args.keep else None,
        "server_log_lines": [line for line in log_text.splitlines()
                             if line and not line.startswith(" ")][:40],
    }
    print(json.dumps(result, indent=2))
    if not args.keep:
        shutil.rmtree(home, ignore_errors=True)
    if not check["ok"] or soak.errors:
        sys.exit(1)


if __name__ == "__main__":
    main()
