"""Measure the real call-centre log the simulator is calibrated on, and print the figures.

The log is the Technion "Anonymous Bank" call-centre data for February 1999 (33,344 calls).
February 1999 has exactly four of each weekday, so the weekday shape is not biased by the
calendar. The figures printed here are pasted into `src/cxhub/simulate/calibration.py`;
`tests/realdata/test_calibration.py` re-measures the log and checks that they still agree.

    python scripts/measure_callcenter.py [path/to/anonymous_bank_1999_02.tsv] [--python]

Waiting model: queued callers are assumed to have an exponential virtual wait (mean m) and an
exponential patience (mean theta), the assumptions behind Erlang A. The observed time in queue
is then the minimum of the two, exponential with mean m*theta/(m+theta), and a queued caller
abandons with probability m/(m+theta). Both are measured directly, which gives m and theta in
closed form without needing to see the censored part of either distribution.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

DEFAULT_LOG = (
    Path(__file__).resolve().parents[1]
    / ".."
    / "shared"
    / "data"
    / "callcenter"
    / "anonymous_bank_1999_02.tsv"
)


def _seconds(clock: pd.Series) -> np.ndarray:
    parts = clock.str.split(":", expand=True).astype(int)
    return (parts[0] * 3600 + parts[1] * 60 + parts[2]).to_numpy()


def measure(path: Path) -> dict[str, object]:
    """Every figure the simulator uses, measured from the log at `path`."""
    log = pd.read_csv(path, sep="\t", dtype=str)
    outcome = log["outcome"].to_numpy()
    served = outcome == "AGENT"
    abandoned = outcome == "HANG"

    # Arrivals: the hour the caller reached the voice-response unit, the weekday of the date.
    hours = _seconds(log["vru_entry"]) // 3600
    hour_counts = np.bincount(hours, minlength=24)
    days = pd.to_datetime(log["date"], format="%y%m%d")
    weekday_counts = np.bincount(days.dt.weekday.to_numpy(), minlength=7)  # Monday = 0

    # Service time of calls an agent actually handled (the VRU's "NO_SERVER" calls are not).
    ser = log["ser_time"].astype(int).to_numpy()
    by_agent = served & (log["server"].to_numpy() != "NO_SERVER") & (ser > 0)
    service = ser[by_agent].astype(float)
    logs = np.log(service)

    q_time = log["q_time"].astype(int).to_numpy()
    queued = q_time > 0  # zero means the caller went straight to an agent
    in_queue = queued & (served | abandoned)
    abandon_share = float(abandoned[in_queue].mean())
    mean_queue_time = float(q_time[in_queue].mean())
    patience = mean_queue_time / abandon_share
    virtual_wait = mean_queue_time / (1.0 - abandon_share)

    vru = log["vru_time"].astype(int).to_numpy()
    vru = vru[vru > 0]
    return {
        "calls": int(len(log)),
        "outcomes": {k: int((outcome == k).sum()) for k in ("AGENT", "HANG", "PHANTOM")},
        "hour_shape": [round(float(x), 4) for x in hour_counts / hour_counts.sum()],
        "weekday_shape": [round(float(x), 4) for x in weekday_counts / weekday_counts.sum()],
        "served_mean_s": round(float(ser[served].mean()), 1),
        "served_median_s": float(np.median(ser[served])),
        "agent_service_calls": int(by_agent.sum()),
        "agent_service_mean_s": round(float(service.mean()), 1),
        "agent_service_median_s": float(np.median(service)),
        # Two lognormal fits. The log-moment fit overstates the mean (the log of service time is
        # skewed left by many very short calls), so the simulator uses the fit that keeps the
        # median and the mean, which is what handling time and staffing depend on.
        "service_logmoment_mu": round(float(logs.mean()), 4),
        "service_logmoment_sigma": round(float(logs.std()), 4),
        "service_log_mu": round(float(np.log(np.median(service))), 4),
        "service_log_sigma": round(
            float(np.sqrt(2 * np.log(service.mean() / np.median(service)))), 4
        ),
        "phantom_share": round(float((outcome == "PHANTOM").mean()), 4),
        "queued_share": round(float(in_queue.sum() / (served | abandoned).sum()), 4),
        "abandon_share_of_queued": round(abandon_share, 4),
        "mean_time_in_queue_s": round(mean_queue_time, 1),
        "patience_mean_s": round(patience, 1),
        "virtual_wait_mean_s": round(virtual_wait, 1),
        "vru_median_s": float(np.median(vru)),
    }


def as_python(figures: dict[str, object]) -> str:
    """The figures as constants, ready to paste into calibration.py."""
    return "\n".join(f"{k.upper()} = {v!r}" for k, v in figures.items())


def main(argv: list[str]) -> None:
    args = [a for a in argv if not a.startswith("--")]
    path = Path(args[0]) if args else DEFAULT_LOG
    figures = measure(path)
    print(as_python(figures) if "--python" in argv else json.dumps(figures, indent=2))


if __name__ == "__main__":
    main(sys.argv[1:])
