"""The daily report: a day's public figures, frozen.

`publish` computes a day's figures through the metrics catalogue, suppresses small counts and
stores them as revision 1. Publishing the same day again stores nothing while the figures are
the same; when late data changed them it stores a new revision with a note ("correction: late
data" unless the caller gives one). A stored revision is never updated or deleted: readers of
`/reports/D` see the latest, and every earlier one stays reachable.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from xml.etree import ElementTree as ET

import duckdb

from cxhub.domain.csv_cells import csv_cell
from cxhub.domain.errors import CxhubError
from cxhub.services.public.figures import actions, daily_sections, sections, suppress
from cxhub.warehouse import Warehouse

LATE_DATA_NOTE = "correction: late data"
CSV_COLUMNS = ("section", "metric", "period", "channel", "category", "cause", "product",
               "owner", "status", "value", "n", "previous", "last_year", "target", "suppressed",
               "low", "high")


@dataclass(frozen=True)
class Report:
    report_date: date
    revision: int
    published_at: datetime
    note: str | None
    figures: dict[str, Any]


@dataclass(frozen=True)
class Published:
    report: Report
    created: bool  # False: the figures were unchanged, nothing was stored


class ReportError(CxhubError):
    pass



def _first(wh: Warehouse, sql: str, params: list[Any] | None = None) -> tuple[Any, ...] | None:
    """The first row, fully fetched: DuckDB 2.0 refuses further work on a cursor whose result
    was left half-read (as `fetchone` leaves it), and the metrics share this thread's cursor."""
    rows = wh.read(sql, params)
    return rows[0] if rows else None

def day_window(day: date) -> tuple[datetime, datetime]:
    """A report day in UTC: [midnight, next midnight)."""
    start = datetime.combine(day, time())
    return start, start + timedelta(days=1)


def forecast_days(wh: Warehouse) -> set[date]:
    """The days any stored forecast covers (one query): a back-fill asks the accuracy of
    those days only, so a year of reports costs no more than the days forecast."""
    rows = wh.read("SELECT DISTINCT CAST(interval_start AS DATE) FROM forecasts")
    return {r[0] for r in rows}


def forecast_section(wh: Warehouse, day: date, *, min_count: int,
                     known: set[date] | None = None) -> dict[str, Any]:
    """The day's forecast accuracy per channel (`services.forecast.accuracy.day_accuracy`:
    the newest forecast made before the day, against what arrived): value = the catalogue's
    forecast_accuracy, n = the contacts that arrived, with the contacts forecast and the share
    of intervals inside the 95% range. A channel with fewer than `min_count` contacts shows
    none of them."""
    from cxhub.services.forecast.accuracy import day_accuracy

    if known is not None and day not in known:
        return {"metric": "forecast_accuracy", "rows": []}
    try:
        found = day_accuracy(wh, day)
    except Exception as exc:  # noqa: BLE001 - the other figures of the day still publish
        return {"metric": "forecast_accuracy", "rows": [], "unavailable": type(exc).__name__}
    rows = []
    for r in found:
        # Whole contacts: DuckDB sums doubles in no fixed order, so the forecast's tenths
        # could differ in the last bit between two publications of the same day (88.7 and
        # 88.8 seen) and make a revision out of nothing.
        row = {"channel": r["channel"], "n": r["actual"],
               "value": r["accuracy"],
               "forecast": round(r["forecast"]), "coverage": r["coverage"]}
        safe = suppress([row], min_count)[0]
        small = safe["suppressed"]
        safe["forecast"] = None if small else row["forecast"]
        safe["coverage"] = None if small else row["coverage"]
        rows.append(safe)
    return {"metric": "forecast_accuracy", "rows": rows}


def build_figures(wh: Warehouse, day: date, *, min_count: int,
                  computed: dict[str, Any] | None = None,
                  known_forecasts: set[date] | None = None) -> dict[str, Any]:
    """A day's report figures (`computed`: its sections, when already worked out;
    `known_forecasts`: the days forecasts cover, when already asked)."""
    start, end = day_window(day)
    figures: dict[str, Any] = {
        "date": day.isoformat(),
        "window": {"start": start.isoformat(), "end": end.isoformat(), "timezone": "UTC"},
        "min_public_count": min_count,
        "sections": dict(computed if computed is not None else sections(
            wh, start=start, end=end, min_count=min_count)),
    }
    figures["sections"]["forecast_accuracy"] = forecast_section(
        wh, day, min_count=min_count, known=known_forecasts)
    # A JSON round trip makes the figures compare equal to what was stored (floats, tuples).
    return json.loads(json.dumps(figures, sort_keys=True))  # type: ignore[no-any-return]


