"""`cxhub segments clv | retention | retention-check | rfm | refresh | show`"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import click
from rich.table import Table

from cxhub.analytics.segments.contracts import CLOCKS, FIT_BY
from cxhub.cli.common import console, fail, open_warehouse, out, print_json
from cxhub.domain.errors import CxhubError
from cxhub.services.customers import retention as retention_service
from cxhub.services.customers import segments as service

DATE = click.DateTime(formats=["%Y-%m-%d"])


@click.group()
def segments() -> None:
    """Customer segments: RFM, lifetime value, retention, portfolio, contact intensity,
    personas."""


@segments.command("clv")
@click.option("--calibration-end", type=DATE, required=True,
              help="Last day of the calibration period (YYYY-MM-DD).")
@click.option("--source", help="Only transactions from this source.")
@click.option("--predict", metavar="X,T_X,T,t",
              help="Also print the expected purchases in the next t weeks of a customer with "
                   "x repeat purchases, the last at t_x weeks, observed for T weeks.")
@click.option("--json", "as_json", is_flag=True, help="Print the parameters as JSON.")
@click.pass_context
def clv(ctx: click.Context, calibration_end: dt.datetime, source: str | None,
        predict: str | None, as_json: bool) -> None:
    """Fit BG/NBD and Gamma-Gamma on the warehouse's transactions and print the parameters.

    Time is in weeks from each customer's first purchase to the calibration end; several
    purchases of one customer on one day count as one purchase.
    """
    point = _parse_predict(predict) if predict else None
    with open_warehouse(ctx) as wh:
        try:
            fit = service.fit_clv(wh, calibration_end.date(), source=source)
        except CxhubError as exc:
            fail(str(exc))
    result: dict[str, Any] = fit.parameters()
    if point is not None:
        result["expected_purchases"] = fit.expected_purchases(*point)
    if as_json:
        print_json(result)
        return
    table = Table("model", "parameter", "estimate")
    for model, params in (("BG/NBD", result["bgnbd"]), ("Gamma-Gamma", result["gamma_gamma"])):
        for name, value in (params or {}).items():
            table.add_row(model, "gamma" if name == "v" else name, f"{value:.4g}")
    out.print(table)
    out.print(f"{fit.bgnbd.customers:,} customers, log-likelihood {fit.bgnbd.log_likelihood:.2f}")
    if fit.gamma_gamma is not None:
        out.print(f"Gamma-Gamma on {fit.gamma_gamma.customers:,} repeat buyers")
    else:
        console.print(f"Gamma-Gamma not fitted: {fit.gamma_gamma_error}")
    if point is not None:
        x, t_x, T, t = point
        out.print(f"x={x:g}, t_x={t_x:g}, T={T:g}: {result['expected_purchases']:.4f} "
                  f"expected purchases in the next {t:g} weeks")


def _parse_predict(text: str) -> tuple[float, float, float, float]:
    try:
        x, t_x, T, t = (float(v) for v in text.split(","))
    except ValueError:
        raise click.BadParameter("use four numbers: x,t_x,T,t", param_hint="--predict") from None
    return x, t_x, T, t


@segments.command("retention")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--periods", type=click.IntRange(1, 1000), default=10, show_default=True,
              help="How many further periods to project.")
@click.option("--json", "as_json", is_flag=True)
def retention(file: Path, periods: int, as_json: bool) -> None:
    """Fit the shifted-beta-geometric retention model to one cohort's survivors.

    FILE is a CSV with columns `period` (consecutive whole numbers) and `active` (customers
    still there at the end of each period, the first the cohort's size).
    """
    try:
        result = retention_service.fit_survivors_file(file, ahead=periods)
    except CxhubError as exc:
        fail(str(exc))
    if as_json:
        print_json(result)
        return
    out.print(f"alpha {result['alpha']:.4f}  beta {result['beta']:.4f}  "
              f"log-likelihood {result['log_likelihood']:.2f}")
    table = Table("period", "active", "expected")
    for row in result["fitted"]:
        table.add_row(str(row["period"]), f"{row['active']:,.0f}", f"{row['expected']:,.1f}")
    for row in result["projection"]:
        table.add_row(str(row["period"]), "", f"{row['expected']:,.1f}")
    out.print(table)


@segments.command("retention-check")
@click.option("--as-of", type=DATE, help="End of the held-out period (default: the last "
                                          "activity).")
@click.option("--holdout-months", type=click.IntRange(1, 60), default=1, show_default=True)
@click.option("--by", type=click.Choice(retention_service.CHECK_GROUPS), default="cohort",
              show_default=True)
@click.option("--clock", type=click.Choice(CLOCKS), default=CLOCKS[0], show_default=True,
              help="Count renewals from the data start (each cohort followed from there) or "
                   "from each customer's start (left-truncated at the data start).")
@click.option("--fit-by", type=click.Choice(FIT_BY), default=FIT_BY[0], show_default=True,
              help="Fit the model per cohort, or per cohort and the plan a customer started "
                   "on (a group too small for its own fit borrows its cohort's).")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def retention_check(ctx: click.Context, as_of: dt.datetime | None, holdout_months: int,
                    by: str, clock: str, fit_by: str, as_json: bool) -> None:
    """Check the subscribers' retention model: fit it without the last months, then compare
    the subscribers it expected to leave in those months with those who did."""
    with open_warehouse(ctx) as wh:
        try:
            check = retention_service.check_retention(
                wh, as_of=as_of.date() if as_of else None, holdout_months=holdout_months,
                with_rfm=by == "rfm_segment", clock=clock, fit_by=fit_by)
        except CxhubError as exc:
            fail(str(exc))
    rows = check.by(by).round(4).to_dict(orient="records")
    if as_json:
        print_json({"calibration_end": check.calibration_end.isoformat(),
                    "as_of": check.as_of.isoformat(), "model": check.model.as_dict(),
                    by: rows})
        return
    out.print(f"fitted up to {check.calibration_end}, held out to {check.as_of}")
    table = Table(by, "subscribers", "expected to leave", "left", "expected share",
                  "left share")
    for row in rows:
        table.add_row(str(row["group"]), f"{row['subscribers']:,.0f}", f"{row['expected']:,.1f}",
                      f"{row['left']:,.0f}", f"{row['expected_share']:.2%}",
                      f"{row['left_share']:.2%}")
    out.print(table)


@segments.command("rfm")
@click.option("--as-of", type=DATE, help="Score up to this day (default: the last activity).")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def rfm_cmd(ctx: click.Context, as_of: dt.datetime | None, as_json: bool) -> None:
    """RFM segments: customers and mean recency, frequency and monetary value per segment."""
    with open_warehouse(ctx) as wh:
        summary = service.rfm_summary(
            service.compute_rfm(wh, as_of.date() if as_of else None))
    if as_json:
        print_json(summary.round(3).to_dict(orient="records"))
        return
    table = Table("segment", "customers", "share", "recency (days)", "frequency", "monetary")
    for row in summary.itertuples():
        table.add_row(str(row.rfm_segment), f"{row.customers:,}", f"{row.share:.1%}",
                      _num(row.recency_days), _num(row.frequency), _num(row.monetary))
    out.print(table)


@segments.command("refresh")
@click.option("--as-of", type=DATE, help="Compute up to this day (default: the last activity).")
@click.option("--cost", "costs", multiple=True, metavar="CHANNEL=AMOUNT",
              help="Cost per contact on a channel (repeatable); defaults: " + ", ".join(
                  f"{k}={v:g}" for k, v in service.DEFAULT_COST_PER_CONTACT.items()) + ".")
@click.option("--growth-threshold", type=float,
              help="Value growth above which a customer is high-growth (default: the median).")
@click.option("--cash-threshold", type=float,
              help="Cash generated above which a customer is high-cash (default: the median).")
@click.option("--horizon-weeks", type=float, default=52.0, show_default=True,
              help="CLV horizon.")
@click.option("--discount", type=float, default=0.10, show_default=True,
              help="Yearly discount rate for CLV.")
@click.option("--margin", type=float, default=1.0, show_default=True,
              help="Share of revenue kept, for CLV.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def refresh(ctx: click.Context, as_of: dt.datetime | None, costs: tuple[str, ...],
            growth_threshold: float | None, cash_threshold: float | None,
            horizon_weeks: float, discount: float, margin: float, as_json: bool) -> None:
    """Compute every segment and store it in customer_segments (resolved customers)."""
    cost_per_contact = dict(service.DEFAULT_COST_PER_CONTACT)
    for item in costs:
        channel, _, amount = item.partition("=")
        try:
            cost_per_contact[channel.strip()] = float(amount)
        except ValueError:
            raise click.BadParameter(f"{item!r}: use CHANNEL=AMOUNT", param_hint="--cost") from None
    settings = service.SegmentSettings(
        as_of=as_of.date() if as_of else None,
        clv=service.ClvSettings(horizon_weeks=horizon_weeks, yearly_discount=discount,
                                margin=margin),
        portfolio=service.PortfolioRules(cost_per_contact, growth_threshold, cash_threshold),
    )
    with open_warehouse(ctx) as wh:
        report = service.refresh_segments(wh, settings)
    summary = report.segments.summary()
    summary["stored"] = report.stored
    summary["note"] = report.note
    if as_json:
        print_json(summary)
        return
    out.print(f"{summary['customers']:,} customers as of {summary['as_of']}; "
              f"{report.stored:,} stored in customer_segments")
    if report.note:
        console.print(report.note)
    if summary["clv_error"]:
        console.print(f"purchases' CLV not computed: {summary['clv_error']}")
    if summary["retention"]:
        pooled = summary["retention"]["all"]
        out.print(f"retention (sBG): {len(summary['retention']['cohorts'])} cohorts fitted; "
                  f"all subscribers alpha {pooled['alpha']:.4g}, beta {pooled['beta']:.4g}")
    elif summary["retention_error"]:
        console.print(f"retention not modelled: {summary['retention_error']}")
    for column in ("rfm_segment", "portfolio", "contact_intensity", "segment"):
        out.print(f"{column}: " + ", ".join(f"{k} {v:,}" for k, v in summary[column].items()))
    personas = summary["personas"]
    out.print(f"personas (k={personas['k']}):")
    for cluster in personas["clusters"]:
        out.print(f"  {cluster['customers']:>8,}  {cluster['description']}")
    _print_rates(summary["contacts_per_1000"]["persona"], "persona")


@segments.command("show")
@click.option("--by", type=click.Choice(service.GROUPINGS), default="persona", show_default=True,
              help="The segment column for contacts per 1,000 customers.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def show(ctx: click.Context, by: str, as_json: bool) -> None:
    """The stored segments: customers per segment, and which group contacts you a lot."""
    with open_warehouse(ctx) as wh:
        summary = service.stored_summary(wh, by=by)
    if as_json:
        print_json(summary)
        return
    if not summary["customers"]:
        out.print("no segments stored yet: run `cxhub segments refresh`")
        return
    out.print(f"{summary['customers']:,} customers, computed at {summary['computed_at']}")
    for column in service.GROUPINGS:
        out.print(f"{column}: " + ", ".join(f"{k} {v:,}" for k, v in summary[column].items()))
    _print_rates(summary["contacts_per_1000"], by)


def _print_rates(rows: list[dict[str, Any]], by: str) -> None:
    table = Table(by, "customers", "contacts / 1,000", "calls / 1,000",
                  title="who contacts you a lot (last 12 months)")
    for row in rows:
        table.add_row(str(row["group"]), f"{row['customers']:,}",
                      f"{row['contacts_per_1000']:,.1f}", f"{row['calls_per_1000']:,.1f}")
    out.print(table)


def _num(value: float) -> str:
    return "" if value != value else f"{value:,.1f}"  # NaN for segments with no purchase
