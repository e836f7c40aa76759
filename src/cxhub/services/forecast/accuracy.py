"""Forecast accuracy of a day: the stored forecast against what arrived, per channel.

For the daily report. `accuracy` is the catalogue's `forecast_accuracy` (per interval the
smaller of forecast and arrivals over the larger, summed: see docs/forecast.md for why not
1 - WAPE); beside it WAPE (sum of absolute errors over contacts that arrived: "the forecast was
off by 12% of the day's contacts", above 1 on a channel of a few contacts a day) and coverage,
the share of intervals whose count fell inside the 95% interval. The forecast used is the
newest run that had the day ahead of it (made before the day began), so the figure is honest
about what was known in advance.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from cxhub.warehouse import Warehouse


def day_accuracy(wh: Warehouse, day: dt.date) -> list[dict[str, Any]]:
    """Per channel: contacts forecast and arrived, accuracy, WAPE, MAE per interval,
    coverage."""
    from cxhub.services.metrics.compute import compute

    start = dt.datetime.combine(day, dt.time())
    end = start + dt.timedelta(days=1)
    rows = wh.read(
        """
        WITH run AS (
            SELECT max(f.run_id) AS run_id FROM forecasts f JOIN forecast_runs r USING (run_id)
            WHERE f.interval_start >= ? AND f.interval_start < ? AND r.origin <= ?
        ), f AS (
            SELECT channel, interval_start, interval_minutes, point, lo, hi FROM forecasts
            WHERE run_id = (SELECT run_id FROM run) AND interval_start >= ?
              AND interval_start < ?
        ), a AS (
            SELECT f.channel, f.interval_start, f.point, f.lo, f.hi, count(c.contact_id) AS n
            FROM f LEFT JOIN contacts c ON c.channel = f.channel
              AND c.created_at >= f.interval_start
              AND c.created_at < f.interval_start + to_minutes(f.interval_minutes)
            GROUP BY ALL
        )
        SELECT channel, (SELECT run_id FROM run), sum(point), sum(n), sum(abs(n - point)),
               avg(abs(n - point)), avg(CASE WHEN n BETWEEN lo AND hi THEN 1 ELSE 0 END)
        FROM a GROUP BY channel ORDER BY channel
        """, [start, end, start, start, end])
    if not rows:
        return []
    metric = {r["channel"]: r["value"] for r in compute(
        wh, "forecast_accuracy", start=start, end=end, by=("channel",))}
    return [{
        "day": day.isoformat(), "channel": ch, "run_id": run_id,
        "accuracy": None if metric.get(ch) is None else round(float(metric[ch]), 4),
        "forecast": round(float(fc), 1), "actual": int(n),
        "wape": round(float(err) / n, 4) if n else None,
        "mae_per_interval": round(float(mae), 3), "coverage": round(float(cov), 4),
    } for ch, run_id, fc, n, err, mae, cov in rows]
