"""Business-hour clocks: open seconds of the channel's calendar between two times, checked
against spans counted by hand (a night, a weekend, a holiday), and the figures per channel."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest

from cxhub.services.forecast import business_hours, hours
from cxhub.services.records.files import ingest_paths
from cxhub.warehouse import Warehouse

WEEKDAYS = "{mon: '09:00-17:00', tue: '09:00-17:00', wed: '09:00-17:00', thu: '09:00-17:00', " \
           "fri: '09:00-17:00', sat: closed, sun: closed}"
YAML = f"timezone: Europe/London\nchannels:\n  phone: {WEEKDAYS}\nholidays: [2024-12-25]\n"
BORROWED = YAML + "business_hours: {email: phone}\n"  # e-mail answered in the phone's hours
T = dt.datetime.fromisoformat


def test_open_seconds_between_two_times_by_hand() -> None:
    h = hours.parse({"timezone": "Europe/London",
                     "channels": {"phone": {d: "09:00-17:00" for d in
                                            ("mon", "tue", "wed", "thu", "fri")}},
                     "holidays": ["2024-12-25"]}, "test")
    spans = [  # (start, end, open seconds counted by hand)
        ("2024-12-02 10:00", "2024-12-02 12:30", 2.5 * 3600),   # inside one day
        ("2024-12-02 16:00", "2024-12-03 10:00", 2 * 3600),     # over a night
        ("2024-12-06 16:30", "2024-12-09 09:30", 3600),         # Friday to Monday
        ("2024-12-24 16:00", "2024-12-26 10:00", 2 * 3600),     # over Christmas Day
        ("2024-12-02 07:00", "2024-12-02 08:30", 0),            # before opening
        ("2024-12-07 10:00", "2024-12-08 18:00", 0),            # a weekend
        ("2024-12-02 09:00", "2024-12-13 17:00", 10 * 8 * 3600),  # two whole weeks
    ]
    got = business_hours.business_seconds(h, "phone", [T(a) for a, _, _ in spans],
                                          [T(b) for _, b, _ in spans])
    assert got.tolist() == [s for _, _, s in spans]
    # A channel without recorded hours counts every second; a missing end gives no figure.
    clock = business_hours.business_seconds(h, "email", [T("2024-12-06 16:30")],
                                            [T("2024-12-09 09:30")])
    assert clock.tolist() == [(T("2024-12-09 09:30") - T("2024-12-06 16:30")).total_seconds()]
    assert np.isnan(business_hours.business_seconds(h, "phone", [T("2024-12-02 10:00")],
                                                    [None])[0])


def test_response_and_resolution_times_both_ways(warehouse: Warehouse, tmp_path: Path) -> None:
    with pytest.raises(hours.HoursError, match="no opening hours"):
        business_hours.response_times(warehouse, start=T("2024-12-01"), end=T("2024-12-31"))
    (tmp_path / "hours.yaml").write_text(BORROWED)
    hours.load_file(warehouse, tmp_path / "hours.yaml")
    rows = ["source,external_id,channel,created_at,first_response_at,resolved_at",
            # Friday evening e-mails answered on Monday morning: 65 h on the clock, 1 h of
            # the phone team's business hours (16:30-17:00 and 09:00-09:30)
            "m,e1,email,2024-12-06 16:30:00,2024-12-09 09:30:00,2024-12-09 11:00:00",
            "m,e2,email,2024-12-06 16:30:00,2024-12-09 09:30:00,",
            "m,e3,email,2024-12-02 10:00:00,2024-12-02 11:00:00,2024-12-02 12:00:00"]
    (tmp_path / "c.csv").write_text("\n".join(rows) + "\n")
    assert not ingest_paths(warehouse, "generic", [tmp_path / "c.csv"], kind="contacts").failed
    (email,) = business_hours.response_times(warehouse, start=T("2024-12-01"),
                                             end=T("2024-12-31"))
    assert email["calendar"] == "phone" and email["first_response_n"] == 3
    assert email["first_response_seconds"] == (T("2024-12-09 09:30") -
                                               T("2024-12-06 16:30")).total_seconds()
    assert email["first_response_business_seconds"] == 3600
    # Resolution: e1 2.5 business hours (16:30-17:00, 09:00-11:00), e3 2 hours: median 2.25 h.
    assert email["resolution_n"] == 2 and email["resolution_business_seconds"] == 2.25 * 3600
    # Without a calendar to borrow, the e-mails count every hour: both figures agree.
    (tmp_path / "hours.yaml").write_text(YAML)
    hours.load_file(warehouse, tmp_path / "hours.yaml")
    (clock,) = business_hours.response_times(warehouse, start=T("2024-12-01"),
                                             end=T("2024-12-31"))
    assert clock["calendar"] == "around the clock"
    assert clock["first_response_business_seconds"] == clock["first_response_seconds"]
