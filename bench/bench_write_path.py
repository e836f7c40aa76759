"""The API's write path in-process, without HTTP: CPU per batch of 1,000 contacts, by step.

    python bench/bench_write_path.py [--rounds 2] [--batches 40] [--before REV] [--at REV]

One child process per measurement, each on a fresh warehouse file in a temporary folder:
- `sequential`: `--batches` batches of 1,000 contacts (the same 7 fields as `bench_api.py`),
  one after another: process CPU of parsing the JSON, of validating it (as the records' fast
  path does: a column at a time where the code has it, else the request models) and of the
  flush through the record sink (`write_rows` and the commit), median per batch;
- `concurrent`: 8 clients on one event loop, 25 batches each, as 8 connections of wrk would
  send them: CPU per batch, batches/s and latency (p50, p99, max).
The first flush is left out of the sequential medians (its start-up costs are counted apart).
`--before REV` runs the same measurements on cxhub's `src/` as it was at git revision REV,
alternating with the current code (`--at REV`: from a commit rather than the working tree), so
that the machine's load falls on both alike. CPU figures
are process CPU (all threads, DuckDB's included), which other load on the machine inflates
less than it does wall time. Prints one JSON document.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from bench_api import source_at  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent

_CHILD = r'''
import asyncio, json, statistics, sys, time, tempfile
from pathlib import Path
import orjson
from cxhub.warehouse import Warehouse
from pydantic import TypeAdapter
from cxhub.domain.api_models import MODELS
try:
    from cxhub.ingest.sink import RecordSink
except ImportError:  # code from before the one write path (d87488b)
    from cxhub.services.records.api import RecordSink
try:
    from cxhub.domain.api_columns import validated_rows
except ImportError:  # code from before the column-wise validation
    validated_rows = None

mode, batches, folder = sys.argv[1], int(sys.argv[2]), sys.argv[3]
many = TypeAdapter(list[MODELS["contacts"]])
CHANNELS = ["phone", "email", "chat", "web", "social"]

def body(prefix, n=1000):
    return orjson.dumps([{"source": "bench", "external_id": f"{prefix}-{i}",
        "channel": CHANNELS[i % 5], "created_at": f"2024-05-06T09:{i % 60:02d}:{i % 59:02d}",
        "wait_seconds": i % 600, "queue": "billing"} for i in range(n)])

def validate(data):
    rows = validated_rows("contacts", data) if validated_rows else None
    return rows if rows is not None else [vars(r) for r in many.validate_python(data)]

wh = Warehouse.open(Path(tempfile.mkdtemp(dir=folder)) / "cxhub.duckdb")
sink = RecordSink(wh)
out = {}
if mode == "sequential":
    steps = {"json": [], "validate": [], "flush": [], "flush_wall": []}
    for n in range(batches):
        raw = body(f"s{n}")
        c0 = time.process_time()
        data = orjson.loads(raw)
        c1 = time.process_time()
        rows = validate(data)
        c2 = time.process_time()
        w = time.perf_counter()
        sink.submit("contacts", rows).result()
        steps["flush_wall"].append(time.perf_counter() - w)
        c3 = time.process_time()
        for k, v in zip(("json", "validate", "flush"), (c1 - c0, c2 - c1, c3 - c2)):
            steps[k].append(v)
    out["first_flush_cpu_ms"] = round(1000 * steps["flush"][0], 1)
    out["first_flush_wall_ms"] = round(1000 * steps["flush_wall"][0], 1)
    for k, v in steps.items():
        out[f"{k}_ms"] = round(1000 * statistics.median(v[1:]), 2)
else:
    lat = []
    async def client(c, n):
        for i in range(n):
            raw = body(f"c{c}-{i}")
            t = time.perf_counter()
            await sink.write("contacts", validate(orjson.loads(raw)))
            lat.append(time.perf_counter() - t)
    async def main():
        await asyncio.gather(*(client(c, batches) for c in range(8)))
    c0, w0 = time.process_time(), time.perf_counter()
    asyncio.run(main())
    wall = time.perf_counter() - w0
    lat.sort()
    out = {"cpu_ms_per_batch": round(1000 * (time.process_time() - c0) / len(lat), 2),
           "batches_per_s": round(len(lat) / wall, 1),
           "p50_ms": round(1000 * lat[len(lat) // 2]),
           "p99_ms": round(1000 * lat[int(len(lat) * 0.99)]),
           "max_ms": round(1000 * lat[-1])}
wh.close()
print(json.dumps(out))
'''


def measure(mode: str, batches: int, src: Path, work: Path) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(src)}
    out = subprocess.run([sys.executable, "-c", _CHILD, mode, str(batches), str(work)],
                         env=env, capture_output=True, text=True, check=True, timeout=600)
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    result["load_average"] = round(os.getloadavg()[0], 1)
    return result


def median_of(runs: list[dict[str, Any]]) -> dict[str, float]:
    keys = [k for k in runs[0] if isinstance(runs[0][k], int | float)]
    return {k: round(statistics.median(r[k] for r in runs), 2) for k in keys}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--batches", type=int, default=40, help="sequential batches per run")
    ap.add_argument("--before", metavar="REV", help="also measure cxhub as at this revision")
    ap.add_argument("--at", metavar="REV",
                    help="the current code from this revision instead of the working tree")
    args = ap.parse_args()
    result: dict[str, Any] = {"benchmark": "write_path", "cpus": os.cpu_count(),
                              "settings": vars(args)}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        codes = {"now": source_at(args.at, work) if args.at else ROOT / "src"}
        if args.before:
            codes["before"] = source_at(args.before, work)
        runs: dict[str, dict[str, list[dict[str, Any]]]] = {
            name: {"sequential": [], "concurrent": []} for name in codes}
        for _ in range(args.rounds):
            for mode, batches in (("sequential", args.batches), ("concurrent", 25)):
                for name, src in codes.items():
                    runs[name][mode].append(measure(mode, batches, src, work))
                    print(f"{name} {mode}: {runs[name][mode][-1]}", file=sys.stderr)
        for name, modes in runs.items():
            result[name] = {mode: {"median": median_of(rs), "runs": rs}
                            for mode, rs in modes.items()}
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
