"""Listening alerts: the spikes found in mentions and contacts, newest first."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from cxhub.services.access.users import User
from cxhub.services.listening import detect as listening
from cxhub.web.dashboard.auth import CheckedForm, Forbidden, require
from cxhub.web.dashboard.pages import redirect, render

router = APIRouter(prefix="/app", include_in_schema=False)


@router.get("/alerts")
def alert_list(request: Request, user: Annotated[User, require("metrics")],
               status: Annotated[str, Query(pattern="^(open|acknowledged|closed|all)$")] = "all",
               ) -> Response:
    rows = listening.list_alerts(request.app.state.warehouse, limit=200,
                                 status=None if status == "all" else status)
    return render(request, "app/alerts.html", {
        "alerts": rows, "status": status, "statuses": ("all", *listening.ALERT_STATUSES)})


@router.post("/alerts/{alert_id}/status")
def alert_status(request: Request, alert_id: int, user: Annotated[User, require("label")],
                 form: CheckedForm) -> Response:
    status = form.get("status", "")
    if status not in listening.ALERT_STATUSES:
        raise Forbidden(f"{status!r} is not an alert status.", 400)
    if not listening.set_alert_status(request.app.state.warehouse, alert_id, status):
        raise Forbidden(f"There is no alert with id {alert_id}.", 404)
    return redirect("/app/alerts")
