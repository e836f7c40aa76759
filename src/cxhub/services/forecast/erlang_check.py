"""Erlang A against what happened, hour by hour, on a call-centre log with queue times.

From the Anonymous Bank log (the Technion's February 1999 file):

- Calls offered to agents: those that reached the queue (served or hung up while waiting) and
  those served at once. Calls that hung up in the voice menu never asked for an agent, and
  the 278 "phantom" calls are left out (their ending is unknown).
- Patience: exponential, by maximum likelihood with censoring. A caller who hung up after
  waiting w shows patience w; a served caller who waited w only shows patience > w. The
  estimate of the mean is total time waited by everyone / number who hung up (Brown et al.
  2005 use this with Kaplan-Meier as a check).
- Agents on duty per hour: each agent is on duty through a stretch of services whose gaps are
  at most `break_minutes` (a longer gap is a break, or the agent is away); the agents per hour
  are those stretches' seconds in the hour / 3600. Counting only from an agent's first to last
  service inside each hour (the first version) takes a break inside the hour as time on duty
  and makes Erlang A optimistic; see docs/forecast.md for the figures of both.
- Per hour (of one day) with enough calls: Erlang A with that hour's arrival rate, mean
  handling time and agents, and the patience above, predicts the share who hang up and the
  share answered within the threshold; both are compared with what happened.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from cxhub.analytics.staffing import erlang_a
from cxhub.domain.errors import CxhubError

_CALLS = """
WITH raw AS (
    SELECT *, strptime("date", '%y%m%d') AS day FROM read_csv(?, delim='\t', header=true,
        all_varchar=true)
), calls AS (
    SELECT day + CAST(CASE WHEN q_start <> '0:00:00' THEN q_start ELSE vru_exit END
                      AS INTERVAL) AS offered_at,
           CAST(q_time AS DOUBLE) AS waited, outcome,
           CAST(ser_time AS DOUBLE) AS handled,
           CASE WHEN outcome = 'AGENT' THEN day + CAST(ser_start AS INTERVAL) END AS served_at,
           CASE WHEN outcome = 'AGENT' THEN server END AS server
    FROM raw
    WHERE outcome = 'AGENT' OR (outcome = 'HANG' AND q_start <> '0:00:00')
)
SELECT * FROM calls
"""


# Agents per hour (a CTE list continuing `services`: server, a, b), ending in s(hour, agents).
_IN_HOUR = """spans AS (  -- each service cut at hour boundaries
    SELECT server, unnest(generate_series(date_trunc('hour', a), date_trunc('hour', b),
        INTERVAL 1 HOUR)) AS hour, a, b FROM services
), duty AS (  -- an agent is on duty from their first to their last service in the hour
    SELECT hour, server, epoch(max(least(b, hour + INTERVAL 1 HOUR)))
           - epoch(min(greatest(a, hour))) AS seconds
    FROM spans GROUP BY ALL
), s AS (SELECT hour, sum(seconds) / 3600 AS agents FROM duty GROUP BY 1)"""

_STRETCHES = """marks AS (  -- a service starting more than {gap} s after the agent's last ended
    SELECT *, CASE WHEN epoch(a) - epoch(max(b) OVER (PARTITION BY server ORDER BY a, b
        ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)) <= {gap} THEN 0 ELSE 1 END AS new
    FROM services
), numbered AS (
    SELECT *, sum(new) OVER (PARTITION BY server ORDER BY a, b ROWS UNBOUNDED PRECEDING) AS k
    FROM marks
), stretches AS (SELECT server, k, min(a) AS a, max(b) AS b FROM numbered GROUP BY ALL
), spans AS (
    SELECT unnest(generate_series(date_trunc('hour', a), date_trunc('hour', b),
        INTERVAL 1 HOUR)) AS hour, a, b FROM stretches
), s AS (
    SELECT hour, sum(epoch(least(b, hour + INTERVAL 1 HOUR)) - epoch(greatest(a, hour)))
           / 3600 AS agents
    FROM spans GROUP BY 1
)"""


@dataclass
class ErlangCheck:
    patience_seconds: float
    abandons: int
    offered: int
    hours: pd.DataFrame
    answer_within_seconds: float
    break_minutes: float | None = None

    def summary(self) -> dict[str, Any]:
        h = self.hours
        return {
            "patience_seconds": round(self.patience_seconds, 1),
            "break_minutes": self.break_minutes,
            "mean_agents": round(float(h["agents"].mean()), 2),
            "offered": self.offered, "abandons": self.abandons,
            "hours_compared": len(h),
            "answer_within_seconds": self.answer_within_seconds,
            "mae_abandonment_points": round(100 * float(
                (h["p_abandon_pred"] - h["p_abandon"]).abs().mean()), 2),
            "mae_service_level_points": round(100 * float(
                (h["sl_pred"] - h["sl"]).abs().mean()), 2),
            "mean_abandonment": round(float(h["p_abandon"].mean()), 4),
            "mean_abandonment_pred": round(float(h["p_abandon_pred"].mean()), 4),
            "mean_service_level": round(float(h["sl"].mean()), 4),
            "mean_service_level_pred": round(float(h["sl_pred"].mean()), 4),
        }


BREAK_MINUTES = 10.0


def check(path: Path, *, answer_within_seconds: float = 60.0, min_calls: int = 30,
          break_minutes: float | None = BREAK_MINUTES) -> ErlangCheck:
    """Estimate patience and compare Erlang A with each hour that had at least `min_calls`.
    `break_minutes` None: agents counted from their first to last service in each hour."""
    if break_minutes is not None and not break_minutes > 0:
        raise CxhubError(f"break minutes must be above 0, got {break_minutes:g}")
    if not path.is_file():
        raise CxhubError(f"{path}: no such file")
    con = duckdb.connect()
    try:
        calls = con.execute(_CALLS, [str(path)]).df()
        if calls.empty:
            raise CxhubError(f"{path}: no calls offered to agents")
        abandoned = calls["outcome"] == "HANG"
        abandons = int(abandoned.sum())
        if abandons == 0:
            raise CxhubError(f"{path}: nobody hung up while waiting; patience is unknown")
        patience = float(calls["waited"].sum()) / abandons
        con.register("calls", calls)
        duty = _IN_HOUR if break_minutes is None else _STRETCHES.format(gap=60 * break_minutes)
        hours = con.execute(f"""
            WITH h AS (
                SELECT date_trunc('hour', offered_at) AS hour, count(*) AS offered,
                       count(*) FILTER (WHERE outcome = 'HANG') AS abandoned,
                       count(*) FILTER (WHERE outcome = 'AGENT'
                                        AND waited <= {float(answer_within_seconds)}) AS in_time,
                       avg(handled) FILTER (WHERE outcome = 'AGENT') AS aht
                FROM calls GROUP BY 1
            ), services AS (
                SELECT server, served_at AS a, served_at + to_seconds(handled) AS b
                FROM calls WHERE server IS NOT NULL AND server <> 'NO_SERVER'
            ), {duty}
            SELECT h.*, coalesce(s.agents, 0) AS agents
            FROM h LEFT JOIN s USING (hour) ORDER BY hour""").df()
    finally:
        con.close()
    hours = hours[(hours["offered"] >= min_calls) & (hours["agents"] > 0)
                  & hours["aht"].notna()].reset_index(drop=True)
    f = erlang_a(hours["agents"].to_numpy(float), hours["offered"].to_numpy(float), 3600.0,
                 hours["aht"].to_numpy(float), answer_within_seconds, patience)
    hours["p_abandon"] = hours["abandoned"] / hours["offered"]
    hours["sl"] = hours["in_time"] / hours["offered"]
    hours["p_abandon_pred"] = np.asarray(f.p_abandon)
    hours["sl_pred"] = np.asarray(f.service_level)
    return ErlangCheck(patience, abandons, len(calls), hours, answer_within_seconds,
                       break_minutes)
