"""Time the simulator and measure its peak memory; prints JSON.

    python bench/bench_simulate.py                       # the default company (50,000 x 365)
    python bench/bench_simulate.py --customers 1000000   # the streaming check (a few minutes)

Each run is a fresh process, so the peak resident memory (getrusage ru_maxrss) is the run's own.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

_CHILD = """
import json, resource, sys, time
from pathlib import Path
from cxhub.simulate import simulate
began = time.perf_counter()
summary = simulate(Path(sys.argv[1]), customers=int(sys.argv[2]), days=int(sys.argv[3]), seed=42)
seconds = time.perf_counter() - began
rows = {f["path"]: f["rows"] for f in summary["files"]}
print(json.dumps({"seconds": round(seconds, 2), "rows": rows,
                  "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}))
"""


def run(customers: int, days: int, keep: Path | None) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as tmp:
        out = keep or Path(tmp) / "company"
        began = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-c", _CHILD, str(out), str(customers), str(days)],
            capture_output=True,
            text=True,
            check=True,
        )
        wall = time.perf_counter() - began
        result = json.loads(proc.stdout)
        size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    rows = result.pop("rows")
    return {
        "customers": customers,
        "days": days,
        **result,
        "wall_seconds_with_startup": round(wall, 2),
        "contacts": rows.get("contact_centre/contacts.csv", 0),
        "total_rows": sum(rows.values()),
        "output_mb": round(size / 2**20),
        "child_peak_rss_mb_check": round(
            resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=50_000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--keep", type=Path, help="write the files here instead of a temp folder")
    args = parser.parse_args()
    print(json.dumps(run(args.customers, args.days, args.keep), indent=2))


if __name__ == "__main__":
    main()
