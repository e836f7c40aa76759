"""Forecasting speed: every channel of a demo-sized company, and 1,000 series, 14 days ahead at
30 minutes, against statsforecast's own MSTL on the same series.

    python bench/bench_forecast.py [--channels 7] [--series 1000] [--weeks 12] [--runs 3]
                                   [--baseline-series 50] [--seed 7]

Series are simulated like the demo's channels: 12 weeks of half-hour counts, a daily shape
(open 8:00-20:00, lunchtime peak), weekday levels, Poisson noise. Three things are timed:

- `channels`: cxhub's full forecast for each of `--channels` series (every candidate, MSTL and
  AutoETS included, chosen by the inner backtest, with intervals), as `cxhub forecast run`;
- `series`: cxhub's quick candidates (seasonal mean and the profile models, as the demo runs)
  on `--series` series;
- the baseline, in the same run: `StatsForecast(models=[MSTL(season_length=[48, 336])])`
  fitting and forecasting the same horizon, on `--baseline-series` series and scaled to the
  count it is compared with.

Each part runs in a process of its own (this script again, with `--part`), so its time is
not slowed by a tracer and its peak memory is the process's own maximum resident set (which
includes the interpreter and the imports, about 150 MB). Prints one JSON document.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
import warnings
from typing import Any

import numpy as np
import pandas as pd

from cxhub.analytics.forecast import backtest
from cxhub.analytics.forecast.series import Series

QUICK = ("seasonal_mean", "profile_mean", "profile_recent")
START = dt.date(2026, 1, 5)  # a Monday


def simulate(n: int, weeks: int, seed: int) -> list[Series]:
    rng = np.random.default_rng(seed)
    slot = np.arange(48)
    shape = np.where((slot >= 16) & (slot < 40), 1 + np.sin((slot - 16) / 24 * np.pi), 0.02)
    out = []
    for i in range(n):
        level = rng.uniform(2, 40)
        weekday = np.array([1.0, 0.95, 0.9, 0.9, 0.85, 0.4, 0.15]) * rng.uniform(0.8, 1.2, 7)
        days = weeks * 7
        rate = np.concatenate([level * weekday[d % 7] * shape for d in range(days)])
        out.append(Series(f"s{i}", START, 48, rng.poisson(rate).astype(float)))
    return out


def timed(fn: Any) -> tuple[float, float]:
    started = time.perf_counter()
    fn()
    seconds = time.perf_counter() - started
    return seconds, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(part: str, args: argparse.Namespace) -> list[float]:
    """Run one part in a fresh process: [seconds, peak MiB]."""
    cmd = [sys.executable, __file__, "--part", part, "--channels", str(args.channels),
           "--series", str(args.series), "--weeks", str(args.weeks), "--seed", str(args.seed),
           "--baseline-series", str(args.baseline_series)]
    done = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return list(json.loads(done.stdout.strip().splitlines()[-1]))


def run_part(part: str, args: argparse.Namespace) -> None:
    h = 14
    if part == "channels_full":
        channels = simulate(args.channels, args.weeks, args.seed)
        result = timed(lambda: [backtest.forecast(s, h, folds=4) for s in channels])
    elif part == "series_quick":
        many = simulate(args.series, args.weeks, args.seed + 1)
        result = timed(lambda: [backtest.forecast(s, h, folds=4, candidates=QUICK)
                                for s in many])
    else:
        some = simulate(min(args.baseline_series, args.series), args.weeks, args.seed + 1)
        seconds, peak = timed(lambda: statsforecast_mstl(some, h * 48))
        result = (seconds / len(some), peak)
    print(json.dumps(list(result)))


def statsforecast_mstl(series: list[Series], h: int) -> None:
    from statsforecast import StatsForecast
    from statsforecast.models import MSTL

    frames = []
    for s in series:
        ds = pd.date_range(str(s.start), periods=len(s.values), freq="30min")
        frames.append(pd.DataFrame({"unique_id": s.name, "ds": ds, "y": s.values}))
    sf = StatsForecast(models=[MSTL(season_length=[48, 336])], freq="30min", n_jobs=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sf.forecast(df=pd.concat(frames), h=h)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--channels", type=int, default=7)
    ap.add_argument("--series", type=int, default=1000)
    ap.add_argument("--weeks", type=int, default=12)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--baseline-series", type=int, default=50)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--part", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.part:
        run_part(args.part, args)
        return
    k = min(args.baseline_series, args.series)
    h = 14
    results: dict[str, list[list[float]]] = {
        "channels_full": [], "series_quick": [], "statsforecast_mstl_per_series": []}
    for run in range(args.runs):
        for part in results:
            results[part].append(child(part, args))
        print(f"run {run + 1}: " + ", ".join(f"{n} {v[-1][0]:.2f} s" for n, v in
                                              results.items()), file=sys.stderr)
    med = {n: statistics.median(r[0] for r in v) for n, v in results.items()}
    per = med["statsforecast_mstl_per_series"]
    print(json.dumps({
        "channels": args.channels, "series": args.series, "weeks": args.weeks, "horizon_days": h,
        "interval_minutes": 30, "seed": args.seed, "runs": args.runs,
        "seconds_median": {
            "channels_full": round(med["channels_full"], 2),
            "series_quick": round(med["series_quick"], 2),
            "statsforecast_mstl_same_channels": round(per * args.channels, 2),
            "statsforecast_mstl_same_series": round(per * args.series, 2),
        },
        "peak_mib": {n: round(max(r[1] for r in v), 1) for n, v in results.items()},
        "all_runs": results, "baseline_series_timed": k,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "load_avg": os.getloadavg()},
    }, indent=2))


if __name__ == "__main__":
    main()
