"""`cxhub simulate OUT_DIR`"""

from __future__ import annotations

import time
from datetime import date, datetime
from pathlib import Path

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from cxhub.cli.common import console, out, print_json
from cxhub.simulate import simulate as run_simulation


def _parse_date(_ctx: click.Context, _param: click.Parameter, value: str | None) -> date:
    if value is None:
        return date(2025, 11, 1)
    try:
        return datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date in the form YYYY-MM-DD") from None


@click.command()
@click.argument("out_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--customers",
    default=50_000,
    show_default=True,
    type=click.IntRange(min=1),
    help="Number of customers in the company.",
)
@click.option(
    "--days",
    default=365,
    show_default=True,
    type=click.IntRange(min=28),
    help="Length of the simulated period in days.",
)
@click.option(
    "--seed",
    default=42,
    show_default=True,
    type=int,
    help="Random seed; the same seed gives the same files byte for byte.",
)
@click.option(
    "--start",
    callback=_parse_date,
    metavar="YYYY-MM-DD",
    help="First day of the period (default 2025-11-01).",
)
@click.option(
    "--fix-effect",
    default=0.3,
    show_default=True,
    type=click.FloatRange(min=0.0, max=1.0, max_open=True),
    help="Share of one cause's contacts that the planted permanent fix (at 70% of the period) "
    "removes; truth/events.json names the cause and the date.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
def simulate(
    out_dir: Path,
    customers: int,
    days: int,
    seed: int,
    start: date,
    fix_effect: float,
    as_json: bool,
) -> None:
    """Write a demo company's exports (CRM, billing, marketing, sales, contact centre, social,
    web, app, logistics) as CSV files under OUT_DIR, with a manifest.json in load order and the
    planted truths under OUT_DIR/truth/ (identities, contact labels, events, churn), and the
    planning files: roster.csv, calendar.csv (known events) and opening_hours.yaml.

    The default company (50,000 customers, one year) has about 300,000 contacts and takes well
    under a minute. Load it with the generic format, one file per manifest entry.
    """
    began = time.perf_counter()
    with Progress(
        TextColumn("[bold]simulating"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("customers"),
        TimeElapsedColumn(),
        console=console,
        transient=as_json,
    ) as bar:
        task = bar.add_task("customers", total=customers)

        def progress(_what: str, done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        summary = run_simulation(
            out_dir,
            customers=customers,
            days=days,
            seed=seed,
            start=start,
            fix_effect=fix_effect,
            progress=progress,
        )
    summary["seconds"] = round(time.perf_counter() - began, 1)
    if as_json:
        print_json(summary)
        return
    table = Table(title=f"{out_dir} ({summary['seconds']} s)")
    table.add_column("file")
    table.add_column("kind")
    table.add_column("rows", justify="right")
    for entry in summary["files"]:
        table.add_row(entry["path"], entry["kind"], f"{entry['rows']:,}")
    for name, rows in summary["truth"].items():
        table.add_row(f"truth/{name}.csv", "truth", f"{rows:,}")
    for name, rows in summary["planning"].items():
        table.add_row(name, "planning", "" if rows is None else f"{rows:,}")
    table.add_row("truth/events.json", "truth", "")
    out.print(table)
