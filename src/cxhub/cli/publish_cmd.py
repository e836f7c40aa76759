"""`cxhub publish [--date YYYY-MM-DD | --since YYYY-MM-DD]`"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from cxhub.cli.common import console, fail, open_warehouse, print_json, settings_from
from cxhub.domain.errors import CxhubError


@click.command()
@click.option("--date", "day", type=click.DateTime(formats=["%Y-%m-%d"]),
              help="The day to publish (UTC), YYYY-MM-DD. Default: yesterday.")
@click.option("--since", type=click.DateTime(formats=["%Y-%m-%d"]),
              help="Back-fill: publish every day from this one (UTC) to yesterday, each as "
                   "published just after its own midnight.")
@click.option("--note", help="Why this revision was published (shown with the report). "
                             "Default for a changed day: 'correction: late data'.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_context
def publish(ctx: click.Context, day: datetime | None, since: datetime | None, note: str | None,
            as_json: bool) -> None:
    """Freeze a day's public figures as a daily report (/reports/YYYY-MM-DD).

    The figures go through the metrics catalogue and small counts are suppressed. Publishing a
    day again stores a new revision only when its figures changed (late data); a published
    revision is never modified. `--since` back-fills a year of data in one go: a day's figures
    use only records created by its end, so each equals the report of that day.
    `cxhub serve` publishes yesterday's report by itself shortly after midnight UTC; while it
    runs it holds the warehouse, so stop it to publish by hand.
    """
    from cxhub.services.public import reports

    if day and since:
        fail("give --date or --since, not both")
    settings = settings_from(ctx)
    if since:
        _backfill(ctx, since.date(), settings.min_public_count, as_json)
        return
    when: date = day.date() if day else datetime.now(UTC).date() - timedelta(days=1)
    with open_warehouse(ctx) as wh:
        try:
            done = reports.publish(wh, when, min_count=settings.min_public_count, note=note)
        except CxhubError as exc:
            fail(str(exc))
    r = done.report
    if as_json:
        print_json({"date": r.report_date.isoformat(), "revision": r.revision,
                    "created": done.created, "note": r.note,
                    "published_at": r.published_at.isoformat()})
    elif done.created:
        console.print(f"published the report of {r.report_date} as revision {r.revision}"
                      + (f" ({r.note})" if r.note else ""))
    else:
        console.print(f"the report of {r.report_date} is unchanged: revision {r.revision} "
                      "stays the latest")


def _backfill(ctx: click.Context, since: date, min_count: int, as_json: bool) -> None:
    from cxhub.services.public import reports

    last = datetime.now(UTC).date() - timedelta(days=1)
    total = max(0, (last - since).days + 1)
    columns = (TextColumn("publishing {task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn())
    with open_warehouse(ctx) as wh, Progress(*columns, console=console, transient=True,
                                             disable=as_json) as bar:
        task = bar.add_task(str(since), total=total)

        def step(day: date, _: reports.Published) -> None:
            bar.update(task, advance=1, description=str(day))

        try:
            done = reports.backfill(wh, since, last, min_count=min_count, on_day=step)
        except CxhubError as exc:
            fail(str(exc))
            return
    created = sum(d.created for d in done)
    if as_json:
        print_json({"since": since.isoformat(), "until": last.isoformat(), "days": len(done),
                    "created": created})
        return
    console.print(f"{len(done)} days from {since} to {last}: {created} reports published, "
                  f"{len(done) - created} unchanged")
