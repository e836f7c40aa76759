"""Listening alerts: the spikes found in mentions and contacts, newest first."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from cxhub.services.access.users import User
from cxhub.services.listening import detect as listening
from cxhub.web.dashboard import downloads
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
        "alerts": rows, "status": status, "statuses": ("all", *listening.ALERT_STATUSES),
        "download": downloads.link_params({"status": status})})


ALERT_COLUMNS = ("alert_id", "kind", "dimension", "value", "window_start", "window_end",
                 "observed", "expected", "threshold", "score", "status", "created_at", "detail",
                 "webhook_status", "webhook_attempts", "delivered_at")


@router.get("/export/alerts.{fmt}")
def alert_file(request: Request, fmt: str, user: Annotated[User, require("metrics")],
               status: Annotated[str, Query(pattern="^(open|acknowledged|closed|all)$")] = "all",
               ) -> Response:
    """Every alert of the status (the page shows the newest 200). The webhook's address is
    left out: it may carry a secret."""
    downloads.check_format(fmt)
    rows = listening.list_alerts(request.app.state.warehouse, limit=downloads.MAX_ROWS + 1,
                                 status=None if status == "all" else status)
    if not user.can("contacts"):  # as on the page: no example contacts for aggregates only
        for r in rows:
            r["detail"] = {k: v for k, v in r["detail"].items() if k != "examples"}
    return downloads.respond(fmt, f"alerts-{status}", downloads.table(rows, ALERT_COLUMNS))


@router.post("/alerts/{alert_id}/status")
def alert_status(request: Request, alert_id: int, user: Annotated[User, require("label")],
                 form: CheckedForm) -> Response:
    status = form.get("status", "")
    if status not in listening.ALERT_STATUSES:
        raise Forbidden(f"{status!r} is not an alert status.", 400)
    if not listening.set_alert_status(request.app.state.warehouse, alert_id, status):
        raise Forbidden(f"There is no alert with id {alert_id}.", 404)
    return redirect("/app/alerts")