def publish(wh: Warehouse, day: date, *, min_count: int, note: str | None = None,
            now: datetime | None = None, computed: dict[str, Any] | None = None,
            known_forecasts: set[date] | None = None) -> Published:
    """Freeze `day`'s figures; a new revision only when they differ from the latest one."""
    now = now or datetime.now(UTC).replace(tzinfo=None)
    if day_window(day)[1] > now:
        raise ReportError(f"{day} has not ended yet (UTC); a report covers a whole day")
    figures = build_figures(wh, day, min_count=min_count, computed=computed,
                            known_forecasts=known_forecasts)
    payload = json.dumps(figures, sort_keys=True)

    def store(con: duckdb.DuckDBPyConnection) -> Published:
        latest = con.execute(
            "SELECT revision, published_at, note, figures FROM reports WHERE report_date = ? "
            "ORDER BY revision DESC LIMIT 1", [day]).fetchone()
        if latest is not None and json.loads(latest[3]) == figures:
            return Published(Report(day, latest[0], latest[1], latest[2], figures), False)
        revision = 1 if latest is None else int(latest[0]) + 1
        text = note if note else (None if latest is None else LATE_DATA_NOTE)
        con.execute("INSERT INTO reports VALUES (?, ?, ?, ?, ?)",
                    [day, revision, now, text, payload])
        return Published(Report(day, revision, now, text, figures), True)

    return wh.write(store, groupable=False)


PUBLISH_DELAY = timedelta(minutes=5)  # after midnight, so the day's last writes are in


def backfill(wh: Warehouse, since: date, until: date | None = None, *, min_count: int,
             now: datetime | None = None,
             on_day: Callable[[date, Published], None] | None = None) -> list[Published]:
    """Publish a report for every day from `since` to `until` (default: yesterday), each
    stamped as published a few minutes after its own midnight, as the server would have.

    The figures of a day come from its own window and its comparison windows only, which
    hold the records created by the end of that day: so a back-filled report is the report
    that was (or would have been) published on the day. A day already published stays as it
    is unless its figures changed since (then a new revision, as `publish` does)."""
    now = now or datetime.now(UTC).replace(tzinfo=None)
    last = until or (now.date() - timedelta(days=1))
    if since > last:
        raise ReportError(f"nothing to publish: {since} is after {last}")
    done = []
    days = [since + timedelta(days=i) for i in range((last - since).days + 1)]
    known = forecast_days(wh)
    for day, computed in daily_sections(wh, days, min_count=min_count):
        stamp = min(now, day_window(day)[1] + PUBLISH_DELAY)
        result = publish(wh, day, min_count=min_count, now=stamp, computed=computed,
                         known_forecasts=known)
        done.append(result)
        if on_day is not None:
            on_day(day, result)
    return done


def _report(row: tuple[Any, ...]) -> Report:
    return Report(row[0], int(row[1]), row[2], row[3], json.loads(row[4]))


def get(wh: Warehouse, day: date, revision: int | None = None) -> Report | None:
    """The latest revision of `day`'s report, or the one asked for."""
    if revision is None:
        row = _first(wh, "SELECT * FROM reports WHERE report_date = ? "
                          "ORDER BY revision DESC LIMIT 1", [day])
    else:
        row = _first(wh, "SELECT * FROM reports WHERE report_date = ? AND revision = ?",
                          [day, revision])
    return _report(row) if row else None


def revisions(wh: Warehouse, day: date) -> list[tuple[int, datetime, str | None]]:
    """Every revision of a day's report, newest first: (revision, published_at, note)."""
    rows = wh.read("SELECT revision, published_at, note FROM reports WHERE report_date = ? "
                   "ORDER BY revision DESC", [day])
    return [(int(r[0]), r[1], r[2]) for r in rows]


def index(wh: Warehouse, limit: int | None = None) -> list[tuple[date, int, datetime]]:
    """Every report day, newest first: (day, latest revision, when it was published)."""
    sql = ("SELECT report_date, max(revision), max(published_at) FROM reports "
           "GROUP BY report_date ORDER BY report_date DESC")
    rows = wh.read(sql + (f" LIMIT {int(limit)}" if limit else ""))
    return [(r[0], int(r[1]), r[2]) for r in rows]


def latest_revisions(wh: Warehouse, limit: int = 50) -> list[Report]:
    """The newest revisions of all days (for the feed): a correction is news too."""
    rows = wh.read("SELECT * FROM reports ORDER BY published_at DESC, report_date DESC, "
                   "revision DESC LIMIT ?", [limit])
    return [_report(r) for r in rows]


