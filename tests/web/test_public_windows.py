"""The public page on awkward data: decades of history, one contact dated today, free text where
a label belongs, small cells that subtraction would reveal, hours when nobody answers."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from tests.web.dashboard_fixtures import load_records

from cxhub.services.public import reports
from cxhub.services.public.figures import suppress
from cxhub.services.records.files import ingest_paths
from cxhub.settings import Settings
from cxhub.warehouse import Warehouse
from cxhub.web.app import create_app
from cxhub.web.public import charts

pytestmark = pytest.mark.filterwarnings(
    "ignore:fetch_arrow_table\\(\\) is deprecated:DeprecationWarning")
MIN = 10
CALL_CENTRE = Path(__file__).resolve().parents[3] / "shared" / "data" / "callcenter"


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _client(wh: Warehouse, home: Path) -> TestClient:
    return TestClient(create_app(Settings(home=home, min_public_count=MIN), warehouse=wh))


def _public_urls(client: TestClient) -> list[str]:
    urls = ["/", "/reports/", "/reports/feed.atom", "/public/api/live", "/public/api/service",
            "/public/api/best-time", "/public/api/summary", "/public/api/calendar"]
    urls += [f"/public/api/demand?grain={g}" for g in ("hour", "day", "week", "month")]
    days = set(re.findall(r"/reports/(\d{4}-\d\d-\d\d)", client.get("/reports/").text))
    urls += [f"/reports/{d}{s}" for d in sorted(days) for s in ("", ".json", ".csv")]
    return urls


@pytest.fixture
def decades(warehouse: Warehouse, tmp_path: Path) -> Warehouse:
    """The call centre's 1999 log (or, without the shared data, a call a week since 1999),
    and a dozen web forms dated today."""
    files = sorted(CALL_CENTRE.glob("*.tsv")) if CALL_CENTRE.is_dir() else []
    if files:
        report = ingest_paths(warehouse, "anonymous-bank", files[:1])
        assert not report.failed, report.to_dict()
    else:
        first = datetime(1999, 1, 4, 10)
        calls = [{"external_id": f"old{i}", "channel": "phone",
                  "created_at": first + timedelta(weeks=i)}
                 for i in range((_now() - first).days // 7 - 1)]
        load_records(warehouse, tmp_path / "old", "contacts", calls)
    today = _now().replace(minute=0, second=0, microsecond=0) - timedelta(minutes=30)
    load_records(warehouse, tmp_path / "new", "contacts", [
        {"external_id": f"web{i}", "channel": "web", "created_at": today} for i in range(12)])
    return warehouse


def test_no_public_url_answers_5xx_over_decades_of_data(decades: Warehouse,
                                                        tmp_path: Path) -> None:
    with _client(decades, tmp_path) as client:
        answers = {url: client.get(url) for url in _public_urls(client)}
        assert not {u: r.status_code for u, r in answers.items() if r.status_code >= 500}
        hourly = answers["/public/api/demand?grain=hour"].json()
        # Hours over 27 years would be 240,000 periods: cut to the last 31 days, and said so.
        assert hourly["days"] == charts.MAX_DAYS["hour"] and "unavailable" not in hourly
        assert len(hourly["rows"]) <= 24 * charts.MAX_DAYS["hour"]
        monthly = answers["/public/api/demand?grain=month"].json()
        assert monthly["start"] < "2000" and "days" not in monthly


def _day_of_contacts(day: datetime, per_day: int, prefix: str) -> list[dict[str, Any]]:
    return [{"external_id": f"{prefix}{day:%m%d}-{i}", "channel": "email",
             "created_at": day + timedelta(hours=8, minutes=20 * i)} for i in range(per_day)]


def test_one_contact_dated_today_leaves_the_30_days_alone(warehouse: Warehouse,
                                                          tmp_path: Path) -> None:
    now = _now()
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    rows = []
    for back in range(1, 41):  # 40 days before today, 20 e-mails a day
        rows += _day_of_contacts(midnight - timedelta(days=back), 20, "e")
    load_records(warehouse, tmp_path / "a", "contacts", rows)
    before = charts.summary(warehouse, min_count=MIN, now=now)
    total = before["sections"]["volume_total"]["rows"][0]
    assert (before["start"], before["end"]) == ((midnight - timedelta(days=30)).isoformat(),
                                                midnight.isoformat())
    assert total["value"] == 30 * 20 and not total["suppressed"]  # counted by hand
    # The 30 days before hold 10 days of data: a partial period is no comparison.
    assert total["previous"] is None

    # The README's example: one contact posted now. The window stays on the clock.
    load_records(warehouse, tmp_path / "b", "contacts", [
        {"external_id": "readme-1", "channel": "web", "created_at": now - timedelta(minutes=1)}])
    after = charts.summary(warehouse, min_count=MIN, now=now)
    assert after == before


def _call(eid: str, at: datetime, wait: float | None) -> dict[str, Any]:
    row: dict[str, Any] = {"external_id": eid, "channel": "phone", "created_at": at,
                           "queued_at": at}
    if wait is None:  # nobody answers: the caller gives up
        row.update(abandoned_at=at + timedelta(seconds=90), wait_seconds=90,
                   outcome="abandoned")
    else:
        row.update(answered_at=at + timedelta(seconds=wait), wait_seconds=wait,
                   outcome="answered", talk_seconds=200)
    return row


def test_the_best_time_is_an_open_hour_with_a_short_wait(warehouse: Warehouse,
                                                         tmp_path: Path) -> None:
    """Eight weeks: Monday to Friday 9:00 to 16:00 open, busier in the morning with longer
    waits; Tuesday 14:00 quiet with the shortest wait; Thursday 01:00 a trickle of calls that
    nobody answers (the quietest cell of all, and the old page's pick)."""
    now = _now()
    monday = (now - timedelta(days=now.weekday() + 7 * 8)).replace(
        hour=0, minute=0, second=0, microsecond=0)
    calls = []
    for week in range(8):
        for day in range(5):
            date = monday + timedelta(weeks=week, days=day)
            for hour in range(9, 17):
                quiet = (day, hour) == (1, 14)
                n, wait = (3, 10.0) if quiet else (6 if hour < 12 else 4, 60.0 + 20 * (hour < 12))
                calls += [_call(f"c{date:%m%d}{hour}-{i}", date.replace(hour=hour, minute=7 * i),
                                wait) for i in range(n)]
            if day == 3:
                calls += [_call(f"n{date:%m%d}", date.replace(hour=1, minute=5), None)]
    load_records(warehouse, tmp_path / "calls", "contacts", calls)
    found = charts.best_time(warehouse, min_count=MIN, now=now)
    picks = [(r["weekday"], r["hour_of_day"]) for r in found["recommended"]]
    assert picks[0] == (1, 14), found["recommended"]
    assert all(d < 5 and 9 <= h < 17 for d, h in picks), picks  # open hours only
    assert (3, 1) not in picks
    assert found["recommended"][0]["value"] == pytest.approx(10.0)


def test_a_hidden_cell_is_not_the_total_minus_the_shown_ones() -> None:
    # A report with 45 contacts: web 43, letter 2. Hiding the letters alone would give them
    # away (45 - 43), so the web figure goes too.
    rows = [{"channel": "web", "value": 43, "n": 43}, {"channel": "letter", "value": 2, "n": 2}]
    assert [r["value"] for r in suppress(rows, MIN, counts=True)] == [None, None]
    # The same for the day before's figures (a published total too).
    rows = [{"channel": "web", "value": 40, "n": 40, "previous": 30},
            {"channel": "email", "value": 20, "n": 20, "previous": 4},
            {"channel": "chat", "value": 15, "n": 15, "previous": 12}]
    shown = [r["previous"] for r in suppress(rows, MIN, counts=True)]
    assert shown.count(None) == 2 and shown[0] == 30


def test_a_hidden_day_is_not_its_week_minus_the_other_days(warehouse: Warehouse,
                                                           tmp_path: Path) -> None:
    now = _now()
    monday = (now - timedelta(days=now.weekday() + 14)).replace(
        hour=0, minute=0, second=0, microsecond=0)
    rows = []
    for day in range(7):
        rows += _day_of_contacts(monday + timedelta(days=day), 3 if day == 2 else 20, "d")
    load_records(warehouse, tmp_path / "week", "contacts", rows)
    days = charts.demand(warehouse, grain="day", min_count=MIN, now=now)["rows"]
    weeks = charts.demand(warehouse, grain="week", min_count=MIN, now=now)["rows"]
    week = next(r for r in weeks if r["period"] == monday.isoformat())
    assert week["value"] == 6 * 20 + 3  # the week is published ...
    inside = [r for r in days if monday.isoformat() <= r["period"]
              < (monday + timedelta(days=7)).isoformat()]
    hidden = [r for r in inside if r["suppressed"]]
    assert len(hidden) >= 2, inside  # ... so the small Wednesday is not hidden alone


def test_free_text_never_becomes_a_public_label(warehouse: Warehouse, tmp_path: Path) -> None:
    yesterday = _now().replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=1)
    link = '<a href="https://evil.example/x">click</a>'
    formula = "=HYPERLINK(\"https://evil.example\",\"x\")"
    rows = []
    for i, cause in enumerate([link] * 12 + [formula] * 12 + ["billing"] * 12):
        rows.append({"external_id": f"x{i}", "channel": "web", "category": "complaint",
                     "cause": cause, "product": "Own words" if i % 2 else "Broadband",
                     "created_at": yesterday + timedelta(hours=9, minutes=i)})
    load_records(warehouse, tmp_path / "x", "contacts", rows)
    holdings = tmp_path / "holdings.csv"
    holdings.write_text("source,external_id,customer_external_id,product,started_at\n"
                        f"crm,h1,k1,Broadband,{yesterday - timedelta(days=400)}\n")
    assert not ingest_paths(warehouse, "generic", [holdings], kind="holdings").failed
    report = reports.publish(warehouse, yesterday.date(), min_count=MIN).report
    sections = report.figures["sections"]
    causes = {r["cause"]: r["value"] for r in sections["complaints_by_cause"]["rows"]}
    assert causes == {"billing": 12, "other": 24}
    products = {r["product"]: r["value"] for r in sections["complaints_by_product"]["rows"]}
    assert products == {"Broadband": 18, "other": 18}

    # And a cell that would start a formula, if one ever reached the CSV, is neutralised.
    planted = reports.Report(report.report_date, 1, report.published_at, None, {
        "sections": {"complaints_by_cause": {"metric": "complaints", "rows": [
            {"cause": formula, "value": 12, "n": 12}, {"cause": "-1+1", "value": -3}]}}})
    lines = reports.to_csv(planted).splitlines()
    assert lines[1].split(",")[5].startswith("\"'=HYPERLINK") or "'=HYPERLINK" in lines[1]
    assert ",'-1+1," in lines[2] and lines[2].split(",")[9] == "-3"  # numbers stay numbers


