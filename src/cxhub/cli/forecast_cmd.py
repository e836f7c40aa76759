"""`cxhub forecast run | evaluate | backtest | hours`"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import click
from rich.table import Table

from cxhub.cli.common import console, fail, open_warehouse, out, print_json
from cxhub.domain.errors import CxhubError

_INTERVAL = click.option("--interval", default="30min", show_default=True,
                         help="15min, 30min or 60min.")
_BY = click.option("--by", type=click.Choice(["channel", "queue", "team"]), default="channel",
                   show_default=True,
                   help="One series per channel, or per queue or team of each channel (those "
                        "with 500 contacts or more in the window).")
_UTC = click.option("--utc-zone", metavar="ZONE",
                    help="The stored times are UTC: count them in this zone's local clock "
                         "(e.g. Europe/London; days of 23 or 25 hours handled). Default: times "
                         "are counted as stored.")


@click.group()
def forecast() -> None:
    """Demand forecasts per channel and interval, with prediction intervals and backtests."""


@forecast.command("run")
@click.option("--channel", help="Only this channel (default: every channel).")
@_INTERVAL
@click.option("--horizon", default="14d", show_default=True, help="Days ahead: 1d, 14d, 2w.")
@click.option("--origin", type=click.DateTime(["%Y-%m-%d"]),
              help="First day to forecast (default: the newest day); a past day lets the "
                   "forecast be compared with what arrived.")
@_BY
@_UTC
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.pass_context
def run(ctx: click.Context, channel: str | None, interval: str, horizon: str,
        origin: dt.datetime | None, by: str, utc_zone: str | None, as_json: bool) -> None:
    """Forecast each channel from its history and store the forecasts (table `forecasts`).

    Each channel's model is chosen by a rolling-origin backtest on its own history among a
    seasonal mean of recent weeks, day level x daily profile models, and statsforecast's
    AutoETS and MSTL; known events in the calendar are left out of training. See
    docs/forecast.md.
    """
    from cxhub.analytics.forecast.series import horizon_days, interval_minutes
    from cxhub.services.forecast import run as runs

    try:
        minutes, days = interval_minutes(interval), horizon_days(horizon)
        with open_warehouse(ctx) as wh:
            report = runs.run(wh, channel=channel, minutes=minutes, h_days=days,
                              utc_zone=utc_zone, origin=origin.date() if origin else None,
                              by=by)
    except CxhubError as exc:
        fail(str(exc))
        return
    if as_json:
        print_json(report.to_dict())
        return
    table = Table("series", "model", "from", "contacts forecast", "events left out")
    for row in report.to_dict()["channels"]:
        table.add_row(row["series"], row["model"], row["first_day"], f"{row['total']:,.0f}",
                      f"{row['excluded_slots']} slots")
    out.print(table)
    for name, why in report.skipped.items():
        console.print(f"skipped {name}: {why}")
    out.print(f"run {report.run_id}: {report.rows:,} forecasts of {report.interval_minutes} min "
              f"for {report.horizon_days} days")


@forecast.command("evaluate")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["anonymous-bank", "csv"]), required=True)
@click.option("--time-col", help="csv: the column of contact times (default created_at).")
@_INTERVAL
@click.option("--horizon", default="1d", show_default=True, help="Days ahead per fold.")
@click.option("--folds", default=7, show_default=True, help="Rolling origins, newest last.")
@_UTC
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def evaluate(file: Path, fmt: str, time_col: str | None, interval: str, horizon: str,
             folds: int, utc_zone: str | None, as_json: bool) -> None:
    """Backtest the forecast on any file of contact times: MASE against the weekly seasonal
    naive (the same interval one week earlier) on the same rolling folds."""
    from cxhub.analytics.forecast.backtest import evaluate as backtest
    from cxhub.analytics.forecast.series import count_series, horizon_days, interval_minutes
    from cxhub.services.forecast.files import contact_times

    try:
        minutes, days = interval_minutes(interval), horizon_days(horizon)
        if folds < 1:
            raise CxhubError(f"--folds must be at least 1, got {folds}")
        times = contact_times(file, fmt, time_col=time_col)
        series = count_series(times, name=file.name, minutes=minutes, timezone=utc_zone)
        result = backtest(series, days, folds)
    except CxhubError as exc:
        fail(str(exc))
        return
    if as_json:
        print_json(result)
        return
    _print_evaluation([result])


@forecast.command("backtest")
@click.option("--channel", help="Only this channel (default: every channel).")
@_INTERVAL
@click.option("--horizon", default="1d", show_default=True)
@click.option("--folds", default=7, show_default=True)
@_BY
@_UTC
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def backtest_cmd(ctx: click.Context, channel: str | None, interval: str, horizon: str,
                 folds: int, by: str, utc_zone: str | None, as_json: bool) -> None:
    """Backtest each channel's forecast on the warehouse's own contacts."""
    from cxhub.analytics.forecast.series import horizon_days, interval_minutes
    from cxhub.services.forecast import run as runs

    try:
        minutes, days = interval_minutes(interval), horizon_days(horizon)
        with open_warehouse(ctx) as wh:
            results = runs.backtest_channels(wh, channel=channel, minutes=minutes, h_days=days,
                                             folds=folds, utc_zone=utc_zone, by=by)
    except CxhubError as exc:
        fail(str(exc))
        return
    if as_json:
        print_json(results)
        return
    _print_evaluation(results)


def _print_evaluation(results: list[dict[str, Any]]) -> None:
    table = Table("series", "model", "MASE", "seasonal naive", "better by", "95% coverage")
    for r in results:
        if "error" in r:
            table.add_row(r["series"], "-", "-", "-", "-", r["error"][:40])
            continue
        table.add_row(r["series"], r["model"], f"{r['mase']:.3f}",
                      f"{r['mase_seasonal_naive']:.3f}", f"{r['improvement']:.1%}",
                      f"{r['coverage']:.1%}")
    out.print(table)


@forecast.command("hours")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.pass_context
def hours_cmd(ctx: click.Context, file: Path) -> None:
    """Load the opening hours and holidays (YAML: timezone, channels, holidays)."""
    from cxhub.services.forecast import hours

    try:
        with open_warehouse(ctx) as wh:
            loaded = hours.load_file(wh, file)
    except CxhubError as exc:
        fail(str(exc))
        return
    out.print(f"opening hours of {', '.join(sorted(loaded.channels))} ({loaded.timezone}), "
              f"{len(loaded.holidays)} holidays")
