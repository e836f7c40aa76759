"""What the public page asks: open now and until when, the expected wait from Erlang A with
the current queue, and the quietest hours of the next days from the forecast and the roster."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from tests.warehouse.forecast_data import ORIGIN, build

from cxhub.services.forecast import hours, plan, public, run
from cxhub.services.records.files import ingest_paths
from cxhub.warehouse import Warehouse


def test_opening_hours_say_open_now_and_when_it_closes() -> None:
    h = hours.parse({"timezone": "Europe/London",
                     "channels": {"phone": {"mon": "08:00-20:00", "sat": "09:00-17:00"}},
                     "holidays": ["2024-12-25"]}, "test")
    assert h.status_local("phone", dt.datetime(2024, 12, 23, 9, 30))["text"] == \
        "open now, closes at 20:00"
    assert h.status_local("phone", dt.datetime(2024, 12, 23, 7, 0))["text"] == \
        "closed now, opens 08:00"
    assert h.status_local("phone", dt.datetime(2024, 12, 23, 21, 0))["opens"] == "Sat 09:00"
    # Summer time: 07:30 UTC is 08:30 in London.
    assert h.status("phone", dt.datetime(2024, 7, 1, 7, 30))["open"] is True
    with pytest.raises(hours.HoursError, match="channels.phone.mon.*closes before it opens"):
        hours.parse({"channels": {"phone": {"mon": "20:00-08:00"}}}, "x.yaml")
    with pytest.raises(hours.HoursError, match="unknown timezone 'Mars/Base'"):
        hours.parse({"timezone": "Mars/Base"}, "x.yaml")


def test_expected_wait_and_best_time(warehouse: Warehouse, tmp_path: Path) -> None:
    build(warehouse, tmp_path)
    run.run(warehouse, minutes=30, h_days=7, origin=ORIGIN, candidates=("profile_mean",))
    at = dt.datetime.combine(ORIGIN + dt.timedelta(days=1), dt.time(11, 10))  # Tuesday
    # Three callers waiting right now (no answer yet), with 4 agents rostered.
    rows = ["source,external_id,channel,created_at,queued_at"] + [
        f"live,w{i},phone,{at - dt.timedelta(minutes=i + 1)},{at - dt.timedelta(minutes=i + 1)}"
        for i in range(3)]
    (tmp_path / "waiting.csv").write_text("\n".join(rows) + "\n")
    ingest_paths(warehouse, "generic", [tmp_path / "waiting.csv"], kind="contacts")
    got = public.expected_wait(warehouse, "phone", at)
    assert got["basis"] == "queue" and got["waiting"] == 3 and got["agents"] == 4
    # The handling time and patience of the weeks before the day began.
    aht, patience = plan.channel_history(warehouse, "phone", dt.datetime.combine(at, dt.time()))
    by_hand = sum(1 / (4 / aht + i / patience) for i in range(4))
    assert got["seconds"] == pytest.approx(by_hand, abs=0.1)
    assert got["open"]["text"] == "open now, closes at 20:00"

    quiet = public.best_times(warehouse, "phone", days=7, at=at)
    assert quiet["hours"] and all(8 <= h["hour"] < 20 for h in quiet["hours"])
    assert all(h["weekday"] != "Sunday" for h in quiet["hours"])
    summary = quiet["summary"]
    assert summary["text"].startswith(f"quietest: {summary['weekday']} {summary['from']}-")
    best = min(h["wait_seconds"] for h in quiet["hours"])
    assert summary["wait_seconds"] >= best and summary["wait_seconds_high"] >= best


def test_the_weeks_before_the_day_are_read_once_a_day(warehouse: Warehouse,
                                                     tmp_path: Path) -> None:
    """The live tick asks for each voice channel every 2 s; four weeks of contacts are read
    once a day instead (each read kept by DuckDB: docs/reliability.md, the soak)."""
    build(warehouse, tmp_path)
    at = dt.datetime.combine(ORIGIN + dt.timedelta(days=1), dt.time(11, 10))
    first = plan.history_before_today(warehouse, "phone", at)
    assert first == plan.channel_history(warehouse, "phone", dt.datetime.combine(at, dt.time()))
    # A long call answered the evening before, loaded late: the day's figures stay as read.
    evening = at - dt.timedelta(hours=14)
    (tmp_path / "late.csv").write_text(
        "source,external_id,channel,created_at,answered_at,talk_seconds\n"
        f"late,l1,phone,{evening},{evening},90000\n")
    ingest_paths(warehouse, "generic", [tmp_path / "late.csv"], kind="contacts")
    assert plan.history_before_today(warehouse, "phone", at + dt.timedelta(hours=5)) == first
    tomorrow = plan.history_before_today(warehouse, "phone", at + dt.timedelta(days=1))
    assert tomorrow[0] > first[0]  # read again for the next day, with the long call


def test_beyond_the_roster_the_rota_of_an_earlier_week_stands_in(warehouse: Warehouse) -> None:
    # The roster covers one Monday only: a week later, the same hour has the same agents,
    # not the forecast's need (which would make every hour look equally quiet).
    monday = dt.datetime(2026, 11, 23, 10, 0)
    warehouse.write(lambda con: con.execute(
        "INSERT INTO rosters (roster_id, source, external_id, channel, starts_at, ends_at, "
        "agents) VALUES (1, 'rota', 'r1', 'phone', ?, ?, 7)",
        [monday, monday + dt.timedelta(minutes=30)]))
    assert public._rostered(warehouse, "phone", monday + dt.timedelta(minutes=10)) == 7
    later = monday + dt.timedelta(weeks=2, minutes=10)
    assert public._rostered(warehouse, "phone", later) == 7
    assert public._rostered(warehouse, "phone", monday + dt.timedelta(weeks=5)) == 0
    assert public._rostered(warehouse, "phone", monday + dt.timedelta(days=1)) == 0
