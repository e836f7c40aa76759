"""Dashboard downloads: the whole contact list as CSV and as Parquet, from a real server.

    .venv/bin/python bench/bench_downloads.py [--contacts 1000000] [--labels 0.5] [--runs 3]

Builds a warehouse in a temporary folder (contacts written by SQL, a model label on a share of
them), starts `cxhub serve` on it, logs in as an analyst and downloads
`/app/export/contacts.csv` and `.parquet` as a browser does (streamed, chunk by chunk). Reports
the median seconds, rows a second, the file's size and the server's peak memory growth during
the download (its RSS sampled every 20 ms; after one download of each, not counted). The
baseline, in the same run, is DuckDB writing the same columns to a file by itself (`COPY ...
TO`, on the file after the server stopped), which neither neutralises formula cells nor adds
each contact's best label as the page does.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from cxhub.services.access import users
from cxhub.services.customers.contacts import LIST_COLUMNS
from cxhub.warehouse import Warehouse

PASSWORD = "a-long-passphrase"


def build(wh: Warehouse, n: int, labelled: float) -> None:
    def job(con: Any) -> None:
        con.execute(
            "INSERT INTO contacts (contact_id, source, external_id, channel, created_at, team, "
            "agent, wait_seconds, outcome, subject, text) "
            "SELECT i, 'bench', 'b' || i, ['phone','email','chat'][1 + i % 3], "
            "TIMESTAMP '2024-01-01' + to_seconds(i * 31 % 31536000), "
            "['billing','tech'][1 + i % 2], 'agent' || i % 40, (i % 300)::DOUBLE, 'answered', "
            "CASE WHEN i % 50 = 0 THEN '=HYPERLINK(\"x\")' ELSE 'Question ' || i END, "
            "'My bill for month ' || i % 12 || ' looks wrong, please check it again.' "
            "FROM range(1, ? + 1) t(i)", [n])
        con.execute(
            "INSERT INTO labels (target, target_id, dimension, label, score, model, is_human, "
            "labelled_at) SELECT 'contacts', i, 'category', 'problem', 0.7, 'tfidf', false, "
            "TIMESTAMP '2024-06-01' FROM range(1, ? + 1) t(i) WHERE i % 100 < ?",
            [n, int(labelled * 100)])
    wh.write(job)


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/statm") as fh:
        return int(fh.read().split()[1]) * resource.getpagesize() / 2**20


class Peak:
    """The most memory a process held while a download ran, above what it held before."""

    def __init__(self, pid: int) -> None:
        self.pid = pid

    def __enter__(self) -> Peak:
        self.before, self.top, self._stop = rss_mb(self.pid), 0.0, threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()
        return self

    def _watch(self) -> None:
        while not self._stop.wait(0.02):
            self.top = max(self.top, rss_mb(self.pid))

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.growth = max(0.0, max(self.top, rss_mb(self.pid)) - self.before)


def serve(home: Path) -> tuple[subprocess.Popen[bytes], str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "cxhub", "serve", "--port", str(port)],
                            env={**os.environ, "CXHUB_HOME": str(home)},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                return proc, url
        except httpx.TransportError:
            time.sleep(0.1)
    proc.terminate()
    raise SystemExit("cxhub serve did not start")


def log_in(client: httpx.Client) -> None:
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/app/login").text)
    assert token
    r = client.post("/app/login", data={"username": "ana", "password": PASSWORD, "next": "/app",
                                        "csrf_token": token.group(1)})
    assert r.status_code == 303, r.text[:300]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--contacts", type=int, default=1_000_000)
    ap.add_argument("--labels", type=float, default=0.5)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    results: dict[str, list[float]] = {"csv": [], "parquet": [], "duckdb": []}
    sizes: dict[str, int] = {}
    growth: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        with Warehouse.open(home / "cxhub.duckdb") as wh:
            t = time.perf_counter()
            build(wh, args.contacts, args.labels)
            print(f"built {args.contacts:,} contacts in {time.perf_counter() - t:.1f} s")
            users.create_user(wh, username="ana", password=PASSWORD, role="analyst")
        proc, url = serve(home)
        try:
            with httpx.Client(base_url=url, timeout=600) as client:
                log_in(client)
                # A first download of each, not counted: DuckDB's buffer pool fills with the
                # table's blocks once, and stays (that is a cache, not the download's memory).
                for fmt in ("csv", "parquet"):
                    with client.stream("GET", f"/app/export/contacts.{fmt}") as r:
                        for _chunk in r.iter_bytes():
                            pass
                for _ in range(args.runs):
                    for fmt in ("csv", "parquet"):
                        t = time.perf_counter()
                        size = 0
                        with Peak(proc.pid) as peak, client.stream(
                                "GET", f"/app/export/contacts.{fmt}") as r:
                            assert r.status_code == 200, r.read()[:300]
                            for chunk in r.iter_bytes():
                                size += len(chunk)
                        results[fmt].append(time.perf_counter() - t)
                        sizes[fmt] = size
                        growth[fmt] = max(growth.get(fmt, 0.0), peak.growth)
        finally:
            proc.terminate()
            proc.wait(60)
        cols = ", ".join(LIST_COLUMNS)
        with Warehouse.open(home / "cxhub.duckdb") as wh:
            for _ in range(args.runs):
                t = time.perf_counter()
                wh.cursor().execute(f"COPY (SELECT {cols} FROM contacts ORDER BY created_at "
                                    f"DESC, contact_id DESC) TO '{home / 'copy.csv'}' (HEADER)")
                results["duckdb"].append(time.perf_counter() - t)
    base = statistics.median(results["duckdb"])
    for name, runs in results.items():
        med = statistics.median(runs)
        extra = (f", {sizes[name] / 1e6:.0f} MB, server memory +{growth[name]:.0f} MB"
                 if name in sizes else "")
        print(f"{name:8s} median {med:6.2f} s over {len(runs)} runs, "
              f"{args.contacts / med:,.0f} rows/s, {med / base:.1f}x DuckDB's COPY{extra}")


if __name__ == "__main__":
    main()
