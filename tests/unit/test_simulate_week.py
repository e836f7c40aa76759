"""The demo company's own week: a UK week (Monday busiest, Saturday lower, Sunday lowest and the
phone closed), calls and chats only in opening hours, bank holidays closed; and the planning
files (opening_hours.yaml, calendar.csv, roster.csv) that say so."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from cxhub.simulate import rates as r
from cxhub.simulate import simulate, week
from cxhub.simulate.workforce import AHEAD_DAYS

pytestmark = pytest.mark.slow

START = date(2026, 3, 2)  # a Monday; the period holds Easter and both May bank holidays
DAYS = 91


@pytest.fixture(scope="module")
def company(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("uk-week")
    simulate(out, customers=25_000, days=DAYS, seed=21, start=START)
    return out


@pytest.fixture(scope="module")
def contacts(company: Path) -> pd.DataFrame:
    c = pd.read_csv(company / "contact_centre/contacts.csv", dtype=str, keep_default_na=False)
    truth = pd.read_csv(company / "truth/contacts.csv", dtype=str, keep_default_na=False)
    c = c.merge(truth[["external_id", "incident"]], on="external_id", validate="one_to_one")
    c["created"] = pd.to_datetime(c["created_at"])
    return c


def test_bank_holidays_of_england_and_wales() -> None:
    # Published dates (gov.uk): 2026, with Boxing Day on a Saturday moved to Monday 28th.
    assert [d for d, _ in week.bank_holidays(2026)] == [
        date(2026, 1, 1), date(2026, 4, 3), date(2026, 4, 6), date(2026, 5, 4),
        date(2026, 5, 25), date(2026, 8, 31), date(2026, 12, 25), date(2026, 12, 28)]
    assert date(2025, 4, 18) in [d for d, _ in week.bank_holidays(2025)]  # Good Friday 2025


def test_the_week_is_a_uk_week(contacts: pd.DataFrame) -> None:
    holidays = {d for d, _ in week.holidays_between(START, DAYS)}
    # Per ordinary day: bank holidays and the days after them (when the calls that found the
    # phone closed come) left out.
    skip = holidays | {d + timedelta(days=1) for d in holidays}
    every_day = [START + timedelta(days=i) for i in range(DAYS)]
    ordinary_days = np.bincount([d.weekday() for d in every_day if d not in skip], minlength=7)
    # The release (a Monday or Tuesday and the days after) would tilt the week: left out too.
    ordinary = contacts[~contacts["created"].dt.date.isin(skip) & (contacts["incident"] == "")]
    for channel in ("phone", "chat", "email"):
        days = ordinary.loc[ordinary["channel"] == channel, "created"].dt.weekday
        per_day = np.bincount(days, minlength=7) / ordinary_days
        mon, sat, sun = per_day[0], per_day[5], per_day[6]
        assert mon > sat > sun, (channel, per_day.round(1).tolist())
        # Monday is the busiest: clearly for phone (Sunday's callers come on Monday); on the
        # other channels the measured shares of the two busiest days differ by 0.7%, which
        # Poisson noise over 13 weeks can reverse.
        top = per_day.max() if channel == "phone" else 0.95 * per_day.max()
        assert mon >= top, (channel, per_day.round(1).tolist())
    phone = contacts[contacts["channel"] == "phone"]
    assert (phone["created"].dt.weekday < 6).all()  # Sunday: closed
    assert not phone["created"].dt.date.isin(holidays).any()
    # The measured shape, reordered: the five working days' shares, sorted, are Monday..Friday.
    shape = week.uk_weekday_shape()
    assert list(shape[:5]) == sorted(shape[:5], reverse=True) and shape[5] > shape[6]


def test_calls_and_chats_only_in_opening_hours(contacts: pd.DataFrame) -> None:
    kinds = week.day_kinds(START, DAYS)
    day = (contacts["created"] - pd.Timestamp(START)).dt.days.to_numpy()
    hour = (contacts["created"].dt.hour + contacts["created"].dt.minute / 60).to_numpy()
    for channel in week.LIVE_CHANNELS:
        rows = (contacts["channel"] == channel).to_numpy()
        lo, hi = week.opening(channel, kinds[day[rows]])
        assert ((hour[rows] >= lo) & (hour[rows] < hi)).all(), channel
    # Written channels arrive around the clock, with a daily shape (the evening busier than
    # the small hours).
    email = contacts.loc[contacts["channel"] == "email", "created"].dt.hour
    assert (email >= 20).mean() > 0.1 and (email < 6).mean() < 0.02


def test_opening_hours_file_matches_the_simulated_hours(company: Path) -> None:
    doc = yaml.safe_load((company / "opening_hours.yaml").read_text())
    assert doc["timezone"] == "Europe/London"
    assert doc["channels"]["phone"]["mon"] == "08:00-20:00"
    assert doc["channels"]["phone"]["sun"] == "closed"
    assert doc["channels"]["chat"]["sat"] == "09:00-18:00"
    assert [str(h) for h in doc["holidays"]] == [
        "2026-04-03", "2026-04-06", "2026-05-04", "2026-05-25"]
    # E-mail, web forms and letters keep the phone team's hours on their business clocks (the
    # file is written by hand: this failed while only the in-memory document said so).
    assert doc["business_hours"] == {"email": "phone", "web": "phone", "letter": "phone"}
    from cxhub.services.forecast import hours

    assert hours.parse(doc, where="opening_hours.yaml").borrowed == doc["business_hours"]


def test_calendar_has_the_campaign_and_holidays_not_the_incidents(company: Path) -> None:
    cal = pd.read_csv(company / "calendar.csv", dtype=str, keep_default_na=False)
    assert list(cal.columns) == ["source", "external_id", "kind", "name", "starts_at",
                                 "ends_at", "channel", "cause", "expected_lift"]
    events = json.loads((company / "truth" / "events.json").read_text())
    campaign = cal[cal["kind"] == "campaign"].iloc[0]
    start = date.fromisoformat(events["marketing_campaign"]["start"])
    assert campaign["starts_at"] == f"{start} 00:00:00"
    demand_end = date.fromisoformat(events["marketing_campaign"]["end_exclusive"]) + timedelta(7)
    assert campaign["ends_at"] == f"{min(demand_end, START + timedelta(DAYS))} 00:00:00"
    assert float(campaign["expected_lift"]) == pytest.approx(1 + r.CAMPAIGN_UPLIFT)
    assert set(cal["kind"]) == {"campaign", "holiday"}  # the release was not known in advance
    assert len(cal[cal["kind"] == "holiday"]) == 4


def test_roster_follows_demand_with_planted_misses(company: Path,
                                                   contacts: pd.DataFrame) -> None:
    roster = pd.read_csv(company / "roster.csv", dtype=str, keep_default_na=False)
    assert list(roster.columns) == ["source", "external_id", "channel", "team", "starts_at",
                                    "ends_at", "agents"]
    roster["agents"] = roster["agents"].astype(int)
    roster["start"] = pd.to_datetime(roster["starts_at"])
    assert (roster["agents"] >= 1).all() and roster["external_id"].is_unique
    assert set(roster["channel"]) == {"phone", "chat"}
    # Half hours only while open: no phone rota on Sundays or bank holidays.
    phone = roster[roster["channel"] == "phone"]
    assert (phone["start"].dt.weekday < 6).all()
    assert (phone["start"].dt.hour >= 8).all() and (phone["start"].dt.hour < 20).all()
    # Scheduled agents follow the calls that arrived: by day (a half hour's few calls are
    # mostly Poisson noise) and over the hours of the day.
    calls = contacts[contacts["channel"] == "phone"]
    daily = pd.concat([phone.groupby(phone["start"].dt.date)["agents"].sum(),
                       calls.groupby(calls["created"].dt.date).size().rename("calls")], axis=1)
    # (The day's staffing noise, 12%, and rounding a few agents are deliberate misses.)
    assert daily["agents"].corr(daily["calls"]) > 0.6
    hourly = pd.concat([phone.groupby(phone["start"].dt.hour)["agents"].sum(),
                        calls.groupby(calls["created"].dt.hour).size().rename("calls")], axis=1)
    assert hourly["agents"].corr(hourly["calls"]) > 0.9
    arrived = calls.groupby(calls["created"].dt.floor("30min")).size()
    both = phone.set_index("start")["agents"].to_frame().join(arrived.rename("calls")).fillna(0)
    # The rota's deliberate misses: the simulated waits are longer in the half hours it
    # under-staffed (agents low for the calls that came) than in those it over-staffed.
    both["per_agent"] = both["calls"] / both["agents"]
    answered = calls[calls["wait_seconds"] != ""]
    wait = answered.groupby(answered["created"].dt.floor("30min"))["wait_seconds"].apply(
        lambda w: w.astype(float).mean())
    both = both.join(wait.rename("wait")).dropna()
    busy = both["per_agent"] > both["per_agent"].quantile(0.9)
    quiet = both["per_agent"] < both["per_agent"].quantile(0.1)
    assert both.loc[busy, "wait"].mean() > both.loc[quiet, "wait"].mean()


def test_the_rota_runs_two_weeks_ahead_with_its_planted_gap(company: Path) -> None:
    """A rota is published ahead: the staffing plan sets the forecast's need against it, and
    the gap planted in it (a phone afternoon at 60 % of the need) is there to be found."""
    roster = pd.read_csv(company / "roster.csv", dtype=str, keep_default_na=False)
    roster["agents"] = roster["agents"].astype(int)
    roster["start"] = pd.to_datetime(roster["starts_at"])
    end = pd.Timestamp(START + timedelta(days=DAYS))
    ahead = roster[roster["start"] >= end]
    assert ahead["start"].max() < end + pd.Timedelta(days=AHEAD_DAYS)
    assert ahead["start"].dt.date.nunique() == 14  # chat opens on Sundays, phones do not
    assert ahead.loc[ahead["channel"] == "phone", "start"].dt.date.nunique() == 12
    gap = json.loads((company / "truth" / "events.json").read_text())["rota_gap"]
    assert (gap["channel"], gap["from"], gap["to"]) == ("phone", "13:00", "17:00")
    day = pd.Timestamp(gap["date"])
    assert end <= day < end + pd.Timedelta(days=7) and day.weekday() < 5
    phone = ahead[ahead["channel"] == "phone"].set_index("start")["agents"]
    that_day = phone[phone.index.normalize() == day]
    week_after = phone[phone.index.normalize() == day + pd.Timedelta(days=7)]
    week_after.index = week_after.index - pd.Timedelta(days=7)
    inside = (that_day.index.hour >= 13) & (that_day.index.hour < 17)
    # The same kind of day a week later is rostered at the need: the afternoon is short by
    # about 40 %, the rest of the day the same.
    short = that_day[inside].sum() / week_after[inside].sum()
    assert 0.45 < short < 0.8, short
    assert that_day[~inside].equals(week_after[~inside])


def test_hourly_factor_keeps_the_week_for_a_live_feed() -> None:
    """Mean 1 over an ordinary week; 0 while a live channel is closed."""
    monday = datetime(2026, 6, 8)  # an ordinary week
    hours = [monday + timedelta(hours=h) for h in range(7 * 24)]
    for channel in ("phone", "chat", "email"):
        factors = [week.hourly_factor(channel, h) for h in hours]
        assert sum(factors) / len(factors) == pytest.approx(1.0, abs=0.01), channel
    assert week.hourly_factor("phone", datetime(2026, 6, 8, 22)) == 0  # Monday 22:00
    assert week.hourly_factor("phone", datetime(2026, 6, 14, 11)) == 0  # Sunday
    assert week.hourly_factor("phone", datetime(2026, 5, 25, 11)) == 0  # a bank holiday
    assert week.hourly_factor("phone", datetime(2026, 6, 8, 10)) > 2
    assert week.hourly_factor("email", datetime(2026, 6, 14, 22)) > 0
