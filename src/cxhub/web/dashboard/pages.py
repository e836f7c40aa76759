"""Rendering dashboard pages: templates, formatting filters, security headers, error pages."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.routing import Match

from cxhub.metrics.definitions import format_duration
from cxhub.web.dashboard.auth import (
    CSRF_FIELD,
    Forbidden,
    LoginRequired,
    csrf_token,
    login_url,
    set_csrf_cookie,
)

WEB = Path(__file__).resolve().parents[1]
TEMPLATES = WEB / "templates"
STATIC = WEB / "static" / "app"
NONE_VALUE = "__none__"  # a dimension value that is missing, in URLs

# Pages show customers' messages: never cached by the browser or a proxy, never framed, and
# scripts only from this server (the page data travels in JSON blocks, not inline scripts).
SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data: blob:; connect-src 'self'; frame-ancestors 'none'; "
        "base-uri 'self'; form-action 'self'"),
}


def make_templates() -> Jinja2Templates:
    templates = Jinja2Templates(directory=str(TEMPLATES))
    env = templates.env
    env.filters.update(when=when, seconds=seconds, number=number, qs=qs, words=words)
    env.globals.update(NONE_VALUE=NONE_VALUE, csrf_field=CSRF_FIELD)
    return templates


# Stored codes that read wrongly with their underscores made spaces ("wont fix").
_WORDS = {"wont_fix": "won't fix"}


def words(code: str | None) -> str:
    """A stored code (a problem's state, an action's kind) as words."""
    code = code or ""
    return _WORDS.get(code, code.replace("_", " "))


def when(value: datetime | date | str | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.strftime(fmt if isinstance(value, datetime) else "%Y-%m-%d")


def seconds(value: float | None) -> str:
    """A duration as a person reads it: 45 s, 3 min 20 s, 5.2 h, 3.1 d (the metrics' own
    formatter, so a page says what `cxhub metrics` prints)."""
    return "" if value is None else format_duration(value)


def number(value: float | int | None) -> str:
    return "" if value is None else f"{value:,.0f}"


def qs(params: dict[str, Any], **changes: Any) -> str:
    """A query string from `params` with `changes` applied; empty values are dropped."""
    merged = {**params, **changes}
    return urlencode({k: v for k, v in merged.items() if v not in (None, "")})


def plotly_url(app: FastAPI) -> str:
    """The public page's copy of plotly.js when it is installed (one browser cache for
    both), else the dashboard's own."""
    cached = getattr(app.state, "dashboard_plotly_url", None)
    if cached is None:
        public = "/static/plotly.min.js"
        cached = public if serves(app, public) else "/app/static/plotly.min.js"
        app.state.dashboard_plotly_url = cached
    return cached


def serves(app: FastAPI, path: str) -> bool:
    """Some route of the app answers GET `path` (included routers are not flat lists)."""
    scope = {"type": "http", "method": "GET", "path": path, "root_path": "",
             "path_params": {}}
    return any(route.matches(scope)[0] == Match.FULL for route in app.routes)


def render(request: Request, name: str, context: dict[str, Any] | None = None,
           status: int = 200) -> HTMLResponse:
    templates: Jinja2Templates = request.app.state.dashboard_templates
    ctx = {"user": getattr(request.state, "user", None), "csrf_token": csrf_token(request),
           "plotly_url": plotly_url(request.app), "path": request.url.path,
           **(context or {})}
    response = templates.TemplateResponse(request, name, ctx, status_code=status)
    set_csrf_cookie(request, response)
    response.headers.update(SECURITY_HEADERS)
    return response


def redirect(url: str) -> RedirectResponse:
    """After a form: 303, so that a reload does not post the form again."""
    return RedirectResponse(url, status_code=303)


def on_login_required(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, LoginRequired)
    response = redirect(login_url(exc.next_url))
    if request.cookies.get("cxhub_session"):
        response.delete_cookie("cxhub_session", path="/app")  # expired or ended elsewhere
    return response


def on_forbidden(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Forbidden)
    return render(request, "app/error.html", {"message": str(exc), "status": exc.status},
                  status=exc.status)
