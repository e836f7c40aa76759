"""`cxhub ingest FORMAT PATH...`"""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

import click
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from cxhub.cli.common import console, open_warehouse, out, print_json, say_error
from cxhub.ingest.mapping import builtin_formats
from cxhub.services.records.files import IngestReport, ingest_paths


@click.command()
@click.argument("format")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--source", help="Name of the system the records come from (e.g. crm, billing).")
@click.option("--kind", help="For the generic format: the record kind (contacts, surveys ...).")
@click.option("--encoding", help="The files' encoding when it is not UTF-8 (e.g. latin-1).")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.pass_context
def ingest(
    ctx: click.Context,
    format: str,
    paths: tuple[Path, ...],
    source: str | None,
    kind: str | None,
    encoding: str | None,
    as_json: bool,
) -> None:
    """Load files (CSV, Parquet, JSON Lines) into the warehouse.

    FORMAT is a built-in format (cfpb, twcs, anonymous-bank, febrl, cdnow, generic) or the path
    of your own mapping YAML (see docs/mappings.md). Bad rows are kept in quarantine with file,
    line, field and reason; the good rows load. Loading the same file again changes nothing.
    Exits with 2 when a file could not be read at all.
    """
    with open_warehouse(ctx) as wh:
        report = _run_with_progress(
            lambda on_file, on_phase: ingest_paths(
                wh, format, list(paths), source=source, kind=kind, encoding=encoding,
                on_file=on_file, on_phase=on_phase,
            ),
            wh.writer.progress,
            quiet=as_json,
        )
    if as_json:
        print_json(report.to_dict())
    else:
        _print_report(report)
    if report.failed:
        sys.exit(2)


def _run_with_progress(run, progress_of, *, quiet: bool) -> IngestReport:  # type: ignore[no-untyped-def]
    """Run the load in a thread; show which file and phase, and DuckDB's own percentage."""
    state = {"file": "", "phase": "starting"}
    result: dict[str, object] = {}

    def target() -> None:
        try:
            result["report"] = run(
                lambda p: state.update(file=p.name, phase="reading"),
                lambda ph: state.update(phase=ph),
            )
        except BaseException as exc:  # re-raised in the main thread
            result["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    columns = (SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
               TextColumn("{task.percentage:>3.0f}%"), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True, disable=quiet) as bar:
        task = bar.add_task("loading", total=100)
        thread.start()
        while thread.is_alive():
            pct = progress_of()
            bar.update(task, description=f"{state['file']}: {state['phase']}",
                       completed=max(pct, 0))
            time.sleep(0.1)
    if "error" in result:
        raise result["error"]  # type: ignore[misc]
    return result["report"]  # type: ignore[return-value]


def _print_report(report: IngestReport) -> None:
    # The file's kind and source under its name: seven columns did not fit 80 columns, and
    # rich cut the names and the headers ("quarantin…").
    table = Table(title="cxhub ingest", show_lines=False)
    table.add_column("file", overflow="fold")
    for col in ("read", "loaded", "already present", "quarantined"):
        table.add_column(col, justify="right", min_width=len(col) if col != "already present"
                         else 7)
    for f in report.files:
        origin = ("source from each row" if f.source.startswith("(")
                  else f"from {f.source}")  # "(from file)": the file names each row's source
        table.add_row(f"{Path(f.path).name}\n{f.kind}, {origin}", f"{f.rows_read:,}",
                      f"{f.loaded:,}", f"{f.existing:,}", f"{f.quarantined:,}")
    if report.files:
        out.print(table)
    for f in report.files:  # two records under one id: only the first was loaded
        if f.repeated_ids:
            out.print(f"[bold]{f.repeated_ids:,} id(s) given to different records in "
                      f"{Path(f.path).name}; the first of each was loaded:[/]")
            for example in f.repeated_examples[:3]:
                out.print(f"  e.g. {example}", highlight=False, markup=False)
    reasons = report.top_reasons
    if reasons:
        out.print("[bold]Most common reasons for quarantine:[/]")
        for reason, n in reasons:
            out.print(f"  {n:>7,}  {reason}", highlight=False)
        for f in report.files:
            for example in f.examples[:3]:
                out.print(f"  e.g. {example}", highlight=False, markup=False)
        out.print("See them all with `cxhub quarantine`.")
    for path, why in report.failed.items():
        # A refusal of the warehouse (a full disk) names the warehouse; say which file too.
        why = why if why.startswith(path) else f"{path}: {why}"
        say_error(why, "not loaded")


def formats_help() -> str:
    return ", ".join(builtin_formats())
