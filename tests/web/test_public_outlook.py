"""The public page's forward look (services/public/outlook.py) on a small phone company with a
known rate, a roster and opening hours (tests/warehouse/forecast_data.py): the expected wait now
from Erlang A with the agents on duty and the forecast, its fallbacks said by `basis`, the
opening status, and the quietest open hours of the next 7 days."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from tests.warehouse.forecast_data import ORIGIN, build

from cxhub.analytics.staffing import agents_needed, erlang_a
from cxhub.services.forecast import hours, plan, public, run
from cxhub.services.public import outlook as public_outlook
from cxhub.warehouse import Warehouse
from cxhub.web.public.privacy import check

pytestmark = pytest.mark.filterwarnings(
    "ignore:fetch_arrow_table\\(\\) is deprecated:DeprecationWarning")
TUESDAY = dt.datetime.combine(ORIGIN + dt.timedelta(days=1), dt.time(11, 10))  # January: UTC


def _forecast(wh: Warehouse, at: dt.datetime) -> float:
    row = wh.read_one("SELECT point FROM forecasts WHERE interval_start = ?",
                      [at.replace(minute=at.minute // 30 * 30)])
    return float(row[0])


def _phone(data: dict) -> dict:
    return next(c for c in data["channels"] if c["channel"] == "phone")


@pytest.fixture
def company(warehouse: Warehouse, tmp_path: Path) -> Warehouse:
    build(warehouse, tmp_path)
    run.run(warehouse, minutes=30, h_days=7, origin=ORIGIN, candidates=("profile_mean",))
    return warehouse


def test_expected_wait_now_from_the_roster_and_the_forecast(company: Warehouse) -> None:
    phone = _phone(public_outlook.live_snapshot(company, min_count=10, now=TUESDAY))
    assert phone["opening"] == {"open": True, "closes": "20:00"}
    wait = phone["expected_wait"]
    assert wait["basis"] == "forecast" and not wait["suppressed"]
    # By hand: Erlang A with the 4 agents rostered, this half hour's forecast calls and the
    # handling time and patience of the four weeks before.
    aht, patience = plan.channel_history(company, "phone", TUESDAY)
    by_hand = erlang_a(4, _forecast(company, TUESDAY), 1800, aht, 0, patience).asa_seconds
    assert wait["value"] == pytest.approx(float(by_hand), abs=0.05)
    # Not the old figure: no contact was answered in the last 30 minutes of this clock.
    assert wait["value"] > 0

    # No roster for now: the agents the staffing plan needs for the forecast, said so.
    company.write(lambda con: con.execute("DELETE FROM rosters").fetchall())
    wait = _phone(public_outlook.live_snapshot(company, min_count=10, now=TUESDAY))[
        "expected_wait"]
    need = int(agents_needed(_forecast(company, TUESDAY), 1800, aht, 0.8, 20, patience))
    assert wait["basis"] == "forecast_plan"
    assert wait["value"] == pytest.approx(
        float(erlang_a(need, _forecast(company, TUESDAY), 1800, aht, 0, patience).asa_seconds),
        abs=0.05)


def test_closed_channels_and_no_forecast_fall_back(company: Warehouse) -> None:
    sunday = dt.datetime.combine(ORIGIN + dt.timedelta(days=6), dt.time(11, 0))
    assert sunday.weekday() == 6
    phone = _phone(public_outlook.live_snapshot(company, min_count=10, now=sunday))
    assert phone["opening"] == {"open": False, "opens": "Mon 08:00"}
    assert phone["expected_wait"]["basis"] == "measured"
    chat = next(c for c in public_outlook.live_snapshot(company, min_count=10, now=TUESDAY)[
        "channels"] if c["channel"] == "chat")
    assert "opening" not in chat and chat["expected_wait"]["basis"] == "measured"
    # Before the forecast's first day there is neither forecast nor roster: measured wait,
    # and no forward recommendation (the page keeps its look-back hint).
    early = TUESDAY - dt.timedelta(days=7)
    assert _phone(public_outlook.live_snapshot(company, min_count=10, now=early))[
        "expected_wait"]["basis"] == "measured"
    company.write(lambda con: con.execute("DELETE FROM forecasts").fetchall())
    assert public_outlook.outlook(company, now=TUESDAY)["recommended"] == []


def _runs(rows: list[dict], span: int = 2) -> list[tuple[float, str]]:
    """Every run of `span` consecutive hours: (mean wait, first hour)."""
    out = []
    for i in range(len(rows) - span + 1):
        a, b = (dt.datetime.fromisoformat(rows[j]["start"]) for j in (i, i + span - 1))
        if b - a == dt.timedelta(hours=span - 1):
            out.append((sum(r["wait_seconds"] for r in rows[i:i + span]) / span, rows[i]["start"]))
    return out


def test_the_quietest_open_hours_of_the_next_week(company: Warehouse, tmp_path: Path) -> None:
    found = public_outlook.outlook(company, now=TUESDAY)
    check(found)  # what the public page's gate lets out
    check(public_outlook.live_snapshot(company, min_count=10, now=TUESDAY))
    assert found["opening"] == [{"channel": "phone", "open": True, "closes": "20:00"}]
    assert found["days"] == 7
    (pick,) = found["recommended"]
    first = dt.datetime.fromisoformat(f"{pick['date']}T{pick['start']}")
    assert pick["weekday"] == first.weekday() != 6  # closed on Sundays
    assert dt.time(8) <= first.time() and pick["end"] <= "20:00"
    assert TUESDAY.replace(minute=0) <= first < TUESDAY + dt.timedelta(days=7)
    # The least mean wait over every two open hours in a row of the forecast, by hand.
    rows = public.best_times(company, "phone", days=7, at=TUESDAY)["hours"]
    best = min(_runs(rows))
    assert pick["value"] == pytest.approx(best[0], abs=0.05)
    assert pick["high"] >= pick["value"]

    # Closing at 17:30: the hour 17:00-18:00 is never recommended, though 17:00 is open.
    (tmp_path / "late.yaml").write_text(
        "timezone: Europe/London\nchannels:\n  phone: {mon: '08:00-17:30', tue: '08:00-17:30',"
        " wed: '08:00-17:30', thu: '08:00-17:30', fri: '08:00-17:30', sat: '08:00-17:30', "
        "sun: closed}\nholidays: []\n")
    hours.load_file(company, tmp_path / "late.yaml")
    (pick,) = public_outlook.outlook(company, now=TUESDAY)["recommended"]
    assert pick["end"] <= "17:00"
