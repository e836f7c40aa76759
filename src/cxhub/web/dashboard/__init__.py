"""The internal dashboard at /app: login, every metric with drill-down to the contacts behind
each figure, a contact's page with human labelling, an agent's queue, user management.

`install(app, settings)` adds it to an app made by `create_app`. Nothing is built at import.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from cxhub.settings import Settings


def install(app: FastAPI, settings: Settings) -> None:
    from cxhub.web.dashboard import (
        admin,
        alerts,
        contacts,
        customers,
        offers,
        offers_admin,
        problems,
        routes,
        staffing,
    )
    from cxhub.web.dashboard.auth import Forbidden, LoginRequired
    from cxhub.web.dashboard.pages import STATIC, make_templates, on_forbidden, on_login_required
    from cxhub.web.dashboard.throttle import LoginThrottle

    app.state.dashboard_templates = make_templates()
    app.state.dashboard_throttle = LoginThrottle(path=settings.home / "login-throttle.json")
    app.state.dashboard_choices = {}
    app.add_exception_handler(LoginRequired, on_login_required)
    app.add_exception_handler(Forbidden, on_forbidden)

    assets = APIRouter(include_in_schema=False)

    @assets.get("/app/static/plotly.min.js")
    def plotly_file() -> FileResponse:
        # Used when the public page (which serves /static/plotly.min.js) is not installed.
        import plotly

        path = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
        return FileResponse(path, media_type="text/javascript",
                            headers={"Cache-Control": "public, max-age=604800"})

    app.include_router(assets)
    for module in (routes, contacts, customers, admin, alerts, problems, staffing, offers,
                   offers_admin):
        app.include_router(module.router)
    app.mount("/app/static", StaticFiles(directory=STATIC), name="dashboard-static")
