"""Business-hour clocks in the catalogue: `business_days` (schema v14) made from the opening
hours and holidays, and the `_business` twins of the response and resolution times, checked
against spans counted by hand and against business_hours.business_seconds."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import numpy as np
import pytest
from fastapi.testclient import TestClient
from tests.web.dashboard_fixtures import dashboard_app, log_in

from cxhub.metrics import definitions, facts
from cxhub.metrics.source import Ready, Tables
from cxhub.services.access import users
from cxhub.services.access.keys import create_key
from cxhub.services.forecast import business_hours, hours
from cxhub.services.metrics import compute as metrics
from cxhub.services.records.files import ingest_paths
from cxhub.warehouse import Warehouse, schema
from cxhub.warehouse.engines import connect

T = dt.datetime.fromisoformat
WEEK = {d: "09:00-17:00" for d in ("mon", "tue", "wed", "thu", "fri")}


def _yaml(path: Path, holidays: list[str]) -> Path:
    days = ", ".join(f"{d}: '{s}'" for d, s in WEEK.items())
    path.write_text("timezone: Europe/London\n"
                    f"channels:\n  phone: {{{days}, sat: closed, sun: closed}}\n"
                    "business_hours: {email: phone}\n"
                    f"holidays: [{', '.join(holidays)}]\n")
    return path


# (queue, channel, created, resolved, business seconds counted by hand). Phone: Mon-Fri
# 09:00-17:00, Christmas Day (a Wednesday) a holiday; e-mail keeps the phone's hours; the
# letters have no hours: every second counts.
SPANS = [
    ("night", "phone", "2024-12-02 16:00", "2024-12-03 10:00", 3600 + 3600),
    ("weekend", "phone", "2024-12-06 16:30", "2024-12-09 09:30", 1800 + 1800),
    ("holiday", "phone", "2024-12-24 16:00", "2024-12-26 10:00", 3600 + 0 + 3600),
    ("early", "phone", "2024-12-02 07:00", "2024-12-02 10:30", 5400),
    ("late", "phone", "2024-12-02 15:00", "2024-12-02 19:00", 7200),
    ("closed", "phone", "2024-12-07 10:00", "2024-12-08 18:00", 0),
    ("two_weeks", "phone", "2024-12-02 09:00", "2024-12-13 17:00", 10 * 8 * 3600),
    ("borrowed", "email", "2024-12-06 16:30", "2024-12-09 09:30", 3600),
    ("no_hours", "letter", "2024-12-06 16:30", "2024-12-09 09:30", 65 * 3600),
]


@pytest.fixture
def company(warehouse: Warehouse, tmp_path: Path) -> Warehouse:
    rows = ["source,external_id,channel,queue,created_at,first_response_at,resolved_at"]
    rows += [f"t,{q},{ch},{q},{a}:00,{b}:00,{b}:00" for q, ch, a, b, _ in SPANS]
    (tmp_path / "c.csv").write_text("\n".join(rows) + "\n")
    assert not ingest_paths(warehouse, "generic", [tmp_path / "c.csv"], kind="contacts").failed
    hours.load_file(warehouse, _yaml(tmp_path / "hours.yaml", ["2024-12-25"]))
    return warehouse


def _by_queue(wh: Warehouse, name: str) -> dict[str, float]:
    rows = metrics.compute(wh, name, start="2024-12-01", end="2024-12-31", by="queue")
    return {r["queue"]: r["value"] for r in rows if r["value"] is not None}


def test_business_times_match_the_hand_count(company: Warehouse) -> None:
    business = _by_queue(company, "resolution_time_business")
    clock = _by_queue(company, "resolution_time")
    assert business == {q: float(s) for q, _, _, _, s in SPANS}
    for q, _, a, b, _ in SPANS:
        assert clock[q] == (T(b) - T(a)).total_seconds()
    assert business["no_hours"] == clock["no_hours"]  # no calendar: both figures agree
    # The written channels' first response, e-mail in the phone team's hours.
    first = metrics.compute(company, "first_response_time_business", start="2024-12-01",
                            end="2024-12-31", by="channel")
    assert {r["channel"]: r["value"] for r in first} == {"email": 3600.0}
    # The median over the phone's spans, as the catalogue interpolates it.
    (phone,) = metrics.compute(company, "resolution_time_business", start="2024-12-01",
                               end="2024-12-31", filters={"channel": "phone"})
    assert phone["value"] == float(np.median([s for _, ch, _, _, s in SPANS if ch == "phone"]))


def test_the_same_as_business_seconds(company: Warehouse) -> None:
    """The catalogue's clock and business_hours.business_seconds (the in-memory reference)
    agree on every contact, over a month of spans of every length."""
    rng = np.random.default_rng(7)
    starts = [T("2024-11-01") + dt.timedelta(seconds=int(s))
              for s in rng.integers(0, 40 * 86400, 300)]
    ends = [a + dt.timedelta(seconds=int(s)) for a, s in
            zip(starts, rng.exponential(2 * 86400, 300), strict=True)]
    rows = ["source,external_id,channel,queue,created_at,resolved_at"]
    rows += [f"r,{i},phone,r{i},{a:%Y-%m-%d %H:%M:%S},{b:%Y-%m-%d %H:%M:%S}"
             for i, (a, b) in enumerate(zip(starts, ends, strict=True))]
    path = Path(company.path).parent / "random.csv"
    path.write_text("\n".join(rows) + "\n")
    assert not ingest_paths(company, "generic", [path], kind="contacts").failed
    got = metrics.compute(company, "resolution_time_business", start="2024-11-01",
                          end="2025-01-01", by="queue", filters={"source": "r"})
    by_queue = {r["queue"]: r["value"] for r in got}
    h = hours.stored(company)
    assert h is not None and h.borrowed == {"email": "phone"}
    expected = business_hours.business_seconds(h, "phone", list(starts), ends)
    assert [by_queue[f"r{i}"] for i in range(300)] == expected.tolist()


def test_a_new_holiday_moves_the_figure(company: Warehouse, tmp_path: Path) -> None:
    hours.load_file(company, _yaml(tmp_path / "h2.yaml", []))  # Christmas Day worked
    assert _by_queue(company, "resolution_time_business")["holiday"] == 3600 + 8 * 3600 + 3600
    hours.load_file(company, _yaml(tmp_path / "h3.yaml", ["2024-12-25", "2024-12-03"]))
    moved = _by_queue(company, "resolution_time_business")
    assert moved["night"] == 3600 and moved["holiday"] == 7200
    # The calendar is made again with the hours, in one write: a day per channel with hours
    # or borrowed ones, and no rows for the letters.
    channels = company.read("SELECT channel, calendar, count(*) FROM business_days "
                            "GROUP BY ALL ORDER BY 1")
    assert [(a, b) for a, b, _ in channels] == [("email", "phone"), ("phone", "phone")]


def test_fresh_file_and_a_file_from_v13(tmp_path: Path) -> None:
    fresh = duckdb.connect(str(tmp_path / "fresh.duckdb"))
    schema.migrate(fresh)
    assert fresh.execute("SELECT count(*) FROM business_days").fetchone() == (0,)
    old = duckdb.connect(str(tmp_path / "old.duckdb"))
    schema.migrate(old, target=13)
    old.execute("INSERT INTO opening_hours VALUES ('phone', 0, TIME '09:00', TIME '17:00', "
                "'Europe/London')")
    old.execute("INSERT INTO holidays VALUES (DATE '2024-12-02', NULL)")  # a Monday
    assert 14 in schema.migrate(old)
    rows = old.execute("SELECT day, open_start_s, open_end_s, open_before_s FROM business_days "
                       "WHERE day BETWEEN DATE '2024-11-25' AND DATE '2024-12-09' "
                       "AND open_end_s > 0 ORDER BY day").fetchall()
    assert [(r[0].isoformat(), r[1], r[2]) for r in rows] == [
        ("2024-11-25", 9 * 3600, 17 * 3600), ("2024-12-09", 9 * 3600, 17 * 3600)]
    assert rows[1][3] - rows[0][3] == 8 * 3600  # the holiday Monday between adds nothing


def test_the_option_in_the_catalogue() -> None:
    cat = definitions.default_catalogue()
    names = cat.names
    assert names.index("resolution_time_business") == names.index("resolution_time") + 1
    twin = cat.get("first_response_time_business")
    assert str(twin.value) == "first_response_business_seconds"
    assert twin.to_dict()["business_of"] == "first_response_time"
    assert "clock" not in cat.get("first_response_time").to_dict()  # its fingerprint stays
    bad = ("m:\n  label: M\n  description: d\n  fact: contacts\n  kind: count\n"
           "  unit: contacts\n  better: neither\n  business_hours: true\n")
    with pytest.raises(definitions.CatalogueError, match="no time a business clock"):
        definitions.loads(bad, origin="x.yaml")


def test_both_figures_through_the_api_and_the_dashboard(company: Warehouse,
                                                        tmp_path: Path) -> None:
    """No route knows the business clock: the twins are catalogue metrics like any other."""
    _, token = create_key(company, scopes=["read"], name="business clock")
    users.create_user(company, username="ana", password="a-long-passphrase", role="analyst")
    with TestClient(dashboard_app(company, tmp_path)) as c:
        names = [m["name"] for m in c.get(
            "/api/v1/metrics", headers={"Authorization": f"Bearer {token}"}).json()["metrics"]]
        assert {"resolution_time", "resolution_time_business"} <= set(names)
        got = c.get("/api/v1/metrics/resolution_time_business?from=2024-12-01&to=2024-12-31"
                    "&channel=letter", headers={"Authorization": f"Bearer {token}"}).json()
        assert got["metric"]["business_of"] == "resolution_time"
        assert [r["value"] for r in got["rows"]] == [65 * 3600]
        log_in(c, "ana", "a-long-passphrase")
        page = c.get("/app/metrics/resolution_time_business?start=2024-12-01&end=2024-12-31")
        assert page.status_code == 200 and "business hours" in page.text



def test_with_the_repeat_gaps_ready_made(company: Warehouse) -> None:
    """A fact built with the ready-made repeat gaps (which drop resolved_at unless asked)
    keeps the ends the business times need."""
    tables = Tables(connect(duckdb_connection=company.new_cursor()))
    tables.ready = Ready(labels=True, repeats=True)
    t = facts.build(tables, "contacts", {"queue", "resolution_business_seconds",
                                         "repeat_gap_seconds"})
    rows = t.select("queue", "resolution_business_seconds").to_pyarrow().to_pylist()
    assert {r["queue"]: r["resolution_business_seconds"] for r in rows} == {
        q: s for q, _, _, _, s in SPANS}
