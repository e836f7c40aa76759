"""The staffing page: forecast against actual demand, and agents needed against the roster,
per interval of the latest forecast run, with under- and over-staffed intervals marked."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from cxhub.domain.errors import NotFoundError
from cxhub.services.access.users import User
from cxhub.services.forecast import plan as plans
from cxhub.web.dashboard.auth import require
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
    return render(request, "app/staffing.html", {
        "run_id": result.run_id, "channel": channel, "channels": plans.LIVE,
        "summary": p.summary(), "chart": plans.chart_data(p)})
