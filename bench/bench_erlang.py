"""Staffing at scale: a million Erlang C (and Erlang A) staffing calculations.

    python bench/bench_erlang.py [--rows 1000000] [--runs 3] [--seed 7] [--baseline-rows 2000]

Each row is one interval: arrivals per 30 minutes and an AHT drawn so that the load runs from
a fraction of an Erlang to about 1,800 Erlangs (so up to 2,000 agents), target 80% within
20 s, maximum occupancy 0.9; Erlang A rows add a patience of 30 s to 10 minutes. cxhub's
`agents_needed` does all rows at once. The baseline, timed in the same run on the first
`--baseline-rows` rows and scaled to the full count, is the textbook method planners use: the
Erlang B recursion in plain Python and a linear search upward from the load. The two are
checked to agree row for row. Prints one JSON document.
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import statistics
import sys
import time

import numpy as np

from cxhub.analytics.staffing import agents_needed


def textbook_agents(arrivals: float, interval: float, aht: float, target: float,
                    within: float, max_occ: float) -> int:
    """Erlang C by the Erlang B recursion, one agent at a time (the usual spreadsheet way)."""
    a = arrivals / interval * aht
    b = 1.0
    n = 0
    while True:
        n += 1
        b = a * b / (n + a * b)
        if n <= a:
            continue
        c = n * b / (n - a * (1 - b))
        sl = 1 - c * math.exp(-(n - a) * within / aht)
        if sl >= target - 1e-9 and a / n <= max_occ + 1e-9:
            return n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--baseline-rows", type=int, default=2000)
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    aht = rng.uniform(60, 600, args.rows)
    load = np.exp(rng.uniform(np.log(0.2), np.log(1800), args.rows))
    arrivals = load * 1800 / aht
    patience = rng.uniform(30, 600, args.rows)
    runs: dict[str, list[float]] = {"erlang_c": [], "erlang_a": [], "baseline_scaled": []}
    agents_c = agents_a = np.zeros(0)
    k = min(args.baseline_rows, args.rows)
    for run in range(args.runs):
        started = time.perf_counter()
        agents_c = agents_needed(arrivals, 1800, aht, 0.8, 20, None, 0.9)
        runs["erlang_c"].append(time.perf_counter() - started)
        started = time.perf_counter()
        agents_a = agents_needed(arrivals, 1800, aht, 0.8, 20, patience, 0.9)
        runs["erlang_a"].append(time.perf_counter() - started)
        started = time.perf_counter()
        base = [textbook_agents(arrivals[i], 1800, aht[i], 0.8, 20, 0.9) for i in range(k)]
        runs["baseline_scaled"].append((time.perf_counter() - started) * args.rows / k)
        print(f"run {run + 1}: " + ", ".join(f"{n} {v[-1]:.2f} s" for n, v in runs.items()),
              file=sys.stderr)
    mismatches = int(np.sum(np.asarray(base) != agents_c[:k]))
    med = {name: statistics.median(v) for name, v in runs.items()}
    print(json.dumps({
        "rows": args.rows, "seed": args.seed, "runs": args.runs,
        "max_agents": int(max(agents_c.max(), agents_a.max())),
        "seconds_median": {n: round(v, 3) for n, v in med.items()},
        "seconds_all": {n: [round(x, 3) for x in v] for n, v in runs.items()},
        "speedup_erlang_c_vs_textbook": round(med["baseline_scaled"] / med["erlang_c"], 1),
        "baseline_rows_timed": k, "baseline_mismatches": mismatches,
        "machine": {"cpus": __import__("os").cpu_count(), "python": platform.python_version(),
                    "load_avg": __import__("os").getloadavg()},
    }, indent=2))


if __name__ == "__main__":
    main()
