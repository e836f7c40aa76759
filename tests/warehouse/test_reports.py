"""The daily report: frozen when published, unchanged by late data, corrected by revisions."""

from __future__ import annotations

import csv
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import pytest
from tests.conftest import run_cli

from cxhub.services.public import reports
from cxhub.services.records.files import ingest_paths
from cxhub.warehouse import Warehouse

# Ibis 12 still calls DuckDB 2.0's deprecated fetch_arrow_table(); harmless, and not ours.
IBIS_ON_DUCKDB2 = pytest.mark.filterwarnings(
    "ignore:fetch_arrow_table\\(\\) is deprecated:DeprecationWarning")
pytestmark = IBIS_ON_DUCKDB2

DAY = date(2026, 3, 10)  # a Tuesday
NOW = datetime(2026, 3, 12, 8, 0)
MIN = 10


def _add(wh: Warehouse, prefix: str, counts: dict[str, int], day: date = DAY) -> None:
    """Load contacts of `day` the way a file of late data arrives: `ingest generic`."""
    start = datetime.combine(day, datetime.min.time())
    path = Path(wh.path).parent / f"{prefix}.csv"
    with open(path, "w", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(["source", "external_id", "channel", "created_at", "queued_at",
                      "answered_at", "wait_seconds"])
        for channel, n in counts.items():
            for i in range(n):
                created = start + timedelta(hours=8, minutes=7 * i)
                out.writerow(["pbx", f"{prefix}-{channel}-{i}", channel, created, created,
                              created + timedelta(seconds=30), 30])
    report = ingest_paths(wh, "generic", [path], kind="contacts", source="pbx")
    assert not report.failed


def _rows(report: reports.Report, section: str) -> list[dict[str, Any]]:
    figure = report.figures["sections"][section]
    assert "unavailable" not in figure, (section, figure)
    return figure["rows"]  # type: ignore[no-any-return]


def _by_channel(report: reports.Report) -> dict[str, Any]:
    return {r["channel"]: r["value"] for r in _rows(report, "volume_by_channel")}


def test_a_published_day_is_frozen_and_small_counts_are_suppressed(warehouse: Warehouse) -> None:
    _add(warehouse, "a", {"phone": 15, "email": 12, "chat": 7, "letter": 3})
    _add(warehouse, "other-day", {"phone": 40}, day=DAY + timedelta(days=1))
    first = reports.publish(warehouse, DAY, min_count=MIN, now=NOW)
    assert first.created and first.report.revision == 1 and first.report.note is None
    assert _rows(first.report, "volume_total")[0]["value"] == 37  # 15 + 12 + 7 + 3, not day 2
    # Chat (7) and letter (3) are small; with two hidden, nothing else needs hiding.
    assert _by_channel(first.report) == {"phone": 15, "email": 12, "chat": None, "letter": None}

    again = reports.publish(warehouse, DAY, min_count=MIN, now=NOW)
    assert not again.created and again.report.revision == 1
    assert reports.revisions(warehouse, DAY) == [(1, NOW, None)]


def test_late_data_leaves_the_report_alone_until_a_correction_is_published(
        warehouse: Warehouse) -> None:
    _add(warehouse, "a", {"phone": 15, "email": 12})
    original = reports.publish(warehouse, DAY, min_count=MIN, now=NOW).report
    _add(warehouse, "late", {"chat": 11})
    stored = reports.get(warehouse, DAY)
    assert stored is not None and stored.figures == original.figures  # late data: no change

    later = NOW + timedelta(days=1)
    fixed = reports.publish(warehouse, DAY, min_count=MIN, now=later)
    assert fixed.created and fixed.report.revision == 2
    assert fixed.report.note == reports.LATE_DATA_NOTE
    assert _rows(fixed.report, "volume_total")[0]["value"] == 38
    assert _by_channel(fixed.report)["chat"] == 11
    # Revision 1 is still there, exactly as first published.
    first = reports.get(warehouse, DAY, 1)
    assert first is not None and first.figures == original.figures
    assert reports.get(warehouse, DAY).revision == 2  # type: ignore[union-attr]

    _add(warehouse, "later", {"letter": 20})
    noted = reports.publish(warehouse, DAY, min_count=MIN, note="letters scanned late",
                            now=later + timedelta(hours=1))
    assert noted.report.revision == 3 and noted.report.note == "letters scanned late"
    assert [r[0] for r in reports.revisions(warehouse, DAY)] == [3, 2, 1]


def test_a_day_that_has_not_ended_cannot_be_published(warehouse: Warehouse) -> None:
    with pytest.raises(reports.ReportError, match="has not ended"):
        reports.publish(warehouse, DAY, min_count=MIN, now=datetime(2026, 3, 10, 23, 59))


def test_downloads_and_feed(warehouse: Warehouse) -> None:
    _add(warehouse, "a", {"phone": 15, "chat": 4})
    reports.publish(warehouse, DAY, min_count=MIN, now=NOW)
    _add(warehouse, "b", {"chat": 8})
    reports.publish(warehouse, DAY, min_count=MIN, now=NOW + timedelta(hours=1))
    report = reports.get(warehouse, DAY)
    assert report is not None
    lines = reports.to_csv(report).splitlines()
    assert lines[0].split(",") == list(reports.CSV_COLUMNS)
    assert "volume_by_channel,contacts,,chat,,,,,,12,12,,,,False,," in lines

    feed = ET.fromstring(reports.atom_feed(reports.latest_revisions(warehouse),
                                           base_url="http://example.test/"))
    ns = {"a": "http://www.w3.org/2005/Atom"}
    entries = feed.findall("a:entry", ns)
    assert [e.findtext("a:title", namespaces=ns) for e in entries] == [
        f"Daily report {DAY} (revision 2)", f"Daily report {DAY}"]
    assert entries[0].find("a:link", ns).get("href") == (  # type: ignore[union-attr]
        f"http://example.test/reports/{DAY}?revision=2")
    assert reports.index(warehouse) == [(DAY, 2, NOW + timedelta(hours=1))]


@pytest.mark.slow
def test_cxhub_publish_command(tmp_path: Path) -> None:
    with Warehouse.open(tmp_path / "cxhub.duckdb") as wh:
        _add(wh, "a", {"phone": 12})
    out = run_cli("publish", "--date", DAY.isoformat(), "--json", home=tmp_path)
    assert json.loads(out.stdout) | {"published_at": None} == {
        "date": DAY.isoformat(), "revision": 1, "created": True, "note": None,
        "published_at": None}
    unchanged = run_cli("publish", "--date", DAY.isoformat(), home=tmp_path)
    assert "unchanged" in unchanged.stderr
    future = run_cli("publish", "--date", "2999-01-01", home=tmp_path, check=False)
    assert future.returncode == 2 and "has not ended" in future.stderr


def _week_of_contacts(wh: Warehouse, tag: str, last: date) -> None:
    """Twelve days to `last`, each day's volumes per channel set by its date."""
    for back in range(12):
        day = last - timedelta(days=back)
        k = day.toordinal() % 9
        _add(wh, f"{tag}-{day}", {"phone": 10 + k, "email": 30 - 2 * k, "chat": k}, day=day)


@pytest.mark.slow
def test_a_backfilled_report_equals_the_report_published_on_the_day(tmp_path: Path) -> None:
    later = DAY + timedelta(days=3)
    with Warehouse.open(tmp_path / "then" / "cxhub.duckdb") as then:
        # The warehouse as it stood at the end of DAY: only what was created by then ...
        _week_of_contacts(then, "then", DAY)
        on_the_day = reports.publish(then, DAY, min_count=MIN,
                                     now=datetime.combine(DAY + timedelta(days=1),
                                                          datetime.min.time())
                                     + reports.PUBLISH_DELAY).report
    with Warehouse.open(tmp_path / "now" / "cxhub.duckdb") as now:
        # ... and the same company three days on, back-filled from a week before DAY.
        _week_of_contacts(now, "now", later)
        since = DAY - timedelta(days=10)  # from 28 February: a 1st of the month inside
        done = reports.backfill(now, since, later, min_count=MIN, now=datetime(2026, 4, 1))
        assert [d.report.report_date for d in done] == [
            since + timedelta(days=i) for i in range(14)]
        # The back-fill computes all days at once: each day equals asking for it alone.
        for d in done:
            alone = reports.build_figures(now, d.report.report_date, min_count=MIN)
            assert d.report.figures == alone, d.report.report_date
        filled = reports.get(now, DAY)
    assert filled is not None
    assert filled.figures == on_the_day.figures
    assert filled.published_at == on_the_day.published_at  # stamped as on the day
    assert _by_channel(filled)["email"] == 30 - 2 * (DAY.toordinal() % 9)  # DAY's own


@pytest.mark.slow
def test_cxhub_publish_since_back_fills_every_day(tmp_path: Path) -> None:
    yesterday = datetime.now(UTC).date() - timedelta(days=1)
    with Warehouse.open(tmp_path / "cxhub.duckdb") as wh:
        _week_of_contacts(wh, "a", yesterday)
    since = yesterday - timedelta(days=4)
    out = run_cli("publish", "--since", since.isoformat(), "--json", home=tmp_path)
    assert json.loads(out.stdout) == {"since": since.isoformat(),
                                      "until": yesterday.isoformat(), "days": 5, "created": 5}
    again = run_cli("publish", "--since", since.isoformat(), home=tmp_path)
    assert "5 days" in again.stderr and "0 reports published, 5 unchanged" in again.stderr
    with Warehouse.open(tmp_path / "cxhub.duckdb") as wh:
        assert [d for d, _, _ in reports.index(wh)] == [
            yesterday - timedelta(days=i) for i in range(5)]


@pytest.mark.slow
def test_the_report_adds_the_days_forecast_accuracy(warehouse: Warehouse,
                                                    tmp_path: Path) -> None:
    from tests.warehouse.forecast_data import ORIGIN, build

    from cxhub.services.forecast import accuracy, run

    build(warehouse, tmp_path)
    now = datetime.combine(ORIGIN, datetime.min.time()) + timedelta(days=9)
    before = reports.publish(warehouse, ORIGIN - timedelta(days=1), min_count=MIN, now=now)
    assert _rows(before.report, "forecast_accuracy") == []  # no forecast of that day
    run.run(warehouse, minutes=30, h_days=7, origin=ORIGIN, candidates=("profile_mean",))
    done = reports.backfill(warehouse, ORIGIN - timedelta(days=1), ORIGIN + timedelta(days=1),
                            min_count=MIN, now=now)
    assert [d.created for d in done] == [False, True, True]  # the day before is unchanged
    (row,) = _rows(done[1].report, "forecast_accuracy")
    # By hand: the forecast of each half hour against the calls counted from the file.
    calls = {}
    with open(tmp_path / "contacts.csv", newline="") as fh:
        for r in csv.DictReader(fh):
            t = datetime.fromisoformat(r["created_at"])
            if t.date() == ORIGIN:
                slot = t.replace(minute=t.minute // 30 * 30, second=0, microsecond=0)
                calls[slot] = calls.get(slot, 0) + 1
    fc = dict(warehouse.read("SELECT interval_start, point FROM forecasts WHERE "
                             "CAST(interval_start AS DATE) = ?", [ORIGIN]))
    matched = sum(min(calls.get(s, 0), p) for s, p in fc.items())
    larger = sum(max(calls.get(s, 0), p) for s, p in fc.items())
    assert row["channel"] == "phone" and row["n"] == sum(calls.values())
    assert row["value"] == pytest.approx(matched / larger, abs=1e-4)  # forecast_accuracy
    assert row["forecast"] == pytest.approx(sum(fc.values()), abs=0.56)  # whole contacts
    assert 0.8 <= row["coverage"] <= 1
    # Frozen like the other figures: the day's report, as published alone, is the same, and
    # so are its JSON (stored) and CSV.
    again = reports.publish(warehouse, ORIGIN, min_count=MIN, now=now)
    assert not again.created and again.report.figures == done[1].report.figures
    assert accuracy.day_accuracy(warehouse, ORIGIN)[0]["actual"] == row["n"]
    lines = list(csv.DictReader(reports.to_csv(again.report).splitlines()))
    mine = {r["metric"]: r for r in lines if r["section"] == "forecast_accuracy"}
    assert set(mine) == {"forecast_accuracy", "forecast_contacts", "forecast_interval_coverage"}
    assert float(mine["forecast_accuracy"]["value"]) == row["value"]
    assert float(mine["forecast_contacts"]["value"]) == row["forecast"]
    # A channel under the public minimum shows nothing of its accuracy.
    (small,) = _rows(reports.publish(warehouse, ORIGIN + timedelta(days=2), min_count=10_000,
                                     now=now).report, "forecast_accuracy")
    assert small["suppressed"] and small["value"] is None and small["forecast"] is None
