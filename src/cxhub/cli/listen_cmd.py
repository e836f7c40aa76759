"""`cxhub listen detect | alerts | route`"""

from __future__ import annotations

from typing import Any

import click
from rich.table import Table

from cxhub.cli.common import console, open_warehouse, out, print_json, settings_from


@click.group()
def listen() -> None:
    """Social listening: volume spikes per cause and topic, alerts, mentions routed to contacts."""


@listen.command("detect")
@click.option("--webhook", metavar="URL",
              help="Send new alerts to this URL (default: CXHUB_ALERT_WEBHOOK, if set).")
@click.option("--no-webhook", is_flag=True, help="Do not send alerts anywhere.")
@click.option("--dry-run", is_flag=True, help="Report the spikes without storing alerts.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.pass_context
def detect(ctx: click.Context, webhook: str | None, no_webhook: bool, dry_run: bool,
           as_json: bool) -> None:
    """Find spikes in the hourly volume of mentions and contacts and store them as alerts.

    Each hour is compared with what the weeks before it lead one to expect for that hour of
    that weekday; a spike already stored is updated, not raised again. See docs/listening.md.
    """
    url = None if no_webhook else (webhook or settings_from(ctx).alert_webhook)
    with open_warehouse(ctx) as wh:
        from cxhub.services.listening import detect as listening  # scipy: imported only when used

        report = listening.detect(wh, webhook_url=url, store=not dry_run)
    if as_json:
        print_json(report.to_dict())
        return
    if not report.series:
        console.print("Nothing to listen to: no mentions or contacts in the warehouse.")
        return
    table = Table("kind", "dimension", "value", "from", "alert at", "seen", "expected", "terms")
    for s in report.spikes:
        table.add_row(s["kind"], s["dimension"], s["value"], f"{s['window_start']:%Y-%m-%d %H:%M}",
                      f"{s['detected_at']:%Y-%m-%d %H:%M}", f"{s['observed']:g}",
                      f"{s['expected']:.1f}", ", ".join(t["term"] for t in s["terms"][:4]))
    out.print(table)
    out.print(f"{report.series} series over {report.hours:,} hours; {len(report.spikes)} spikes, "
              f"{len(report.new_alerts)} new alerts, {report.updated_alerts} updated")
    if report.webhook:
        w = report.webhook
        out.print(f"webhook: {len(w.delivered)} delivered, {len(w.failed)} failed, "
                  f"{len(w.skipped)} skipped as history")


@listen.command("alerts")
@click.option("--limit", default=50, show_default=True, help="How many, newest first.")
@click.option("--status", help="Only alerts with this status (open ...).")
@click.option("--json", "as_json", is_flag=True, help="Print the alerts as JSON.")
@click.pass_context
def alerts(ctx: click.Context, limit: int, status: str | None, as_json: bool) -> None:
    """List the stored alerts, newest first, with their webhook delivery."""
    with open_warehouse(ctx) as wh:
        from cxhub.services.listening import detect as listening

        rows = listening.list_alerts(wh, limit=limit, status=status)
    if as_json:
        print_json(rows)
        return
    table = Table("id", "kind", "dimension", "value", "from", "to", "seen", "expected",
                  "status", "webhook")
    for a in rows:
        table.add_row(str(a["alert_id"]), a["kind"], a["dimension"], a["value"],
                      f"{a['window_start']:%Y-%m-%d %H:%M}", f"{a['window_end']:%Y-%m-%d %H:%M}",
                      f"{a['observed']:g}", f"{a['expected']:.1f}", a["status"] or "",
                      _webhook(a))
    out.print(table)


def _webhook(a: dict[str, Any]) -> str:
    if not a["webhook_status"]:
        return ""
    return f"{a['webhook_status']} ({a['webhook_attempts']} tries)"


@listen.command("route")
@click.option("--max-age-days", default=7, show_default=True,
              help="Only mentions this recent (before now, or the newest mention).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.pass_context
def route(ctx: click.Context, max_age_days: int, as_json: bool) -> None:
    """Turn mentions that need service (a problem or complaint the brand has not answered)
    into contacts in the social queue, linked to the mention. Running it again adds nothing."""
    import datetime as dt

    from cxhub.analytics.listening.routing import RoutingRule
    from cxhub.services.listening import route as listening_route

    with open_warehouse(ctx) as wh:
        report = listening_route.route_mentions(
            wh, rule=RoutingRule(max_age=dt.timedelta(days=max_age_days)))
    if as_json:
        print_json(report.to_dict())
        return
    out.print(f"{report.candidates} mentions need service; {len(report.created)} new contacts, "
              f"{report.linked} new links (as of {report.as_of})")
