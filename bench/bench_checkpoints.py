"""The writer's busy checkpoints in process: at a row group's end, or as soon as the log is big.

    python bench/bench_checkpoints.py [--rounds 2] [--flushes 300] [--before REV] [--at REV]

Each measurement is a child process on a fresh warehouse file: `--flushes` flushes of 4,000
contacts (four API batches of 1,000, the same 7 fields as `bench_api.py`), one after another,
through `write_rows` on the warehouse's own writer, as the record sink sends them. Two modes:
- `aligned`: the writer is told the contacts table's rows (`Writer.rows_now`, as the record
  sink tells it), so a busy checkpoint waits for a flush that ends just past a row group's end;
- `plain`: it is not told, so it checkpoints as soon as the log is big enough.
Reported per mode: the checkpoints (how many, median and slowest, milliseconds per 100,000
contacts) and the flushes' round trip (p50, p99: a flush that comes after a checkpoint waits for
it). `--before REV` measures cxhub's `src/` at git revision REV too (plain mode only, as that
code had no other), alternating with the current code (`--at REV`: a commit, not the working
tree). Prints one JSON document.
"""

from __future__ import annotations

import argparse
import json
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
import json, statistics, sys, time
from pathlib import Path
from cxhub.domain.api_columns import validated_rows
from cxhub.domain.canonical import RECORD_KINDS
from cxhub.ingest.keys import known
from cxhub.ingest.upsert import write_rows
from cxhub.warehouse import Warehouse, writer as writer_module

path, mode, flushes = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
writer_module.IDLE_SECONDS = 600.0  # the queue is never idle here: only busy checkpoints
took = []
plain_checkpoint = writer_module.Writer._checkpoint_if_big

def timed(self, limit=None):
    before, t0 = self.checkpoints, time.perf_counter()
    plain_checkpoint(self, limit)
    if self.checkpoints > before:
        took.append(time.perf_counter() - t0)

writer_module.Writer._checkpoint_if_big = timed
wh = Warehouse.open(path)
kind = RECORD_KINDS["contacts"]
index = wh.writer.run(lambda con: (known(con).build(con, RECORD_KINDS),
                                   known(con).index(kind))[1], groupable=False)
if mode == "aligned":
    wh.writer.rows_now = index.rows
channels = ["phone", "email", "chat", "web", "social"]
n = 0

def batch():
    global n
    rows = []
    for _ in range(1000):
        n += 1
        rows.append({"source": "bench", "external_id": f"c-{n}", "channel": channels[n % 5],
                     "created_at": f"2024-05-06T09:{n % 60:02d}:{n % 59:02d}",
                     "wait_seconds": n % 600, "queue": "billing"})
    return validated_rows("contacts", rows)

trips = []
for _ in range(flushes):
    groups = [batch() for _ in range(4)]
    t0 = time.perf_counter()
    wh.writer.submit(lambda con: write_rows(con, kind, groups, window=1.0),
                     urgent=True).result()
    trips.append(time.perf_counter() - t0)
wh.close()
trips.sort()
print(json.dumps({
    "contacts": n, "checkpoints": len(took),
    "checkpoint_median_ms": round(statistics.median(took) * 1e3, 1) if took else None,
    "checkpoint_max_ms": round(max(took) * 1e3, 1) if took else None,
    "checkpoint_ms_per_100k": round(sum(took) * 1e3 / n * 1e5, 1),
    "flush_p50_ms": round(trips[len(trips) // 2] * 1e3, 1),
    "flush_p99_ms": round(trips[int(len(trips) * 0.99)] * 1e3, 1),
}))
'''


def run_child(src: Path, mode: str, flushes: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="cxhub-bench-ckpt-") as tmp:
        done = subprocess.run([sys.executable, "-c", _CHILD, str(Path(tmp) / "w.duckdb"), mode,
                               str(flushes)], capture_output=True, text=True, check=False,
                              env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(src),
                                   "HOME": tmp})
    if done.returncode != 0:
        raise SystemExit(f"{mode} failed:\n{done.stderr}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def medians(runs: list[dict[str, Any]]) -> dict[str, Any]:
    return {k: statistics.median(r[k] for r in runs) for k in runs[0]
            if all(isinstance(r[k], int | float) for r in runs)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--flushes", type=int, default=300)
    ap.add_argument("--before", metavar="REV", help="also measure cxhub at this revision")
    ap.add_argument("--at", metavar="REV", help="the current cxhub as at this revision")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="cxhub-bench-ckpt-src-") as tmp:
        now = source_at(args.at, Path(tmp)) if args.at else ROOT / "src"
        before = source_at(args.before, Path(tmp)) if args.before else None
        results: dict[str, list[dict[str, Any]]] = {"aligned": [], "plain": []}
        if before is not None:
            results["before"] = []
        for _ in range(args.rounds):
            results["aligned"].append(run_child(now, "aligned", args.flushes))
            results["plain"].append(run_child(now, "plain", args.flushes))
            if before is not None:
                results["before"].append(run_child(before, "plain", args.flushes))
    print(json.dumps({"settings": vars(args), "runs": results,
                      "medians": {k: medians(v) for k, v in results.items()}}, indent=2))


if __name__ == "__main__":
    main()