@pytest.fixture
def served(warehouse: Warehouse, tmp_path: Path) -> Iterator[TestClient]:
    with _client(warehouse, tmp_path) as client:
        yield client


def test_the_calendar_marks_are_public_labels_only(warehouse: Warehouse, tmp_path: Path
                                                   ) -> None:
    start = _now().replace(microsecond=0) - timedelta(days=20)
    path = tmp_path / "calendar.csv"
    path.write_text("source,external_id,kind,name,starts_at,ends_at,channel,cause,"
                    "expected_lift,owner\n"
                    f"marketing,c1,campaign,Spring offer,{start},{start + timedelta(days=60)},"
                    ",pricing,1.3,Jane Doe\n")
    report = ingest_paths(warehouse, "generic", [path], kind="calendar_events")
    assert not report.failed and report.totals["quarantined"] == 0, report.to_dict()
    with _client(warehouse, tmp_path) as client:
        marks = client.get("/public/api/calendar").json()["marks"]
    assert marks == [{"kind": "campaign", "name": "Spring offer", "start": start.isoformat(),
                      "end": (start + timedelta(days=60)).isoformat(), "channel": None}]


def test_a_campaign_planned_for_next_month_can_be_posted(warehouse: Warehouse,
                                                         tmp_path: Path) -> None:
    from cxhub.services.access.keys import create_key

    _, key = create_key(warehouse, scopes=["ingest"], name="calendar")
    start = (_now() + timedelta(days=30)).replace(microsecond=0)
    event = {"source": "marketing", "external_id": "winter", "kind": "price_change",
             "name": "Winter prices", "starts_at": start.isoformat(),
             "ends_at": (start + timedelta(days=7)).isoformat(), "expected_lift": 1.2}
    with _client(warehouse, tmp_path) as client:
        answer = client.post("/api/v1/calendar-events", json=event, headers={"X-API-Key": key})
        assert answer.status_code == 201, answer.text
        bad = client.post("/api/v1/calendar-events", json={**event, "external_id": "x",
                                                           "kind": "party"},
                          headers={"X-API-Key": key})
        assert bad.status_code == 422 and "kind" in bad.text
    stored = warehouse.read("SELECT kind, starts_at, expected_lift FROM calendar_events")
    assert stored == [("price_change", start, 1.2)]


