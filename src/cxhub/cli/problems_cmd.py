"""`cxhub problems discover | list | show | impact | act | state | owners | escalate`"""

from __future__ import annotations

from typing import Any

import click

from cxhub.cli.common import fail, input_errors, open_warehouse, out, print_json


@click.group()
def problems() -> None:
    """Problems found in the contacts: their cost, owners, actions and measured impact."""


@problems.command("impact")
@click.argument("problem_id", required=False, type=int)
@click.option("--cause", help="Measure an action on this cause (with --since).")
@click.option("--since", metavar="YYYY-MM-DD", help="The day the action took effect.")
@click.option("--json", "as_json", is_flag=True, help="Print the estimate as JSON.")
@click.pass_context
@input_errors
def impact(ctx: click.Context, problem_id: int | None, cause: str | None, since: str | None,
           as_json: bool) -> None:
    """What an action changed: weekly contacts of its cause after it against a counterfactual
    from before it and from the other causes, with a 95% interval.

    Give PROBLEM_ID to measure that problem's last action, or --cause and --since for any
    date. Says when the data cannot tell yet (too few weeks after, too few contacts).
    """
    if problem_id is None and not (cause and since):
        fail("give a PROBLEM_ID, or both --cause and --since")
    with open_warehouse(ctx) as wh:
        from cxhub.services.problems import impact as svc

        if problem_id is not None:
            result = svc.problem_impact(wh, problem_id)
        else:
            assert cause and since
            result = svc.impact_dict(svc.cause_impact(wh, cause=cause, since=since), cause=cause,
                                     outcomes=svc.outcomes(wh, cause=cause, since=since))
    if as_json:
        print_json(result)
        return
    out.print(f"[bold]{result['cause']}[/] since {result['action_date']}: {result['message']}")
    if result.get("relative_effect") is not None:
        out.print(f"weeks before: {result['weeks_before']} ({result['weeks_left_out']} left out "
                  f"of the fit), weeks after: {result['weeks_after']}; actual "
                  f"{result['actual_per_week']:,.0f} a week, expected "
                  f"{result['expected_per_week']:,.0f}")
    for _name, o in (result.get("outcomes") or {}).items():
        if o.get("before") is not None or o.get("after") is not None:
            out.print(f"{o['meaning']}: {_share(o.get('before'))} in the 8 weeks before, "
                      f"{_share(o.get('after'))} after")
    out.print(f"[dim]method: {result['method']}[/]")


def _share(value: float | None) -> str:
    return "–" if value is None else f"{value:.1%}"


def _home(ctx: click.Context) -> Any:
    from cxhub.cli.common import settings_from

    return settings_from(ctx).home


@problems.command("discover")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.pass_context
@input_errors
def discover(ctx: click.Context, as_json: bool) -> None:
    """Group contacts into problems (from listening alerts and causes above their baseline),
    link their contacts, assign owners from ownership.yaml and compute cost and priority."""
    with open_warehouse(ctx) as wh:
        from cxhub.services.problems import discovery, figures, ownership, workflow

        report = discovery.discover(wh)
        own = ownership.load(_home(ctx))
        figures.refresh(wh, _home(ctx))
        assigned = workflow.assign(wh, own)
    if as_json:
        print_json({**report.to_dict(), "assigned": assigned})
        return
    out.print(f"{report.episodes} episodes of extra demand; {len(report.created)} new problems, "
              f"{len(report.updated)} found again; {report.linked:,} contacts and "
              f"{report.mentions_linked:,} public posts matched; "
              f"{len(assigned)} assigned to owners")


@problems.command("list")
@click.option("--state", "states", multiple=True, help="Only problems in this state.")
@click.option("--json", "as_json", is_flag=True, help="Print the problems as JSON.")
@click.pass_context
@input_errors
def list_(ctx: click.Context, states: tuple[str, ...], as_json: bool) -> None:
    """Problems ranked by priority (handling cost + revenue at risk), with how each figure was
    computed (--json)."""
    from rich.table import Table

    with open_warehouse(ctx) as wh:
        from cxhub.services.problems import figures

        rows = figures.refresh(wh, _home(ctx))
        from cxhub.services.problems import store

        info = {p["problem_id"]: p for p in store.problems(wh)}
    rows = [dict(r, state=info[r["problem_id"]]["status"], owner=info[r["problem_id"]]["owner"])
            for r in rows if not states or info[r["problem_id"]]["status"] in states]
    if as_json:
        print_json(rows)
        return
    table = Table("id", "problem", "state", "priority", "contacts", "posts", "customers",
                  "repeats", "cost", "revenue at risk", "owner")
    for r in rows:
        table.add_row(str(r["problem_id"]), r["title"], r["state"], r["priority"],
                      f"{r['contacts']:,}", f"{r.get('mentions', 0):,}",
                      f"{r['customers_affected']:,}",
                      f"{r['repeat_contacts']:,}", f"{r['handling_cost']:,.0f}",
                      f"{r['revenue_at_risk']:,.0f}", r["owner"] or "")
    out.print(table)


