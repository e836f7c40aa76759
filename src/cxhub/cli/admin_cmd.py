"""`cxhub keys ...`, `cxhub status`, `cxhub quarantine`."""

from __future__ import annotations

import time
from pathlib import Path

import click
from rich.table import Table

from cxhub.cli.common import fail, open_warehouse, out, print_json, settings_from
from cxhub.domain.canonical import RECORD_KINDS
from cxhub.domain.errors import WarehouseBusyError
from cxhub.services.access import keys as key_service
from cxhub.warehouse import Warehouse


@click.group()
def keys() -> None:
    """Create, list and revoke API keys."""


@keys.command("create")
@click.option("--scope", "scopes", multiple=True, required=True,
              type=click.Choice(key_service.SCOPES), help="ingest, read or admin; repeatable.")
@click.option("--name", default="", help="Who or what the key is for.")
@click.pass_context
def keys_create(ctx: click.Context, scopes: tuple[str, ...], name: str) -> None:
    """Create a key. It is printed once: store it; cxhub keeps only its hash."""
    with open_warehouse(ctx) as wh:
        key, token = key_service.create_key(wh, scopes=list(scopes), name=name)
    click.echo(token)
    click.echo(f"key {key.key_id} ({', '.join(key.scopes)}) created; send it as "
               "'Authorization: Bearer <key>' or 'X-API-Key: <key>'", err=True)


@keys.command("list")
@click.pass_context
def keys_list(ctx: click.Context) -> None:
    """List keys (never their secrets)."""
    with open_warehouse(ctx) as wh:
        table = Table("id", "name", "prefix", "scopes", "revoked")
        for k in key_service.list_keys(wh):
            table.add_row(str(k.key_id), k.name, k.prefix, ", ".join(k.scopes),
                          "yes" if k.revoked else "")
        out.print(table)


@keys.command("revoke")
@click.argument("key_id", type=int)
@click.pass_context
def keys_revoke(ctx: click.Context, key_id: int) -> None:
    """Revoke a key by its id (also while `cxhub serve` runs: the server applies it)."""
    settings = settings_from(ctx)
    try:
        wh = Warehouse.open(settings.warehouse_path, memory_limit=settings.memory_limit)
    except WarehouseBusyError:
        _revoke_through_server(settings.home, key_id)
        return
    with wh:
        if not key_service.revoke_key(wh, key_id):
            fail(f"no active key with id {key_id}")
    click.echo(f"key {key_id} revoked")


def _revoke_through_server(home: Path, key_id: int, wait: float = 10.0) -> None:
    request = key_service.request_revocation(home, key_id)
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        answer = key_service.answer_of(request)
        if answer == "revoked":
            click.echo(f"key {key_id} revoked by the running server")
            return
        if answer is not None:
            fail(f"the running server answered: {answer} (id {key_id})")
        time.sleep(0.2)
    request.unlink(missing_ok=True)
    fail("the warehouse is open in another process that did not take the request within "
         f"{wait:.0f} s (a `cxhub serve` of an older cxhub?); key {key_id} is NOT revoked")


@click.command()
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def status(ctx: click.Context, as_json: bool) -> None:
    """The warehouse file, its schema version and the rows in every table."""
    with open_warehouse(ctx) as wh:
        # Every table of the file: the records first, then the rest by name.
        names = [r[0] for r in wh.read(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' "
            "AND table_catalog = current_database() AND table_type = 'BASE TABLE'")]
        ordered = [t for t in RECORD_KINDS if t in names] + sorted(
            t for t in names if t not in RECORD_KINDS)
        counts = {t: wh.read_one(f'SELECT count(*) FROM "{t}"')[0]  # type: ignore[index]
                  for t in ordered}
        info = {"warehouse": str(wh.path), "schema_version": wh.version, "rows": counts}
    if as_json:
        print_json(info)
        return
    out.print(f"warehouse {info['warehouse']} (schema version {info['schema_version']})")
    table = Table("table", "rows")
    for t, n in counts.items():
        table.add_row(t, f"{n:,}")
    out.print(table)


@click.command()
@click.option("--batch", type=int, help="Only this ingest batch.")
@click.option("--limit", type=int, default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def quarantine(ctx: click.Context, batch: int | None, limit: int, as_json: bool) -> None:
    """Show quarantined rows: file, line, field, value and reason."""
    where, params = ("WHERE batch_id = ?", [batch]) if batch else ("", [])
    with open_warehouse(ctx) as wh:
        rows = wh.read(
            f"SELECT batch_id, file, line, field, value, reason FROM quarantine {where} "
            f"ORDER BY batch_id, file, line LIMIT {int(limit)}", params)
    if as_json:
        print_json([dict(zip(("batch", "file", "line", "field", "value", "reason"), r, strict=True))
                    for r in rows])
        return
    if not rows:
        out.print(f"No rows in quarantine{f' for batch {batch}' if batch else ''}: every row "
                  "read so far loaded.", highlight=False)
        return
    table = Table("batch", "file:line", "field", "value", "reason")
    for b, f, line, fld, val, why in rows:
        table.add_row(str(b), f"{f}:{line}", fld or "(row)", (val or "")[:40], why)
    out.print(table)
