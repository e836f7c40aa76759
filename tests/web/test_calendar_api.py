"""The calendar over REST (/api/v1/calendar) on the whole app and a real warehouse file: GET and
PUT round trip, each refusal naming its field with nothing stored, scopes, the holiday edits,
and what a change moves at once: a business-hour metric (counted by hand) and the public
page's "open now" (its cached figures and its live cards)."""

from __future__ import annotations

import copy
import datetime as dt
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient

from cxhub.services.access import keys
from cxhub.services.forecast import calendar, hours
from cxhub.services.records.files import ingest_paths
from cxhub.settings import Settings
from cxhub.warehouse import Warehouse
from cxhub.web.app import create_app

pytestmark = pytest.mark.filterwarnings(
    "ignore:fetch_arrow_table\\(\\) is deprecated:DeprecationWarning")

WEEKDAYS = {d: "09:00-17:00" for d in ("mon", "tue", "wed", "thu", "fri")}
CALENDAR: dict[str, Any] = {
    "timezone": "Europe/London",
    "channels": {"phone": {**WEEKDAYS, "sat": "closed", "sun": "closed"}},
    "holidays": ["2024-12-25"],
    "business_hours": {"email": "phone"},
}
METRIC = "/api/v1/metrics/first_response_time_business?from=2024-12-01&to=2024-12-31"


@pytest.fixture
def api(warehouse: Warehouse, tmp_path: Path) -> Iterator[tuple[TestClient, dict[str, dict]]]:
    # One e-mail answered in the phone team's hours: asked Friday 16:30, answered Monday
    # 09:30: 30 open minutes on Friday and 30 on Monday.
    (tmp_path / "c.csv").write_text(
        "source,external_id,channel,created_at,first_response_at\n"
        "t,e1,email,2024-12-06 16:30:00,2024-12-09 09:30:00\n")
    assert not ingest_paths(warehouse, "generic", [tmp_path / "c.csv"], kind="contacts").failed
    headers = {s: {"Authorization": f"Bearer {keys.create_key(warehouse, scopes=[s])[1]}"}
               for s in ("read", "ingest", "admin")}
    with TestClient(create_app(Settings(home=tmp_path), warehouse=warehouse)) as client:
        assert client.put("/api/v1/calendar", json=CALENDAR,
                          headers=headers["admin"]).status_code == 200
        yield client, headers


def _business_seconds(client: TestClient, headers: dict) -> float:
    r = client.get(METRIC, headers=headers)
    assert r.status_code == 200, r.text
    (row,) = r.json()["rows"]
    return float(row["value"])


def test_round_trip_and_what_a_change_moves(api: tuple[TestClient, dict[str, dict]],
                                            warehouse: Warehouse) -> None:
    client, h = api
    got = client.get("/api/v1/calendar", headers=h["read"])
    assert got.status_code == 200 and got.json() == CALENDAR
    again = client.put("/api/v1/calendar", json=got.json(), headers=h["admin"])
    assert again.status_code == 200 and again.json() == CALENDAR
    assert client.get("/api/v1/calendar", headers=h["read"]).json() == CALENDAR
    assert _business_seconds(client, h["read"]) == 3600.0

    # Saturdays open 10:00-12:30: 1800 (Friday) + 9000 (Saturday) + 1800 (Monday).
    saturday = copy.deepcopy(CALENDAR)
    saturday["channels"]["phone"]["sat"] = "10:00-12:30"
    r = client.put("/api/v1/calendar", json=saturday, headers=h["admin"])
    assert r.status_code == 200 and r.json() == saturday
    assert _business_seconds(client, h["read"]) == 1800.0 + 9000.0 + 1800.0
    # Monday 9 December a holiday: the answer came before any open minute of the week after.
    r = client.post("/api/v1/calendar/holidays", json={"date": "2024-12-09"},
                    headers=h["admin"])
    assert r.status_code == 201 and "2024-12-09" in r.json()["holidays"]
    assert client.post("/api/v1/calendar/holidays", json={"date": "2024-12-09"},
                       headers=h["admin"]).status_code == 200  # already one
    assert _business_seconds(client, h["read"]) == 1800.0 + 9000.0
    r = client.delete("/api/v1/calendar/holidays/2024-12-09", headers=h["admin"])
    assert r.status_code == 200 and r.json()["holidays"] == ["2024-12-25"]
    assert client.delete("/api/v1/calendar/holidays/2024-12-09",
                         headers=h["admin"]).status_code == 404
    bad = client.delete("/api/v1/calendar/holidays/2024-13-45", headers=h["admin"])
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["path", "day"]
    assert _business_seconds(client, h["read"]) == 1800.0 + 9000.0 + 1800.0
    # The borrowing dropped: e-mail counts every second of its 65 hours.
    own = {k: v for k, v in saturday.items() if k != "business_hours"}
    assert client.put("/api/v1/calendar", json=own, headers=h["admin"]).status_code == 200
    assert _business_seconds(client, h["read"]) == 65 * 3600.0
    assert warehouse.read("SELECT DISTINCT channel FROM business_days") == [("phone",)]


def _phone(rows: list[dict]) -> dict:
    return next(r for r in rows if r["channel"] == "phone")


