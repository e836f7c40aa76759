"""`cxhub publish --date YYYY-MM-DD`"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import click

from cxhub.cli.common import console, fail, open_warehouse, print_json, settings_from
from cxhub.domain.errors import CxhubError


@click.command()
@click.option("--date", "day", type=click.DateTime(formats=["%Y-%m-%d"]),
              help="The day to publish (UTC), YYYY-MM-DD. Default: yesterday.")
@click.option("--note", help="Why this revision was published (shown with the report). "
                             "Default for a changed day: 'correction: late data'.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_context
def publish(ctx: click.Context, day: datetime | None, note: str | None, as_json: bool) -> None:
    """Freeze a day's public figures as a daily report (/reports/YYYY-MM-DD).

    The figures go through the metrics catalogue and small counts are suppressed. Publishing a
    day again stores a new revision only when its figures changed (late data); a published
    revision is never modified. `cxhub serve` publishes yesterday's report by itself shortly
    after midnight UTC; while it runs it holds the warehouse, so stop it to publish by hand.
    """
    from cxhub.services import reports

    settings = settings_from(ctx)
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
