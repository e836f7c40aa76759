"""The staffing page: forecast against actual demand, and agents needed against the roster,
per interval of the latest forecast run, with under- and over-staffed intervals marked."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from cxhub.domain.errors import NotFoundError
from cxhub.services.access.users import User
from cxhub.services.forecast import plan as plans
from cxhub.web.dashboard import downloads
from cxhub.web.dashboard.auth import Forbidden, require
from cxhub.web.dashboard.pages import render

router = APIRouter(prefix="/app", include_in_schema=False)


@router.get("/staffing")
def staffing(request: Request, user: Annotated[User, require("metrics")],
             channel: Annotated[str, Query(pattern="^[a-z]{1,20}$")] = "phone") -> Response:
    wh = request.app.state.warehouse
    try:
        result = plans.plan(wh, channel=channel)
    except NotFoundError as exc:
        return render(request, "app/staffing.html", {
            "missing": str(exc), "channel": channel, "channels": plans.LIVE})
    p = result.channels[0]
    gaps, stretches = plans.gaps_ahead(p)
    return render(request, "app/staffing.html", {
        "run_id": result.run_id, "channel": channel, "channels": plans.LIVE,
        "summary": p.summary(), "gaps": gaps, "stretches": stretches,
        "chart": plans.chart_data(p)})


INTERVAL_COLUMNS = ("forecast", "lo", "hi", "actual", "need", "scheduled", "status")


@router.get("/export/staffing.{fmt}")
def staffing_file(request: Request, fmt: str, user: Annotated[User, require("metrics")],
                  channel: Annotated[str, Query(pattern="^[a-z]{1,20}$")] = "phone") -> Response:
    """Each interval the two charts draw: forecast (with its interval), actual, agents needed
    and scheduled, and whether it is under- or over-staffed."""
    downloads.check_format(fmt)
    try:
        result = plans.plan(request.app.state.warehouse, channel=channel)
    except NotFoundError as exc:
        raise Forbidden(str(exc), 404) from None
    chart = plans.chart_data(result.channels[0])
    rows = [{"run_id": result.run_id, "channel": channel,
             "interval_start": datetime.fromisoformat(x),
             **{c: chart[c][i] for c in INTERVAL_COLUMNS}} for i, x in enumerate(chart["x"])]
    return downloads.respond(fmt, f"staffing-{channel}", downloads.table(
        rows, ("run_id", "channel", "interval_start", *INTERVAL_COLUMNS)))
