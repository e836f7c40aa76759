"""The opening hours and holidays as one document, read and changed whole or a holiday at a
time (the API's `/api/v1/calendar`; the YAML goes through `hours.load_file`).

The document is the YAML's shape (`hours.document`): timezone, each channel's week, holidays,
business_hours borrowings. A change is checked field by field first (`hours.parse`, every fault
named), then written in one transaction of the warehouse's single writer with the business
calendar (`business_days`) made again, so a reader sees either the old calendar or the new one,
never hours without their business times. Everything that reads the calendar reads it from the
warehouse when asked (`hours.stored`); the only copies are the public page's cached figures,
which the API forgets after a change (web/api/v1/calendar.py).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import duckdb

from cxhub.domain.errors import CxhubError
from cxhub.services.forecast import hours
from cxhub.warehouse import Warehouse, business_days


class NotFound(CxhubError):
    pass


def current(wh: Warehouse) -> dict[str, Any] | None:
    """The stored calendar as a document, or None when no opening hours were ever stored."""
    h = hours.stored(wh)
    return None if h is None else hours.document(h)


def replace(wh: Warehouse, doc: Any) -> dict[str, Any]:
    """Check `doc` (raises HoursError with every fault) and store it in place of the calendar."""
    return hours.document(hours.store(wh, hours.parse(doc, "calendar")))


def _day(value: Any, field: hours.FieldPath) -> dt.date:
    problems: hours.Problems = []
    day = hours.holiday(value, field, problems)
    if day is None:
        raise hours.HoursError(f"{'.'.join(map(str, field))}: {problems[0][1]}", problems)
    return day


def add_holiday(wh: Warehouse, value: Any) -> tuple[dict[str, Any], bool]:
    """Make a day a holiday for every channel: (the calendar, whether it was not one before).
    Needs stored opening hours (NotFound): a holiday closes hours, and the time zone is theirs."""
    day = _day(value, ("date",))

    def job(con: duckdb.DuckDBPyConnection) -> bool:
        _need_hours(con)
        row = con.execute("SELECT count(*) FROM holidays WHERE day = ?", [day]).fetchone()
        if row and row[0]:
            return False
        con.execute("INSERT INTO holidays VALUES (?, NULL)", [day])
        business_days.rebuild(con)  # None: the borrowings stay as they are
        return True

    added: bool = wh.write(job, groupable=False)
    return _after(wh), added


def remove_holiday(wh: Warehouse, value: Any) -> dict[str, Any]:
    """Make a holiday an ordinary day again (NotFound when it is not a holiday)."""
    day = _day(value, ("day",))

    def job(con: duckdb.DuckDBPyConnection) -> None:
        _need_hours(con)
        row = con.execute("SELECT count(*) FROM holidays WHERE day = ?", [day]).fetchone()
        if not row or not row[0]:
            raise NotFound(f"{day} is not a holiday")
        con.execute("DELETE FROM holidays WHERE day = ?", [day])
        business_days.rebuild(con)

    wh.write(job, groupable=False)
    return _after(wh)


def _need_hours(con: duckdb.DuckDBPyConnection) -> None:
    row = con.execute("SELECT count(*) FROM opening_hours").fetchone()
    if not row or not row[0]:
        raise NotFound("no opening hours stored: PUT /api/v1/calendar first "
                       "(or `cxhub forecast hours FILE`)")


def _after(wh: Warehouse) -> dict[str, Any]:
    doc = current(wh)
    assert doc is not None  # the change needed stored hours
    return doc
