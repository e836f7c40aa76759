"""The opening hours and holidays over REST: the calendar the forecast, the staffing plan, the
public page's "open now" and the business-hour metrics share (docs/forecast.md).

Reading needs `read`; changing it needs `admin` (it moves every business-hour figure and what
the public is told). A refusal is a 422 naming each faulty field (`loc`), and nothing of it is
stored. The public page's cached figures are forgotten after a change, so the page shows the
new hours at its next request (its live cards within their 2-second tick).
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from cxhub.services.forecast import calendar, hours
from cxhub.web.deps import WarehouseDep, require_scope

router = APIRouter(prefix="/api/v1/calendar", tags=["calendar"])
READ = [require_scope("read")]
ADMIN = [require_scope("admin")]
log = logging.getLogger(__name__)

_WEEK = ("Weekday (mon, tue, wed, thu, fri, sat, sun) -> `HH:MM-HH:MM` (opens-closes, on the "
         "company's clock) or `closed`; a day left out is closed")


class Calendar(BaseModel):
    """The calendar, in the shape of the hours YAML (`cxhub forecast hours FILE`)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"example": {
        "timezone": "Europe/London",
        "channels": {"phone": {"mon": "08:00-20:00", "tue": "08:00-20:00",
                               "wed": "08:00-20:00", "thu": "08:00-20:00",
                               "fri": "08:00-20:00", "sat": "09:00-17:00", "sun": "closed"}},
        "holidays": ["2026-12-25", "2026-12-28"],
        "business_hours": {"email": "phone"}}})

    timezone: str = Field("UTC", description="IANA time zone of the hours (Europe/London)")
    channels: dict[str, dict[str, str | None]] = Field(
        description="Channel (phone, chat ...) -> its week. " + _WEEK)
    holidays: list[str] = Field([], description="Days every channel is closed (YYYY-MM-DD)")
    business_hours: dict[str, str] = Field(
        {}, description="Channel without hours of its own -> the channel whose hours its "
        "business clock keeps (email: phone)")


class Holiday(BaseModel):
    model_config = ConfigDict(extra="forbid")
    date: str = Field(description="The day every channel is closed (YYYY-MM-DD)")


def _refused(exc: hours.HoursError, where: str = "body") -> HTTPException:
    return HTTPException(422, [{"loc": [where, *path], "msg": reason, "type": "value_error"}
                               for path, reason in exc.problems] or str(exc))


def _changed(request: Request, what: str) -> None:
    """After a change: the public page's cached figures were made from the old calendar."""
    cache = getattr(request.app.state, "public_cache", None)
    if cache is not None:
        cache.forget()
    log.info("calendar changed through the API: %s", what)


@router.get("", dependencies=READ, response_model=Calendar,
            summary="The opening hours and holidays")
def get_calendar(wh: WarehouseDep) -> dict[str, Any]:
    doc = calendar.current(wh)
    if doc is None:
        raise HTTPException(404, "no opening hours stored: PUT /api/v1/calendar "
                                 "(or `cxhub forecast hours FILE`)")
    return doc


@router.put("", dependencies=ADMIN, response_model=Calendar,
            summary="Replace the whole calendar (hours, holidays, borrowings)")
def put_calendar(body: Calendar, request: Request, wh: WarehouseDep) -> dict[str, Any]:
    try:
        doc = calendar.replace(wh, body.model_dump())
    except hours.HoursError as exc:
        raise _refused(exc) from None
    _changed(request, "replaced")
    return doc


@router.post("/holidays", dependencies=ADMIN, response_model=Calendar,
             summary="Add a holiday (201; 200 when it already was one)",
             responses={201: {"description": "Added; the calendar as it is now"}})
def add_holiday(body: Holiday, request: Request, wh: WarehouseDep) -> JSONResponse:
    try:
        doc, added = calendar.add_holiday(wh, body.date)
    except hours.HoursError as exc:
        raise _refused(exc) from None
    except calendar.NotFound as exc:
        raise HTTPException(404, str(exc)) from None
    if added:
        _changed(request, f"holiday {body.date} added")
    return JSONResponse(doc, status_code=201 if added else 200)


@router.delete("/holidays/{day}", dependencies=ADMIN, response_model=Calendar,
               summary="Make a holiday an ordinary day again")
def remove_holiday(day: str, request: Request, wh: WarehouseDep) -> dict[str, Any]:
    try:
        doc = calendar.remove_holiday(wh, day)
    except hours.HoursError as exc:
        raise _refused(exc, "path") from None
    except calendar.NotFound as exc:
        raise HTTPException(404, str(exc)) from None
    _changed(request, f"holiday {day} removed")
    return doc
