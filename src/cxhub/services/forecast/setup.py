"""What the demo does for forecasting: load the opening hours beside the manifest, and
forecast every channel from a week before the newest day, so the Staffing page shows a week
of forecast against what arrived and a week ahead against the roster."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

from cxhub.analytics.forecast.series import SeriesError
from cxhub.services.forecast import hours, run
from cxhub.warehouse import Warehouse
from cxhub.warehouse.schema import edge_sql

# The quick candidates: the demo forecasts every channel in about a second each; MSTL and
# AutoETS join in with `cxhub forecast run`.
QUICK = ("seasonal_mean", "profile_mean", "profile_recent")


def prepare_demo(wh: Warehouse, folder: Path, say: Callable[[str], None]) -> int | None:
    """Load `opening_hours.yaml` if the folder has one, then store a forecast run; returns
    its id (None when there is too little history to forecast)."""
    yaml_file = folder / "opening_hours.yaml"
    if yaml_file.is_file():
        hours.load_file(wh, yaml_file)
    newest = wh.read_one("SELECT " + edge_sql("contacts", "created_at", "max"))
    if not newest or newest[0] is None:
        return None
    origin = newest[0].date() - dt.timedelta(days=7)
    say(f"forecasting every channel from {origin}, 14 days of 30 minutes ...")
    try:
        report = run.run(wh, minutes=30, h_days=14, origin=origin, candidates=QUICK)
    except SeriesError as exc:
        say(f"  no forecast: {exc}")
        return None
    return report.run_id
