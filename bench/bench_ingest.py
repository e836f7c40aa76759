"""Bulk load of contacts from Parquet and CSV: rows/s and peak memory of `cxhub ingest`.

    python bench/bench_ingest.py [--rows 10000000] [--runs 3] [--formats parquet,csv]

The contacts are generated once with DuckDB COPY into a cache folder (outside the repository)
and reused by later runs. Each measured load is `cxhub ingest generic --kind contacts` in its
own process into a fresh warehouse, so the figures include the start of the command, the
validation pass, the idempotent insert and the commit, as a user would see them. Peak memory is
the child's own maximum resident set, taken from `os.wait4`.

The baseline, measured in the same run and interleaved with the cxhub loads, is what DuckDB
does with no validation at all: `CREATE TABLE AS SELECT * FROM read_parquet(...)` (or
`read_csv(...)`) of the same file into a fresh DuckDB file, also in its own process.
Prints one JSON document.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb

DEFAULT_CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "cxhub-bench"

# Column values are spread the way contact-centre data is: a handful of channels and queues,
# a few hundred agents, times over one year, waits and talk times in seconds. The file carries
# every canonical contact field (the generic format's layout), empty where a contact centre
# would leave it empty.
_CONTACTS_SQL = """
SELECT
    'bench' AS source,
    'c' || i AS external_id,
    NULL::VARCHAR AS customer_source,
    'cust' || (hash(i) % 2000000) AS customer_external_id,
    ['phone', 'email', 'chat', 'web', 'social'][1 + i % 5] AS channel,
    TIMESTAMP '2024-01-01' + to_seconds((i * 3) % 31536000) AS created_at,
    TIMESTAMP '2024-01-01' + to_seconds((i * 3) % 31536000 + 5) AS queued_at,
    TIMESTAMP '2024-01-01' + to_seconds((i * 3) % 31536000 + 5 + hash(i) % 600) AS answered_at,
    NULL::TIMESTAMP AS first_response_at,
    TIMESTAMP '2024-01-01' + to_seconds((i * 3) % 31536000 + 905 + hash(i) % 600) AS resolved_at,
    NULL::TIMESTAMP AS abandoned_at,
    (hash(i) % 600)::DOUBLE AS wait_seconds,
    (hash(i * 7) % 900)::DOUBLE AS talk_seconds,
    (hash(i * 11) % 60)::DOUBLE AS hold_seconds,
    (hash(i * 17) % 120)::DOUBLE AS wrap_seconds,
    ['answered', 'answered', 'answered', 'abandoned'][1 + i % 4] AS outcome,
    ['general', 'billing', 'tech', 'sales'][1 + (i // 5) % 4] AS queue,
    'team-' || (i % 12) AS team,
    'agent-' || (hash(i * 13) % 300) AS agent,
    ['information', 'transaction', 'problem', 'complaint'][1 + (i // 3) % 4] AS category,
    NULL::VARCHAR AS cause,
    ['current account', 'mortgage', 'card', 'loan'][1 + (i // 7) % 4] AS product,
    NULL::VARCHAR AS sub_product,
    NULL::VARCHAR AS issue,
    NULL::VARCHAR AS sub_issue,
    'Question about order ' || (i % 100000) AS subject,
    NULL::VARCHAR AS text,
    NULL::VARCHAR AS company,
    ['north', 'south', 'east', 'west'][1 + (i // 11) % 4] AS region,
    NULL::VARCHAR AS postcode,
    NULL::VARCHAR AS resolution,
    (i % 10 <> 0) AS timely,
    NULL::BOOLEAN AS disputed
FROM range(1, {rows} + 1) t(i)
"""


def generate(cache: Path, rows: int) -> dict[str, Path]:
    """The contact files for `rows`, made once: contacts.parquet and contacts.csv."""
    folder = cache / f"contacts-v2-{rows}"
    files = {"parquet": folder / "contacts.parquet", "csv": folder / "contacts.csv"}
    if all(p.exists() for p in files.values()):
        return files
    folder.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    select = _CONTACTS_SQL.format(rows=int(rows))
    for fmt, path in files.items():
        if path.exists():
            continue
        partial = path.with_suffix(path.suffix + ".partial")
        opts = "FORMAT parquet" if fmt == "parquet" else "FORMAT csv, HEADER true"
        con.execute(f"COPY ({select}) TO '{partial}' ({opts})")
        partial.rename(path)  # a killed generation never leaves a short file behind
    con.close()
    return files


def measure(argv: list[str], env: dict[str, str] | None = None) -> dict[str, float]:
    """Wall time and peak RSS of one child process; fails loudly if the child fails."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=out, stderr=err, env={**os.environ, **(env or {})})
        # wait4 gives this child's own rusage, unlike RUSAGE_CHILDREN (a running maximum).
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(), err.read().decode()
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} exited {proc.returncode}:\n"
                           f"{stdout[-2000:]}\n{stderr[-3000:]}")
    return {"seconds": seconds, "cpu_seconds": usage.ru_utime + usage.ru_stime,
            "peak_rss_mb": usage.ru_maxrss / 1024, "stdout": stdout}  # type: ignore[dict-item]


def cxhub_load(fmt: str, path: Path, work: Path, rows: int) -> dict[str, float]:
    home = Path(tempfile.mkdtemp(dir=work, prefix="cxhub-"))
    try:
        m = measure([sys.executable, "-m", "cxhub", "--home", str(home), "ingest", "generic",
                     "--kind", "contacts", "--json", str(path)])
        report = json.loads(str(m.pop("stdout")))
        totals = report["totals"]
        if totals["loaded"] != rows or totals["quarantined"]:
            raise RuntimeError(f"{fmt}: expected {rows} loaded, none quarantined; got {totals}")
        m["load_seconds"] = report["files"][0]["seconds"]  # inside the writer, without start-up
        return m
    finally:
        shutil.rmtree(home, ignore_errors=True)


_BASELINE = """
import sys, duckdb
con = duckdb.connect(sys.argv[1])
con.execute("SET enable_progress_bar = false")
scan = {"parquet": "read_parquet", "csv": "read_csv"}[sys.argv[2]]
con.execute(f"CREATE TABLE contacts AS SELECT * FROM {scan}('{sys.argv[3]}')")
n = con.execute("SELECT count(*) FROM contacts").fetchone()[0]
con.close()
print(n)
"""


def baseline_load(fmt: str, path: Path, work: Path, rows: int) -> dict[str, float]:
    folder = Path(tempfile.mkdtemp(dir=work, prefix="plain-"))
    try:
        m = measure([sys.executable, "-c", _BASELINE, str(folder / "plain.duckdb"), fmt, str(path)])
        if int(str(m.pop("stdout")).strip()) != rows:
            raise RuntimeError(f"baseline {fmt}: row count differs from {rows}")
        return m
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def summarise(rows: int, cx: list[dict[str, float]], base: list[dict[str, float]]) -> dict:
    cx_s = statistics.median(r["seconds"] for r in cx)
    base_s = statistics.median(r["seconds"] for r in base)
    return {
        "rows": rows,
        "runs": len(cx),
        "cxhub_seconds": [round(r["seconds"], 2) for r in cx],
        "cxhub_load_seconds": [r["load_seconds"] for r in cx],
        "cxhub_cpu_seconds": [round(r["cpu_seconds"], 1) for r in cx],
        "cxhub_peak_rss_mb": [round(r["peak_rss_mb"]) for r in cx],
        "baseline_seconds": [round(r["seconds"], 2) for r in base],
        "baseline_cpu_seconds": [round(r["cpu_seconds"], 1) for r in base],
        "baseline_peak_rss_mb": [round(r["peak_rss_mb"]) for r in base],
        "median_seconds": round(cx_s, 2),
        "median_rows_per_s": round(rows / cx_s),
        "max_peak_rss_mb": round(max(r["peak_rss_mb"] for r in cx)),
        "baseline_median_seconds": round(base_s, 2),
        "baseline_rows_per_s": round(rows / base_s),
        "ratio_time_vs_baseline": round(cx_s / base_s, 2),
        "ratio_cpu_vs_baseline": round(statistics.median(r["cpu_seconds"] for r in cx)
                                       / statistics.median(r["cpu_seconds"] for r in base), 2),
        "load_average": [r["load_average"] for r in cx],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--formats", default="parquet,csv")
    ap.add_argument("--cache", type=Path, default=DEFAULT_CACHE,
                    help=f"where the generated files are kept (default {DEFAULT_CACHE})")
    args = ap.parse_args()
    t0 = time.perf_counter()
    files = generate(args.cache, args.rows)
    generated = time.perf_counter() - t0
    result: dict[str, object] = {
        "benchmark": "ingest",
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "duckdb": duckdb.__version__},
        "generate_seconds": round(generated, 1),
        "file_mb": {f: round(p.stat().st_size / 2**20) for f, p in files.items()},
    }
    work = Path(tempfile.mkdtemp(prefix="cxhub-bench-ingest-"))
    try:
        for fmt in args.formats.split(","):
            cx, base = [], []
            for _ in range(args.runs):
                base.append(baseline_load(fmt, files[fmt], work, args.rows))
                cx.append(cxhub_load(fmt, files[fmt], work, args.rows))
                cx[-1]["load_average"] = round(os.getloadavg()[0], 1)
                print(f"{fmt}: cxhub {cx[-1]['seconds']:.1f}s ({cx[-1]['cpu_seconds']:.1f}s CPU), "
                      f"plain {base[-1]['seconds']:.1f}s ({base[-1]['cpu_seconds']:.1f}s CPU), "
                      f"load {cx[-1]['load_average']}", file=sys.stderr)
            result[fmt] = summarise(args.rows, cx, base)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
