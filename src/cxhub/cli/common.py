"""What every command shares: settings, opening the warehouse, printing errors."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape

from cxhub.domain.errors import CxhubError
from cxhub.settings import Settings
from cxhub.warehouse import Warehouse

console = Console(stderr=True)
out = Console()


def settings_from(ctx: click.Context) -> Settings:
    home = ctx.find_root().params.get("home")
    try:
        return Settings(home=Path(home)) if home else Settings()
    except ValidationError as exc:  # a bad CXHUB_ variable: say which and why, no traceback
        fail("; ".join(str(e["msg"]).removeprefix("Value error, ") for e in exc.errors()))
        raise  # not reached: fail exits


@contextmanager
def open_warehouse(ctx: click.Context) -> Iterator[Warehouse]:
    settings = settings_from(ctx)
    try:
        wh = Warehouse.open(settings.warehouse_path, memory_limit=settings.memory_limit)
    except CxhubError as exc:
        fail(str(exc))
    try:
        yield wh
    finally:
        wh.close()


def say_error(message: str, label: str = "error") -> None:
    """`label: message` on standard error, on one line as written: not wrapped inside a long
    path (a log or a script reads it whole), and brackets in it (a file named `x[0].csv`)
    printed, not taken for markup."""
    console.print(f"[bold red]{label}:[/] {escape(message)}", highlight=False, soft_wrap=True)


def fail(message: str, code: int = 2) -> None:
    say_error(message)
    sys.exit(code)


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


def input_errors(fn: Any) -> Any:
    """A command whose bad input (any CxhubError) ends it with the message, which names the
    field, and exit code 2; nothing is written."""
    import functools

    @functools.wraps(fn)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except CxhubError as exc:
            fail(str(exc))
    return wrapped