def test_actions_show_their_measured_impact_as_known_then(warehouse: Warehouse) -> None:
    import json as _json

    now = _now().replace(microsecond=0)
    done, measured = now - timedelta(days=40), now - timedelta(hours=2)
    impact = {"status": "measured", "actual_per_week": 441.5, "expected_per_week": 629.5,
              "avoided_low": 150.0, "avoided_high": 226.0, "significant": True}
    warehouse.write(lambda con: con.execute(
        "INSERT INTO actions (action_id, title, owner, status, kind, cause, action_date, "
        "impact, impact_at) VALUES (1, 'Visits booked online - ask Ann Smith', 'Ann Smith', "
        "'done', 'process_change', 'delivery', ?, ?, ?)",
        [done.date(), _json.dumps(impact), measured]))
    # A fault's fix: measured on the problem's own contacts, which the page says.
    fault = {**impact, "problem": {"contacts_per_week_before": 1774.0, "avoided_per_week": 1723.8,
                                   "avoided_low": 1641.3, "avoided_high": 1806.4}}
    warehouse.write(lambda con: con.execute(
        "INSERT INTO actions (action_id, title, owner, status, kind, cause, action_date, "
        "impact, impact_at) VALUES (2, 'Duplicate charge corrected', 'Ann Smith', "
        "'done', 'fix', 'billing', ?, ?, ?)",
        [done.date(), _json.dumps(fault), measured]))
    page = charts.summary(warehouse, min_count=MIN, now=now)["sections"]["actions"]["rows"]
    assert page == [{"period": done.date().isoformat(), "kind": "process_change",
                     "cause": "delivery", "value": -188.0, "previous": 629.5,
                     "low": -226.0, "high": -150.0, "significant": True, "basis": "cause"},
                    {"period": done.date().isoformat(), "kind": "fix", "cause": "billing",
                     "value": -1723.8, "previous": 1774.0, "low": -1806.4, "high": -1641.3,
                     "significant": True, "basis": "problem", "days": 7}]
    assert "Ann" not in str(page)  # titles and owners are staff-written: never public
    assert "about the problem it fixed (about 1,774 a week before it)" in \
        reports._action_summary(page[1])  # the Atom feed's words
    # A release rolled back after three days: its rate over those days, said so.
    assert "(about 9,086 a week in the 3 days before it)" in reports._action_summary(
        {**page[1], "previous": 9086.0, "days": 3})
    # A report frozen before the impact was measured shows no impact.
    day = (now - timedelta(days=3)).date()
    report = reports.build_figures(warehouse, day, min_count=MIN)
    assert report["sections"]["actions"]["rows"] == []