@problems.command("show")
@click.argument("problem_id", type=int)
@click.pass_context
@input_errors
def show(ctx: click.Context, problem_id: int) -> None:
    """One problem: its figures, state history and actions, as JSON."""
    with open_warehouse(ctx) as wh:
        from cxhub.services.problems import store, workflow

        p = store.problem(wh, problem_id)
        print_json({**p, "events": store.events(wh, problem_id),
                    "actions": workflow.actions(wh, problem_id=problem_id)})


@problems.command("new")
@click.option("--contact", "contact_ids", type=int, multiple=True, required=True,
              help="A contact id (repeat the option).")
@click.option("--title", required=True)
@click.option("--cause")
@click.option("--by", "actor", default="cli", show_default=True, help="Who makes it.")
@click.pass_context
@input_errors
def new(ctx: click.Context, contact_ids: tuple[int, ...], title: str, cause: str | None,
        actor: str) -> None:
    """Make a problem by hand from selected contacts."""
    with open_warehouse(ctx) as wh:
        from cxhub.services.problems import discovery

        pid = discovery.create_from_contacts(wh, contact_ids=contact_ids, title=title,
                                             cause=cause, actor=actor)
    out.print(f"problem {pid}")


@problems.command("state")
@click.argument("problem_id", type=int)
@click.argument("state")
@click.option("--note")
@click.option("--due", metavar="YYYY-MM-DD", help="Due date of a planned fix.")
@click.option("--reason", help="Why it will not be fixed.")
@click.option("--by", "actor", default="cli", show_default=True)
@click.option("--role", default="admin", show_default=True,
              help="The role the change is made with (admin, analyst may).")
@click.pass_context
@input_errors
def state(ctx: click.Context, problem_id: int, state: str, note: str | None, due: str | None,
          reason: str | None, actor: str, role: str) -> None:
    """Move a problem on: open, acknowledged, fix_planned (--due), fixed, verified, or
    wont_fix (--reason). Skipping a state is refused."""
    with open_warehouse(ctx) as wh:
        from cxhub.services.problems import workflow

        r = workflow.change_state(wh, problem_id, state, actor=actor, role=role, note=note,
                                  due=due, reason=reason)
    out.print(f"problem {problem_id}: {r['from']} -> {r['state']}")


@problems.command("act")
@click.option("--problem", "problem_id", type=int, help="The problem acted on.")
@click.option("--cause", help="The cause acted on (when no problem).")
@click.option("--kind", type=click.Choice(["fix", "process_change", "help_content",
                                           "communication"]), default="fix", show_default=True)
@click.option("--title", required=True, help="What was done.")
@click.option("--date", "day", required=True, metavar="YYYY-MM-DD", help="When it took effect.")
@click.option("--by", "actor", default="cli", show_default=True)
@click.pass_context
@input_errors
def act(ctx: click.Context, problem_id: int | None, cause: str | None, kind: str, title: str,
        day: str, actor: str) -> None:
    """Record an action taken (never a future one); measure it with `problems impact`."""
    with open_warehouse(ctx) as wh:
        from cxhub.services.problems import workflow

        aid = workflow.record_action(wh, title=title, kind=kind, date=day, actor=actor,
                                     role="admin", problem_id=problem_id, cause=cause)
    out.print(f"action {aid}")


@problems.command("escalate")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
@input_errors
def escalate(ctx: click.Context, as_json: bool) -> None:
    """Send the reminders and escalations due now (ownership.yaml: deadlines, notify)."""
    with open_warehouse(ctx) as wh:
        from cxhub.services.problems import escalation, ownership, store

        own = ownership.load(_home(ctx))
        new = escalation.check(wh, own, now=store.utcnow())
        sent = escalation.deliver(wh, own)
    if as_json:
        print_json({"new": new, **sent})
        return
    out.print(f"{len(new)} new notices; {sent['sent']} sent, {sent['failed']} failed")
