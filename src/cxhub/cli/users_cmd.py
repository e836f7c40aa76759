"""`cxhub users ...`: the people who log in to the dashboard at /app."""

from __future__ import annotations

import sys

import click
from rich.table import Table

from cxhub.cli.common import fail, open_warehouse, out, print_json
from cxhub.services.access import users as user_service


@click.group()
def users() -> None:
    """Create, list and disable dashboard users (roles: admin, analyst, agent, viewer)."""


@users.command("create")
@click.argument("username")
@click.option("--role", required=True, type=click.Choice(user_service.ROLES),
              help="admin (manages users), analyst (everything, labels contacts), agent "
                   "(contacts and own queue), viewer (aggregates only).")
@click.option("--password-stdin", is_flag=True,
              help="Read the password from the first line of standard input (for scripts).")
@click.pass_context
def users_create(ctx: click.Context, username: str, role: str, password_stdin: bool) -> None:
    """Create a user. Asks for the password twice unless --password-stdin is given."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    with open_warehouse(ctx) as wh:
        try:
            user = user_service.create_user(wh, username=username, password=password, role=role)
        except user_service.UserError as exc:
            fail(str(exc))
            return
    click.echo(f"user {user.username} created ({user.role}); log in at /app/login", err=True)


@users.command("list")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def users_list(ctx: click.Context, as_json: bool) -> None:
    """List users and their roles (never their password hashes)."""
    with open_warehouse(ctx) as wh:
        found = user_service.list_users(wh)
    if as_json:
        print_json([{"user_id": u.user_id, "username": u.username, "role": u.role,
                     "created_at": u.created_at, "disabled_at": u.disabled_at} for u in found])
        return
    table = Table("id", "username", "role", "created", "disabled")
    for u in found:
        table.add_row(str(u.user_id), u.username, u.role, f"{u.created_at:%Y-%m-%d %H:%M}",
                      f"{u.disabled_at:%Y-%m-%d %H:%M}" if u.disabled_at else "")
    out.print(table)


@users.command("disable")
@click.argument("username")
@click.pass_context
def users_disable(ctx: click.Context, username: str) -> None:
    """Disable a user: they cannot log in, and their open sessions end at once."""
    with open_warehouse(ctx) as wh:
        if not user_service.disable_user(wh, username):
            fail(f"no user {username!r}")
    click.echo(f"user {username} disabled")
