"""`cxhub problems discover | list | show | impact | act | state | owners | escalate`"""

from __future__ import annotations

from typing import Any

import click

from cxhub.cli.common import fail, open_warehouse, out, print_json


@click.group()
def problems() -> None:
    """Problems found in the contacts: their cost, owners, actions and measured impact."""


def _input_errors(fn: Any) -> Any:
    """Bad input ends the command with the message naming the field, and nothing written."""
    import functools

    @functools.wraps(fn)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        from cxhub.domain.errors import CxhubError

        try:
            return fn(*args, **kwargs)
        except CxhubError as exc:
            fail(str(exc))
    return wrapped


@problems.command("impact")
@click.argument("problem_id", required=False, type=int)
@click.option("--cause", help="Measure an action on this cause (with --since).")
@click.option("--since", metavar="YYYY-MM-DD", help="The day the action took effect.")
@click.option("--json", "as_json", is_flag=True, help="Print the estimate as JSON.")
@click.pass_context
@_input_errors
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
            result = svc.impact_dict(svc.cause_impact(wh, cause=cause, since=since), cause=cause)
    if as_json:
        print_json(result)
        return
    out.print(f"[bold]{result['cause']}[/] since {result['action_date']}: {result['message']}")
    if result.get("relative_effect") is not None:
        out.print(f"weeks before: {result['weeks_before']} ({result['weeks_left_out']} left out "
                  f"of the fit), weeks after: {result['weeks_after']}; actual "
                  f"{result['actual_per_week']:,.0f} a week, expected "
                  f"{result['expected_per_week']:,.0f}")
    out.print(f"[dim]method: {result['method']}[/]")