def to_csv(report: Report) -> str:
    """Long format: one line per figure, the section and metric naming what it is."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=CSV_COLUMNS, extrasaction="ignore",
                            lineterminator="\n")
    writer.writeheader()
    for name, section in report.figures["sections"].items():
        for row in section.get("rows", []):
            cells = {"section": name, "metric": section.get("metric"), **row}
            writer.writerow({k: csv_cell(v) for k, v in cells.items()})
            # Measures beside a row's value (the forecast accuracy's contacts forecast and
            # interval coverage) get a line of their own, named by the metric column.
            for key, metric in CSV_EXTRA_MEASURES.get(name, ()):
                extra = {**cells, "metric": metric, "value": row.get(key)}
                writer.writerow({k: csv_cell(v) for k, v in extra.items()})
    return buf.getvalue()


CSV_EXTRA_MEASURES = {"forecast_accuracy": (("forecast", "forecast_contacts"),
                                            ("coverage", "forecast_interval_coverage"))}


def feed(wh: Warehouse, *, base_url: str, min_count: int) -> bytes:
    """The public Atom feed: the daily reports and the actions whose impact is measured."""
    measured = actions(wh, start=datetime(1850, 1, 1),
                                      end=datetime.now(UTC).replace(tzinfo=None),
                                      min_count=min_count)
    return atom_feed(latest_revisions(wh), base_url=base_url, actions=measured.get("rows", []))


def atom_feed(reports: list[Report], *, base_url: str, title: str = "cxhub daily reports",
              actions: list[dict[str, Any]] | None = None) -> bytes:
    """An Atom feed with one entry per revision (a correction is announced like a report),
    and one per action whose impact has been measured (`public_figures.actions` rows: the
    kind, cause, date and change in contacts a week, never a title or an owner)."""
    ns = "http://www.w3.org/2005/Atom"
    ET.register_namespace("", ns)
    base = base_url.rstrip("/")
    feed = ET.Element(f"{{{ns}}}feed")
    ET.SubElement(feed, f"{{{ns}}}title").text = title
    ET.SubElement(feed, f"{{{ns}}}id").text = f"{base}/reports/feed.atom"
    ET.SubElement(feed, f"{{{ns}}}link", rel="self", href=f"{base}/reports/feed.atom")
    ET.SubElement(feed, f"{{{ns}}}link", rel="alternate", href=f"{base}/reports/")
    updated = max((r.published_at for r in reports), default=datetime(2000, 1, 1))
    ET.SubElement(feed, f"{{{ns}}}updated").text = _atom_time(updated)
    author = ET.SubElement(feed, f"{{{ns}}}author")
    ET.SubElement(author, f"{{{ns}}}name").text = "cxhub"
    for r in reports:
        entry = ET.SubElement(feed, f"{{{ns}}}entry")
        day = r.report_date.isoformat()
        label = f"Daily report {day}" + (f" (revision {r.revision})" if r.revision > 1 else "")
        ET.SubElement(entry, f"{{{ns}}}title").text = label
        ET.SubElement(entry, f"{{{ns}}}id").text = f"{base}/reports/{day}?revision={r.revision}"
        ET.SubElement(entry, f"{{{ns}}}link", rel="alternate",
                      href=f"{base}/reports/{day}?revision={r.revision}")
        ET.SubElement(entry, f"{{{ns}}}link", rel="enclosure", type="application/json",
                      href=f"{base}/reports/{day}.json?revision={r.revision}")
        ET.SubElement(entry, f"{{{ns}}}updated").text = _atom_time(r.published_at)
        ET.SubElement(entry, f"{{{ns}}}summary").text = _summary(r)
    for a in actions or []:
        day = str(a["period"])[:10]
        entry = ET.SubElement(feed, f"{{{ns}}}entry")
        ET.SubElement(entry, f"{{{ns}}}title").text = (
            f"What we did: {a['kind']} on {a['cause'] or 'several causes'} ({day})")
        ET.SubElement(entry, f"{{{ns}}}id").text = f"{base}/#action-{day}-{a['kind']}-{a['cause']}"
        ET.SubElement(entry, f"{{{ns}}}link", rel="alternate", href=f"{base}/")
        ET.SubElement(entry, f"{{{ns}}}updated").text = _atom_time(
            datetime.fromisoformat(day))
        ET.SubElement(entry, f"{{{ns}}}summary").text = _action_summary(a)
    body: bytes = ET.tostring(feed, encoding="utf-8")
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + body


def _action_summary(a: dict[str, Any]) -> str:
    change, expected = a.get("value"), a.get("previous")
    about = f"contacts a week about {a['cause']}" if a.get("cause") else "contacts a week"
    if change is None or not a.get("significant"):
        return f"Since {str(a['period'])[:10]}: no measurable change in {about} yet."
    said = f"Since {str(a['period'])[:10]}: about {abs(change):,.0f} " + (
        "fewer" if change < 0 else "more")
    if a.get("basis") == "problem":  # a fault's fix: the problem's own contacts
        return (f"{said} contacts a week about the problem it fixed (about {expected:,.0f} a "
                f"week {_before(a.get('days'))}).")
    return f"{said} {about} than expected without it (expected about {expected:,.0f})."


def _before(days: int | None) -> str:
    """When a fault's rate before its fix was measured: the week before it, or the days of a
    fault younger than a week (a release rolled back after three days)."""
    if days is None or days >= 7:
        return "before it"
    return f"in the {days} day{'s' if days != 1 else ''} before it"


def _atom_time(moment: datetime) -> str:
    return moment.replace(microsecond=0).isoformat() + "Z"


def _summary(r: Report) -> str:
    total = r.figures["sections"].get("volume_total", {}).get("rows") or [{}]
    value = total[0].get("value")
    volume = f"{int(value):,} contacts" if value is not None else "volume suppressed"
    note = f" {r.note}." if r.note else ""
    return f"Figures for {r.report_date.isoformat()}: {volume}.{note}"
