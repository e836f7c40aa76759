"""`cxhub metrics NAME --from DATE --to DATE --by day,channel [--compare ...] [--json]`.

The catalogue (and Ibis with it) is imported when the command runs, not when `cxhub` starts:
it would add a second to every other command.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click
from rich.table import Column, Table

from cxhub.cli.common import console, fail, open_warehouse, out, print_json
from cxhub.domain.errors import CxhubError

if TYPE_CHECKING:
    from cxhub.metrics.definitions import Metric


def _filters(items: tuple[str, ...]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip() or not value.strip():
            fail(f"--filter {item!r}: expected DIMENSION=VALUE, e.g. channel=phone")
        found.setdefault(key.strip(), []).extend(v.strip() for v in value.split(",") if v.strip())
    return found


@click.command("metrics")
@click.argument("name", required=False)
@click.option("--from", "start", metavar="DATE",
              help="First day (2024-03-01) or instant (2024-03-01T09:00). "
                   "Default: 30 days before --to.")
@click.option("--to", "end", metavar="DATE",
              help="Last day, included (2024-03-31), or an instant, excluded. Default: today.")
@click.option("--by", default="", metavar="PERIOD_OR_DIMENSION",
              help="A period (15min, hour, day, week, month) and/or dimensions (channel, "
                   "category, cause, team, segment ...), comma-separated: --by day,channel")
@click.option("--compare", default="", metavar="LIST",
              help="Comma-separated: previous, last_year, target.")
@click.option("--filter", "filter_items", multiple=True, metavar="DIMENSION=VALUE",
              help="Only these contacts, e.g. --filter channel=phone,chat; repeatable.")
@click.option("--json", "as_json", is_flag=True,
              help='Print a JSON list of {"period", <dimension>, "value", "n", ...} objects.')
@click.option("--list", "list_only", is_flag=True, help="List the metric catalogue.")
@click.option("--refresh", is_flag=True,
              help="First bring the ready-made tables (current labels, repeat gaps, hourly and "
                   "daily sums) up to date; `cxhub serve` does it by itself. Alone, only that.")
@click.pass_context
def metrics(ctx: click.Context, name: str | None, start: str | None, end: str | None, by: str,
            compare: str, filter_items: tuple[str, ...], as_json: bool,
            list_only: bool, refresh: bool) -> None:
    """Compute a metric of the catalogue by period and dimension (`--list` shows them all).

    Example: cxhub metrics service_level --from 2024-03-01 --to 2024-03-31 --by week,channel
    --compare previous,target
    """
    from cxhub.services import metrics as metric_service

    if refresh:
        from cxhub.services import derived

        with open_warehouse(ctx) as wh:
            for step in derived.refresh(wh):  # on stderr: stdout may be --json
                console.print(f"{step['step']}: {'rebuilt' if step['rebuilt'] else 'updated'},"
                              f" {step['changed']:,} changed", highlight=False)
        if not name:
            return
    if list_only or not name:
        _print_catalogue(metric_service.catalogue(), as_json)
        return
    filters = _filters(filter_items)
    with open_warehouse(ctx) as wh:
        try:
            result = metric_service.report(wh, name, start=start, end=end, by=by,
                                           compare=compare, filters=filters)
        except CxhubError as exc:
            fail(str(exc))
    if as_json:
        print_json(result["rows"])
        return
    _print_rows(result, metric_service.definition(result["metric"]["name"]))


def _print_catalogue(catalogue: list[dict[str, Any]], as_json: bool) -> None:
    if as_json:
        print_json(catalogue)
        return
    table = Table("label", "unit", "better", "target", "description")
    table.columns.insert(0, Column("metric", no_wrap=True))
    for m in catalogue:
        target = m["target"]
        if isinstance(target, dict):
            target = ", ".join(f"{k} {v:g}" for k, v in target.items())
        table.add_row(m["name"], m["label"], m["unit"], m["better"],
                      "" if target is None else f"{target:g}" if isinstance(target, float)
                      else str(target), m["description"])
    out.print(table)


def _print_rows(result: dict[str, Any], metric: Metric) -> None:
    rows = result["rows"]
    keys = [k for k in (rows[0] if rows else {}) if k not in ("value", "n")]
    compared = [k for k in ("previous", "last_year", "target") if k in keys]
    columns = [k for k in keys if k not in compared]
    table = Table(*columns, metric.label, "n", *compared,
                  title=f"{metric.label}, {result['from']} to {result['to']} (excluded)")
    for r in rows:
        cells = ["–" if r[k] is None else str(r[k]) for k in columns]
        table.add_row(*cells, metric.format(r["value"]), f"{r['n']:,}",
                      *(metric.format(r[k]) for k in compared))
    out.print(table)