def test_the_public_page_sees_a_change_at_once(api: tuple[TestClient, dict[str, dict]]) -> None:
    client, h = api
    every_day = {d: "00:00-23:59:59" for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
    doc = {"timezone": "UTC", "channels": {"phone": every_day}, "holidays": []}
    assert client.put("/api/v1/calendar", json=doc, headers=h["admin"]).status_code == 200
    assert _live_opening(client)["open"] is True
    # Asked once, the page's figures are cached for 30 s ...
    before = _phone(client.get("/public/api/outlook").json()["opening"])
    assert before["open"] is True and before["closes"] == "23:59"
    today = dt.datetime.now(dt.UTC).date().isoformat()
    r = client.post("/api/v1/calendar/holidays", json={"date": today}, headers=h["admin"])
    assert r.status_code == 201
    # ... and a change through the API makes the next visitor's figures afresh.
    after = _phone(client.get("/public/api/outlook").json()["opening"])
    assert after["open"] is False and after["opens"] != "00:00"
    # The live cards are made again every 2 seconds from the warehouse.
    assert _live_opening(client, until_open=False)["open"] is False


def _live_opening(client: TestClient, until_open: bool = True) -> dict:
    """The live phone card's opening status, once it says `until_open` (or after 10 s)."""
    deadline = time.monotonic() + 10
    while True:
        opening = _phone(client.get("/public/api/live").json()["channels"]).get("opening", {})
        if opening.get("open") is until_open or time.monotonic() > deadline:
            return opening
        time.sleep(0.2)


REFUSALS = [
    ({"channels": {"phone": {"mon": "08:00-25:00"}}}, ["channels", "phone", "mon"],
     "'08:00-25:00' is not a time span"),
    ({"channels": {"phone": {"mon": "20:00-08:00"}}}, ["channels", "phone", "mon"],
     "closes before it opens"),
    ({"channels": {"phone": {"monday": "08:00-20:00"}}}, ["channels", "phone", "monday"],
     "not a day"),
    ({"channels": {"fax": {"mon": "08:00-20:00"}}}, ["channels", "fax"], "unknown channel"),
    ({"channels": {}}, ["channels"], "at least one channel"),
    ({"timezone": "Mars/Base"}, ["timezone"], "unknown timezone 'Mars/Base'"),
    ({"holidays": ["2024-12-25", "25/12/2024"]}, ["holidays", "1"], "is not a date"),
    ({"business_hours": {"email": "chat"}}, ["business_hours", "email"], "has no opening hours"),
    ({"business_hours": {"fax": "phone"}}, ["business_hours", "fax"], "unknown channel"),
    ({"business_hours": {"phone": "phone"}}, ["business_hours", "phone"], "of its own"),
    ({"holiday": ["2024-12-26"]}, ["holiday"], "Extra inputs are not permitted"),
]


def test_each_refusal_names_its_field_and_stores_nothing(
        api: tuple[TestClient, dict[str, dict]], warehouse: Warehouse) -> None:
    client, h = api
    stored = warehouse.read("SELECT * FROM business_days ORDER BY channel, day LIMIT 5000")
    for change, loc, msg in REFUSALS:
        body = {**copy.deepcopy(CALENDAR), **change}
        r = client.put("/api/v1/calendar", json=body, headers=h["admin"])
        assert r.status_code == 422, (change, r.text)
        errors = r.json()["detail"]
        assert [str(p) for p in errors[0]["loc"]] == ["body", *loc], (change, errors)
        assert msg in errors[0]["msg"], (change, errors)
    # Two faults: both named in one answer.
    body = {**CALENDAR, "timezone": "Mars/Base", "holidays": ["soon"]}
    errors = client.put("/api/v1/calendar", json=body, headers=h["admin"]).json()["detail"]
    assert [e["loc"] for e in errors] == [["body", "timezone"], ["body", "holidays", 0]]
    assert client.get("/api/v1/calendar", headers=h["read"]).json() == CALENDAR
    assert warehouse.read(
        "SELECT * FROM business_days ORDER BY channel, day LIMIT 5000") == stored


def test_scopes_and_the_openapi_body(api: tuple[TestClient, dict[str, dict]]) -> None:
    client, h = api
    changed = {**CALENDAR, "holidays": []}
    for who in ("read", "ingest"):
        assert client.put("/api/v1/calendar", json=changed, headers=h[who]).status_code == 403
        assert client.post("/api/v1/calendar/holidays", json={"date": "2024-12-26"},
                           headers=h[who]).status_code == 403
    assert client.put("/api/v1/calendar", json=changed).status_code == 401
    assert client.get("/api/v1/calendar").status_code == 401
    assert client.get("/api/v1/calendar", headers=h["ingest"]).status_code == 403
    assert client.get("/api/v1/calendar", headers=h["admin"]).json() == CALENDAR

    spec = client.get("/openapi.json").json()
    body = spec["paths"]["/api/v1/calendar"]["put"]["requestBody"]["content"]
    ref = body["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    schema = spec["components"]["schemas"][ref]
    assert set(schema["properties"]) == {"timezone", "channels", "holidays", "business_hours"}
    assert "08:00-20:00" in str(schema["example"])


def test_the_file_is_checked_and_stored_as_the_api_does(warehouse: Warehouse,
                                                         tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("timezone: Mars/Base\nchannels:\n  phone: {mon: '08:00-25:00', sunday: "
                   "closed}\nholidays: [2025-12-25, 2025-13-01]\n")
    with pytest.raises(hours.HoursError) as refused:
        hours.load_file(warehouse, bad)
    assert [p for p, _ in refused.value.problems] == [
        ("timezone",), ("channels", "phone", "sunday"), ("channels", "phone", "mon"),
        ("holidays", 1)]
    assert f"{bad}: holidays.1: '2025-13-01' is not a date" in str(refused.value)
    assert hours.stored(warehouse) is None  # nothing stored
    good = tmp_path / "good.yaml"
    good.write_text(yaml.safe_dump(CALENDAR))
    hours.load_file(warehouse, good)
    assert calendar.current(warehouse) == CALENDAR
