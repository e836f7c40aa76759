"""`cxhub staff erlang | plan`"""

from __future__ import annotations

from pathlib import Path

import click

from cxhub.cli.common import fail, out, print_json


@click.group()
def staff() -> None:
    """Staffing: Erlang C and Erlang A for one interval, and the plan from the forecast."""


@staff.command("erlang")
@click.option("--arrivals", type=float, required=True, help="Contacts arriving in the interval.")
@click.option("--interval-minutes", type=float, default=30, show_default=True)
@click.option("--aht", "aht", type=float, required=True, help="Average handling time, seconds.")
@click.option("--target", type=float, default=0.8, show_default=True,
              help="Service-level target: share answered within --answer-within.")
@click.option("--answer-within", type=float, default=20, show_default=True,
              help="Service-level threshold, seconds.")
@click.option("--patience", type=float,
              help="Mean patience in seconds: Erlang A (callers hang up) instead of Erlang C.")
@click.option("--agents", type=int, help="Report what this many agents deliver instead.")
@click.option("--shrinkage", type=float, default=0.0, show_default=True,
              help="Share of paid time off the phones (breaks, training, absence).")
@click.option("--max-occupancy", type=float, default=1.0, show_default=True,
              help="Most of their time agents may spend handling contacts.")
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
def erlang(arrivals: float, interval_minutes: float, aht: float, target: float,
           answer_within: float, patience: float | None, agents: int | None, shrinkage: float,
           max_occupancy: float, as_json: bool) -> None:
    """Agents needed for one interval, with service level, occupancy, P(wait) and ASA.

    Example: --arrivals 100 --interval-minutes 30 --aht 180 --target 0.8 --answer-within 20
    gives 14 agents. See docs/forecast.md.
    """
    from cxhub.analytics.staffing import StaffingInputError
    from cxhub.analytics.staffing import staff as calculate

    try:
        r = calculate(arrivals=arrivals, interval_minutes=interval_minutes, aht_seconds=aht,
                      target=target, answer_within_seconds=answer_within,
                      patience_seconds=patience, agents=agents, shrinkage=shrinkage,
                      max_occupancy=max_occupancy)
    except StaffingInputError as exc:
        fail(str(exc))
        return
    if as_json:
        print_json(r.to_dict())
        return
    model = "Erlang A" if r.p_abandon is not None else "Erlang C"
    out.print(f"{model}: {r.arrivals:g} contacts in {r.interval_minutes:g} min, AHT "
              f"{r.aht_seconds:g} s = {r.load_erlangs:.2f} Erlangs")
    out.print(f"agents {r.agents} ({r.agents_with_shrinkage} with shrinkage {shrinkage:g})")
    out.print(f"service level {r.service_level:.3f} within {answer_within:g} s, occupancy "
              f"{r.occupancy:.3f}, P(wait) {r.p_wait:.3f}, ASA {r.asa_seconds:.1f} s")
    if r.p_abandon is not None:
        out.print(f"P(abandon) {r.p_abandon:.4f}")


@staff.command("check")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--answer-within", type=float, default=60, show_default=True,
              help="Service-level threshold, seconds.")
@click.option("--min-calls", type=int, default=30, show_default=True,
              help="Compare only hours with at least this many calls.")
@click.option("--break-minutes", type=float, default=10, show_default=True,
              help="A gap between an agent's services longer than this is off duty.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
def check(file: Path, answer_within: float, min_calls: int, break_minutes: float,
          as_json: bool) -> None:
    """Check Erlang A on an Anonymous Bank log: patience from the hang-ups, agents on duty
    from the agents serving, predicted vs actual abandonment and service level per hour."""
    from cxhub.domain.errors import CxhubError
    from cxhub.services.forecast.erlang_check import check as run_check

    try:
        result = run_check(file, answer_within_seconds=answer_within, min_calls=min_calls,
                           break_minutes=break_minutes)
    except CxhubError as exc:
        fail(str(exc))
        return
    s = result.summary()
    if as_json:
        print_json(s)
        return
    out.print(f"patience {s['patience_seconds']:.0f} s (exponential, censored: "
              f"{s['abandons']:,} hang-ups among {s['offered']:,} calls offered)")
    out.print(f"{s['hours_compared']} hours: abandonment {s['mean_abandonment']:.1%} actual, "
              f"{s['mean_abandonment_pred']:.1%} Erlang A, mean absolute error "
              f"{s['mae_abandonment_points']:.1f} points")
    out.print(f"answered within {answer_within:g} s: {s['mean_service_level']:.1%} actual, "
              f"{s['mean_service_level_pred']:.1%} Erlang A, mean absolute error "
              f"{s['mae_service_level_points']:.1f} points")


@staff.command("plan")
@click.option("--run", "run_id", type=int, help="Forecast run (default: the latest).")
@click.option("--channel", help="Only this channel (default: phone and chat).")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.pass_context
def plan(ctx: click.Context, run_id: int | None, channel: str | None, as_json: bool) -> None:
    """Agents needed per interval from the forecast (the catalogue's service-level targets,
    Erlang A with the measured patience) against the roster: under- and over-staffed
    intervals. The dashboard's Staffing page draws it."""
    from rich.table import Table

    from cxhub.cli.common import open_warehouse
    from cxhub.domain.errors import CxhubError
    from cxhub.services.forecast import plan as plans

    try:
        with open_warehouse(ctx) as wh:
            result = plans.plan(wh, run_id=run_id, channel=channel)
    except CxhubError as exc:
        fail(str(exc))
        return
    if as_json:
        print_json(result.to_dict())
        return
    # One column per channel, one row per figure: readable in 80 columns.
    channels = result.to_dict()["channels"]
    table = Table("", *(c["channel"] for c in channels))
    rows: list[tuple[str, str]] = [
        ("AHT", "{aht_seconds:.0f} s"), ("patience", "{patience}"),
        ("target", "{target:.0%} in {threshold_seconds:g} s"),
        ("intervals (rostered)", "{intervals} ({rostered_intervals})"),
        ("under-staffed", "{under}"), ("over-staffed", "{over}"),
        ("agent-hours needed, rostered intervals", "{agent_hours_needed:,.1f}"),
        ("agent-hours scheduled", "{agent_hours_scheduled:,.1f}"),
        ("agent-hours needed beyond the roster", "{agent_hours_needed_unrostered:,.1f}")]
    for c in channels:
        c["patience"] = ("-" if c["patience_seconds"] is None
                         else f"{c['patience_seconds']:.0f} s")
    for label, fmt in rows:
        table.add_row(label, *(fmt.format(**c) for c in channels))
    out.print(table)
