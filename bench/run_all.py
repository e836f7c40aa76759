"""Run every benchmark in bench/ with modest settings and keep each one's JSON.

    python bench/run_all.py                 # every bench/bench_*.py, small (`make bench`)
    python bench/run_all.py --full          # each script's defaults (BENCHMARKS.md's sizes)
    python bench/run_all.py --only metrics,public
    python bench/run_all.py --out DIR       # where the results go

Each script runs in its own process, one after the other (they would slow each other down on
two cores). Its JSON document (stdout) goes to `<out>/<name>.json` and its progress (stderr) to
`<out>/<name>.log`; the default `<out>` is a new folder under `~/.cache/cxhub-bench/results`
(or `$XDG_CACHE_HOME`). A summary says which scripts passed, how long each took and where its
files are. Generated data is cached by the scripts themselves (`~/.cache/cxhub-bench`).

The modest settings keep the whole run to about half an hour on this project's machine; the
figures in BENCHMARKS.md come from the full sizes, run one script at a time.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

BENCH = Path(__file__).resolve().parent
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "cxhub-bench"

# Small sizes for each script; a script not listed runs with its own defaults.
MODEST: dict[str, list[str]] = {
    "api": ["--runs", "1", "--duration", "5"],
    "banking77": ["--models", "linear", "--settings", "full,10", "--samples", "1"],
    "classify": ["--customers", "5000", "--runs", "1", "--no-embeddings"],
    "clv": ["--customers", "100000"],
    "identity": ["--records", "100000"],
    "ingest": ["--rows", "1000000", "--runs", "1"],
    "listening": ["--customers", "10000", "--runs", "1", "--labels", "none"],
    "metrics": ["--rows", "1000000", "--runs", "3"],
    "personas": ["--customers", "10000", "--scale", "100000", "--runs", "1"],
    "public": ["--contacts", "1000000", "--clients", "100", "--seconds", "6"],
    "read_after_write": ["--rows", "200000", "--rounds", "3"],
    "refresh_busy_day": ["--rows", "500000", "--rounds", "3"],
    "live_tick": ["--recent", "200000", "--history", "600000", "--rounds", "3"],
    "write_after_other_writer": ["--rows", "1000000", "--rounds", "3"],
    "simulate": ["--customers", "10000", "--days", "90"],
}
# Scripts that need a program from outside Python.
NEEDS = {"api": "wrk"}


def scripts() -> dict[str, Path]:
    return {p.stem.removeprefix("bench_"): p for p in sorted(BENCH.glob("bench_*.py"))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--full", action="store_true", help="each script's own default sizes")
    parser.add_argument("--only", default="", help="comma-separated names, e.g. metrics,public")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    found = scripts()
    wanted = [n.strip() for n in args.only.split(",") if n.strip()] or list(found)
    unknown = [n for n in wanted if n not in found]
    if unknown:
        raise SystemExit(f"no bench script for {', '.join(unknown)}; there are: "
                         f"{', '.join(found)}")
    out = args.out or CACHE / "results" / datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out.mkdir(parents=True, exist_ok=True)
    print(f"results go to {out}", flush=True)
    summary = []
    for name in wanted:
        program = NEEDS.get(name)
        if program and shutil.which(program) is None:
            print(f"{name}: skipped ({program} is not installed)", flush=True)
            summary.append({"bench": name, "status": "skipped", "reason": f"no {program}"})
            continue
        extra = [] if args.full else MODEST.get(name, [])
        command = [sys.executable, str(found[name]), *extra]
        print(f"{name}: {' '.join(command[1:])}", flush=True)
        started = time.perf_counter()
        with (out / f"{name}.json").open("w") as stdout, (out / f"{name}.log").open("w") as err:
            code = subprocess.run(command, stdout=stdout, stderr=err, check=False).returncode
        seconds = round(time.perf_counter() - started, 1)
        status = "ok" if code == 0 else f"failed (exit {code})"
        print(f"{name}: {status} in {seconds} s -> {out / (name + '.json')}", flush=True)
        summary.append({"bench": name, "status": status, "seconds": seconds,
                        "command": command[1:], "json": str(out / f"{name}.json"),
                        "log": str(out / f"{name}.log"),
                        "load_average_after": round(os.getloadavg()[0], 1)})
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    print(f"summary: {out / 'summary.json'}")
    if any(s["status"].startswith("failed") for s in summary):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
