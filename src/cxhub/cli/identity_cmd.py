"""`cxhub resolve` and `cxhub review ...`: identity resolution and its review queue."""

from __future__ import annotations

import getpass
import threading
import time
from pathlib import Path

import click
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from cxhub.analytics.identity.engines import ENGINES
from cxhub.cli.common import console, fail, open_warehouse, out, print_json
from cxhub.domain.errors import CxhubError
from cxhub.services.customers import identity


@click.command()
@click.option("--threshold", type=float,
              help="Match probability from which two records are one customer (default 0.9).")
@click.option("--settings", "settings_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Identity settings YAML: comparisons, blocking, training, survivorship "
                   "(see docs/identity.md).")
@click.option("--engine", type=click.Choice(ENGINES), default="duckdb", show_default=True,
              help="Where Splink runs: an in-memory DuckDB, or Spark (needs cxhub[spark]).")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.pass_context
def resolve(ctx: click.Context, threshold: float | None, settings_path: Path | None,
            engine: str, as_json: bool) -> None:
    """Link the source records of all systems into customers.

    Trains a Splink model without labels, scores candidate pairs, clusters them, keeps the
    customer ids of earlier runs, builds each customer's golden record, and queues uncertain
    pairs for review (`cxhub review list`). Decisions made there are obeyed by every run.
    """
    with open_warehouse(ctx) as wh:
        try:
            report = _with_spinner(
                lambda phase: identity.resolve(
                    wh, settings_path=settings_path, threshold=threshold, engine=engine,
                    on_phase=phase,
                ),
                quiet=as_json,
            )
        except CxhubError as exc:
            fail(str(exc))
    if as_json:
        print_json(report.to_dict())
        return
    table = Table(title=f"cxhub resolve (run {report.run_id}, {report.engine})")
    table.add_column("", style="bold")
    table.add_column("count", justify="right")
    for label, value in (
        ("source records", report.records),
        ("customers", report.customers),
        ("links", report.links),
        ("records linked to another", report.linked_records),
        ("new customers", report.new_customers),
        ("merges", report.merges),
        ("splits", report.splits),
        ("pairs to review", report.reviews),
    ):
        table.add_row(label, f"{value:,}")
    out.print(table)
    total = sum(report.seconds.values())
    out.print(f"threshold {report.threshold}; {total:.1f} s", highlight=False)
    if report.reviews:
        out.print("See the uncertain pairs with `cxhub review list`.")


def _with_spinner(run, *, quiet: bool):  # type: ignore[no-untyped-def]
    state = {"phase": "starting"}
    result: dict[str, object] = {}

    def target() -> None:
        try:
            result["report"] = run(lambda p: state.update(phase=p))
        except BaseException as exc:  # re-raised in the main thread
            result["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    columns = (SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True, disable=quiet) as bar:
        task = bar.add_task("resolving", total=None)
        thread.start()
        while thread.is_alive():
            bar.update(task, description=state["phase"])
            time.sleep(0.1)
    if "error" in result:
        raise result["error"]  # type: ignore[misc]
    return result["report"]


@click.group()
def review() -> None:
    """The identity review queue: pairs the model is unsure of, and your decisions."""


@review.command("list")
@click.option("--status", type=click.Choice(["open", "match", "non_match", "all"]),
              default="open", show_default=True)
@click.option("--limit", type=int, default=20, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the pairs as JSON.")
@click.pass_context
def review_list(ctx: click.Context, status: str, limit: int, as_json: bool) -> None:
    """Show queued pairs side by side, most likely matches first."""
    with open_warehouse(ctx) as wh:
        pairs = identity.list_reviews(wh, status=status, limit=limit)
    if as_json:
        print_json(pairs)
        return
    if not pairs:
        out.print(f"no {status if status != 'all' else ''} pairs to review".replace("  ", " "))
        return
    for p in pairs:
        prob = p["match_probability"]
        head = f"pair {p['review_id']}  {p['status']}"
        if prob is not None:
            head += f"  p={prob:.3f}"
        if p.get("records_moved"):
            head += f"  moves {p['records_moved']} record(s)"
        table = Table(title=head, title_justify="left")
        table.add_column("field", style="bold")
        table.add_column(f"{p['left']['source']}:{p['left']['external_id']}")
        table.add_column(f"{p['right']['source']}:{p['right']['external_id']}")
        for field in p["left"]:
            if field in ("source", "external_id"):
                continue
            lv, rv = p["left"][field], p["right"][field]
            if lv is None and rv is None:
                continue
            mark = "" if lv == rv else "[yellow]"
            table.add_row(field, f"{mark}{_text(lv)}", f"{mark}{_text(rv)}")
        out.print(table)
    out.print("Decide with `cxhub review decide PAIR --match` or `--non-match`.")


@review.command("decide")
@click.argument("pair", type=int)
@click.option("--match/--non-match", "is_match", default=None,
              help="The two records are the same customer, or they are not.")
@click.option("--by", "decided_by", default=None, help="Who decides (default: your login).")
@click.pass_context
def review_decide(ctx: click.Context, pair: int, is_match: bool | None,
                  decided_by: str | None) -> None:
    """Decide pair PAIR; the next `cxhub resolve` links or separates the two records."""
    if is_match is None:
        fail("say --match or --non-match")
    who = decided_by or _login()
    with open_warehouse(ctx) as wh:
        try:
            result = identity.decide(wh, pair, "match" if is_match else "non_match",
                                     decided_by=who)
        except CxhubError as exc:
            fail(str(exc))
    click.echo(f"pair {result['review_id']}: {result['status']} (by {who}); "
               "run `cxhub resolve` to apply it")


def _login() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "cli"


def _text(value: object) -> str:
    return "" if value is None else str(value)
