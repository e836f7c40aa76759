"""The public transparency page, its chart data, the live stream and the daily reports.

No login: everything here is aggregates only, checked by `privacy.check` before it leaves.
Routers stay thin; figures come from `charts`, `cxhub.services.public.live` and
`cxhub.services.public.reports`.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.templating import Jinja2Templates
from jinja2 import Undefined
from sse_starlette.sse import EventSourceResponse

from cxhub.metrics.definitions import format_duration
from cxhub.services.public import outlook as public_outlook
from cxhub.services.public import reports
from cxhub.services.public.figures import GRAINS, promises
from cxhub.settings import Settings
from cxhub.warehouse import Warehouse
from cxhub.web.public import charts
from cxhub.web.public.live import LiveTicker
from cxhub.web.public.privacy import EMAIL, PrivacyError, check

TEMPLATES = Path(__file__).resolve().parents[1] / "templates"
templates = Jinja2Templates(directory=str(TEMPLATES))
router = APIRouter(include_in_schema=False)
log = logging.getLogger(__name__)


def _fmt(value: Any, kind: str, missing: str = "not shown") -> str:
    """A figure as people read it; None is a suppressed (or absent) figure."""
    if value is None or isinstance(value, Undefined):
        return missing
    if kind == "count":
        return f"{round(value):,}"
    if kind == "pct":
        return f"{value * 100:.1f}%"
    if kind == "seconds":
        return format_duration(value)
    return f"{value:,}"


templates.env.filters["fmt"] = _fmt
templates.env.filters["label"] = lambda text: str(text).replace("_", " ").capitalize()

CHART_MAX_AGE = 30  # seconds a browser may reuse chart data; the server caches as long


def _wh(request: Request) -> Warehouse:
    return request.app.state.warehouse  # type: ignore[no-any-return]


def _min(request: Request) -> int:
    settings: Settings = request.app.state.settings
    return settings.min_public_count


def _cached(request: Request, key: tuple[Any, ...], fn: Any) -> bytes:
    """The chart document as checked JSON bytes: computed, checked and encoded once per
    cache period, however many visitors ask."""

    def encoded() -> bytes:
        try:
            document = fn()
        except Exception as exc:  # noqa: BLE001 - a chart that fails must not answer 500
            # Logged with its cause; the page says "could not be loaded" for this chart only,
            # and the error's kind alone leaves the server (a message could quote the data).
            log.exception("public chart %s failed", key[0])
            document = {"rows": [], "unavailable": type(exc).__name__}
        try:
            check(document)
        except PrivacyError:
            log.exception("public chart %s held something not public", key[0])
            document = {"rows": [], "unavailable": "PrivacyError"}
        return orjson.dumps(document)

    return request.app.state.public_cache.get(key, encoded)  # type: ignore[no-any-return]


def _chart(body: bytes) -> Response:
    return Response(body, media_type="application/json",
                    headers={"Cache-Control": f"public, max-age={CHART_MAX_AGE}"})


@router.get("/", response_class=HTMLResponse)
def index(request: Request) -> Response:
    return templates.TemplateResponse(request, "public/index.html", {
        "min_count": _min(request), "grains": GRAINS, "summary_days": charts.SUMMARY_DAYS,
        "hour_days": charts.MAX_DAYS["hour"],
    })


# --- chart data ------------------------------------------------------------------------------

@router.get("/public/api/demand")
async def demand(request: Request,
                 grain: Annotated[str, Query(pattern="^(hour|day|week|month)$")] = "day"
                 ) -> Response:
    wh, n = _wh(request), _min(request)
    data = await asyncio.to_thread(
        _cached, request, ("demand", grain, n), lambda: charts.demand(wh, grain=grain,
                                                                       min_count=n))
    return _chart(data)


@router.get("/public/api/service")
async def service(request: Request) -> Response:
    wh, n = _wh(request), _min(request)
    data = await asyncio.to_thread(_cached, request, ("service", n),
                                   lambda: charts.service(wh, min_count=n))
    return _chart(data)


@router.get("/public/api/best-time")
async def best_time(request: Request) -> Response:
    wh, n = _wh(request), _min(request)
    data = await asyncio.to_thread(_cached, request, ("best-time", n),
                                   lambda: charts.best_time(wh, min_count=n))
    return _chart(data)


@router.get("/public/api/outlook")
async def outlook(request: Request) -> Response:
    wh = _wh(request)
    data = await asyncio.to_thread(_cached, request, ("outlook",),
                                   lambda: public_outlook.outlook(wh))
    return _chart(data)


@router.get("/public/api/calendar")
async def calendar(request: Request) -> Response:
    wh = _wh(request)
    data = await asyncio.to_thread(_cached, request, ("calendar",),
                                   lambda: charts.calendar(wh))
    return _chart(data)


@router.get("/public/api/summary")
async def summary(request: Request) -> Response:
    wh, n = _wh(request), _min(request)
    data = await asyncio.to_thread(_cached, request, ("summary", n),
                                   lambda: charts.summary(wh, min_count=n))
    return _chart(data)


# --- live ------------------------------------------------------------------------------------

def _ticker(request: Request) -> LiveTicker:
    return request.app.state.public_live  # type: ignore[no-any-return]


@router.get("/public/api/live")
async def live_now(request: Request) -> Response:
    payload = await _ticker(request).current()
    return Response(payload, media_type="application/json",
                    headers={"Cache-Control": "no-store"})


@router.get("/public/live")
async def live_stream(request: Request) -> EventSourceResponse:
    ticker = _ticker(request)

    async def events() -> Any:
        async for payload in ticker.stream():
            yield {"event": "live", "data": payload}

    return EventSourceResponse(events(), ping=15, headers={"Cache-Control": "no-store"})


# --- daily reports ---------------------------------------------------------------------------

def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise HTTPException(404, "a report address is /reports/YYYY-MM-DD") from None


def _report(request: Request, day: str, revision: int | None) -> reports.Report:
    found = reports.get(_wh(request), _day(day), revision)
    if found is None:
        raise HTTPException(404, f"no report for {day}" + (
            f" revision {revision}" if revision else ""))
    check(found.figures)
    if found.note and EMAIL.search(found.note):
        raise HTTPException(500, "the report's note holds an e-mail address")
    return found


@router.get("/reports/", response_class=HTMLResponse)
def reports_index(request: Request) -> Response:
    return templates.TemplateResponse(request, "public/reports_index.html", {
        "reports": reports.index(_wh(request)), "min_count": _min(request),
    })


@router.get("/reports/feed.atom")
def reports_feed(request: Request) -> Response:
    body = reports.feed(_wh(request), base_url=str(request.base_url), min_count=_min(request))
    return Response(body, media_type="application/atom+xml")


@router.get("/reports/{day}.json")
def report_json(request: Request, day: str, revision: int | None = None) -> Response:
    found = _report(request, day, revision)
    document = {
        "date": found.report_date.isoformat(), "revision": found.revision,
        "published_at": found.published_at.isoformat() + "Z", "note": found.note,
        "figures": found.figures,
    }
    return Response(_dumps(document), media_type="application/json", headers={
        "Content-Disposition": f'inline; filename="cxhub-report-{day}-r{found.revision}.json"'})


@router.get("/reports/{day}.csv")
def report_csv(request: Request, day: str, revision: int | None = None) -> Response:
    found = _report(request, day, revision)
    return Response(reports.to_csv(found), media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="cxhub-report-{day}-r{found.revision}.csv"'})


@router.get("/reports/{day}", response_class=HTMLResponse)
def report_page(request: Request, day: str, revision: int | None = None) -> Response:
    found = _report(request, day, revision)
    return templates.TemplateResponse(request, "public/report.html", {
        "report": found, "figures": found.figures, "sections": found.figures["sections"],
        "revisions": reports.revisions(_wh(request), found.report_date),
        "min_count": found.figures.get("min_public_count"),
        "promises": defaultdict(str, promises()),
    })


def _dumps(document: Any) -> bytes:
    return orjson.dumps(document, option=orjson.OPT_INDENT_2)
