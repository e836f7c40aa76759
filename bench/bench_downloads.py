"""Dashboard downloads: the whole contact list as CSV and as Parquet, through the app.

    .venv/bin/python bench/bench_downloads.py [--contacts 1000000] [--labels 0.5] [--runs 3]

Builds a warehouse in a temporary folder (contacts written by SQL, a model label on a share of
them), then downloads `/app/export/contacts.csv` and `.parquet` through the app in-process (the
bytes are read as a browser reads them, chunk by chunk) and reports the median seconds, rows a
second and the process's peak memory growth. The baseline, in the same run, is DuckDB writing the
same columns to a file by itself (`COPY ... TO`), which neither neutralises formula cells nor
adds the best labels of each contact the way the page does.
"""

from __future__ import annotations

import argparse
import re
import resource
import statistics
import tempfile
import time
from pathlib import Path

from fastapi.testclient import TestClient

from cxhub.services.access import users
from cxhub.services.customers.contacts import LIST_COLUMNS
from cxhub.settings import Settings
from cxhub.warehouse import Warehouse
from cxhub.web.app import create_app


def build(wh: Warehouse, n: int, labelled: float) -> None:
    def job(con: object) -> None:
        con.execute(  # type: ignore[attr-defined]
            "INSERT INTO contacts (contact_id, source, external_id, channel, created_at, team, "
            "agent, wait_seconds, outcome, subject, text) "
            "SELECT i, 'bench', 'b' || i, ['phone','email','chat'][1 + i % 3], "
            "TIMESTAMP '2024-01-01' + to_seconds(i * 31 % 31536000), "
            "['billing','tech'][1 + i % 2], 'agent' || i % 40, (i % 300)::DOUBLE, 'answered', "
            "CASE WHEN i % 50 = 0 THEN '=HYPERLINK(\"x\")' ELSE 'Question ' || i END, "
            "'My bill for month ' || i % 12 || ' looks wrong, please check it again.' "
            "FROM range(1, ? + 1) t(i)", [n])
        con.execute(  # type: ignore[attr-defined]
            "INSERT INTO labels (target, target_id, dimension, label, score, model, is_human, "
            "labelled_at) SELECT 'contacts', i, 'category', 'problem', 0.7, 'tfidf', false, "
            "TIMESTAMP '2024-06-01' FROM range(1, ? + 1) t(i) WHERE i % 100 < ?",
            [n, int(labelled * 100)])
    wh.write(job)


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--contacts", type=int, default=1_000_000)
    ap.add_argument("--labels", type=float, default=0.5)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        wh = Warehouse.open(home / "cxhub.duckdb")
        t = time.perf_counter()
        build(wh, args.contacts, args.labels)
        print(f"built {args.contacts:,} contacts in {time.perf_counter() - t:.1f} s")
        users.create_user(wh, username="ana", password="a-long-passphrase", role="analyst")
        cols = ", ".join(LIST_COLUMNS)
        with TestClient(create_app(Settings(home=home), warehouse=wh)) as client:
            token = re.search(r'name="csrf_token" value="([^"]+)"',
                              client.get("/app/login").text)
            assert token
            r = client.post("/app/login", follow_redirects=False, data={
                "username": "ana", "password": "a-long-passphrase", "next": "/app",
                "csrf_token": token.group(1)})
            assert r.status_code == 303, r.text[:300]
            results: dict[str, list[float]] = {"csv": [], "parquet": [], "duckdb": []}
            sizes: dict[str, int] = {}
            growth: dict[str, float] = {}
            for _ in range(args.runs):
                for fmt in ("csv", "parquet"):
                    before = peak_mb()
                    t = time.perf_counter()
                    size = 0
                    with client.stream("GET", f"/app/export/contacts.{fmt}") as r:
                        assert r.status_code == 200, r.read()[:300]
                        for chunk in r.iter_bytes():
                            size += len(chunk)
                    results[fmt].append(time.perf_counter() - t)
                    sizes[fmt] = size
                    growth[fmt] = max(growth.get(fmt, 0.0), peak_mb() - before)
                t = time.perf_counter()
                out = home / "copy.csv"
                wh.cursor().execute(f"COPY (SELECT {cols} FROM contacts ORDER BY created_at DESC, "
                                    f"contact_id DESC) TO '{out}' (HEADER)")
                results["duckdb"].append(time.perf_counter() - t)
        wh.close()
    base = statistics.median(results["duckdb"])
    for name, runs in results.items():
        med = statistics.median(runs)
        extra = (f", {sizes[name] / 1e6:.0f} MB, peak memory +{growth[name]:.0f} MB"
                 if name in sizes else "")
        print(f"{name:8s} median {med:6.2f} s over {len(runs)} runs, "
              f"{args.contacts / med:,.0f} rows/s, {med / base:.1f}x DuckDB's COPY{extra}")


if __name__ == "__main__":
    main()
