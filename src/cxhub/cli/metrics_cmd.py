"""`cxhub metrics NAME --from DATE --to DATE --by day,channel [--compare ...] [--json]`.

The catalogue (and Ibis with it) is imported when the command runs, not when `cxhub` starts:
it would add a second to every other command.
"""

from __future__ import annotations

import textwrap
from datetime import datetime, time, timedelta
from typing import TYPE_CHECKING, Any

import click
from rich.table import Table
from rich.text import Text

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
    from cxhub.services.metrics import compute as metric_service

    if refresh:
        from cxhub.services.metrics import ready_tables

        with open_warehouse(ctx) as wh:
            for step in ready_tables.refresh(wh):  # on stderr: stdout may be --json
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


WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
COMPARED = ("previous", "last_year", "target")


def _print_catalogue(catalogue: list[dict[str, Any]], as_json: bool) -> None:
    """One metric per entry: its name and what it is on one line, the description wrapped
    below it (a table squeezed the descriptions to a word per line at 80 columns)."""
    if as_json:
        print_json(catalogue)
        return
    for m in catalogue:
        target = m["target"]
        if isinstance(target, dict):
            target = ", ".join(f"{k} {v:g}" for k, v in target.items())
        elif isinstance(target, float):
            target = f"{target:g}"
        better = {"higher": "higher is better", "lower": "lower is better"}.get(m["better"])
        facts = [m["unit"].replace("_", " "), *([better] if better else []),
                 *([f"target {target}"] if target is not None else [])]
        line = Text.assemble((m["name"], "bold"), f"  {m['label']} ({', '.join(facts)})")
        out.print(line)
        out.print(textwrap.fill(m["description"], width=max(out.width, 40) - 1,
                                initial_indent="    ", subsequent_indent="    ") + "\n",
                  highlight=False, markup=False)
    out.print("Dimensions of every metric: cxhub metrics NAME --by day,channel; "
              "customer segments: segment (lifetime-value band), persona, portfolio, "
              "rfm_segment.", highlight=False)


def _cell(key: str, value: Any) -> str:
    if value is None:
        return "–"
    if key == "weekday":
        return WEEKDAYS[int(value)]
    if key == "period" and str(value).endswith("T00:00:00"):
        return str(value)[:10]  # a day, week or month: the date says it
    return str(value)


def _compared_cell(metric: Metric, row: dict[str, Any], key: str) -> tuple[str, str]:
    """The compared figure and its caveat: a period the data does not cover reads `no data`,
    one it covers in part is marked with * (explained under the table)."""
    from cxhub.services.metrics.compute import coverage_note

    caveat = coverage_note(row.get(f"{key}_coverage"))
    if row.get(key) is None:
        return ("no data" if caveat else "–"), caveat
    return metric.format(row[key]) + ("*" if caveat else ""), caveat


def _range_text(start: str, end: str) -> str:
    """'2024-03-01 to 2024-03-31' for whole days (the last one included), else the instants
    with the end excluded."""
    t0, t1 = datetime.fromisoformat(start), datetime.fromisoformat(end)
    if t0.time() == t1.time() == time():
        return f"{t0:%Y-%m-%d} to {t1 - timedelta(days=1):%Y-%m-%d}"
    return f"{t0:%Y-%m-%d %H:%M} to {t1:%Y-%m-%d %H:%M} (excluded)"


def _print_rows(result: dict[str, Any], metric: Metric) -> None:
    rows = result["rows"]
    keys = [k for k in (rows[0] if rows else {})
            if k not in ("value", "n") and not k.endswith("_coverage")]
    compared = [k for k in COMPARED if k in keys]
    columns = [k for k in keys if k not in compared]
    table = Table(*columns, metric.label, "n", *compared,
                  title=f"{metric.label}, {_range_text(result['from'], result['to'])}")
    partial: list[str] = []
    for r in rows:
        cells = [_cell(k, r[k]) for k in columns]
        shown = []
        for k in compared:
            text, caveat = _compared_cell(metric, r, k)
            shown.append(text)
            if text.endswith("*"):
                where = ", ".join(f"{c} {_cell(c, r[c])}" for c in columns)
                partial.append(f"{k}{' for ' + where if where else ''}: {caveat}")
        table.add_row(*cells, metric.format(r["value"]), f"{r['n']:,}", *shown)
    out.print(table)
    if partial:
        out.print("* the data covers only part of the compared period, so the figures are "
                  "not comparable:", highlight=False)
        for line in partial[:10]:
            out.print(f"  {line}", highlight=False)
        if len(partial) > 10:
            out.print(f"  ... and {len(partial) - 10:,} more", highlight=False)
    if any(r.get(f"{k}_coverage", {}).get("status") == "none" for r in rows for k in compared):
        out.print("no data: the data holds nothing for the compared period.", highlight=False)
