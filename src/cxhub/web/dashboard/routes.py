"""Logging in and out, the overview of every metric, and one metric's page."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response

from cxhub.domain.errors import CxhubError
from cxhub.services.access import users
from cxhub.services.access.users import User
from cxhub.services.customers.contacts import label_choices
from cxhub.warehouse.schema import edge_sql
from cxhub.web.dashboard import downloads, figures
from cxhub.web.dashboard.auth import (
    CheckedForm,
    CurrentUser,
    Forbidden,
    log_in,
    log_out,
    require,
    safe_next,
)
from cxhub.web.dashboard.pages import SECURITY_HEADERS, redirect, render
from cxhub.web.dashboard.throttle import LoginThrottle

router = APIRouter(prefix="/app", include_in_schema=False)


def _latest_contact(request: Request) -> datetime | None:
    row = request.app.state.warehouse.read_one(
        "SELECT " + edge_sql("contacts", "created_at", "max"))
    return row[0] if row else None


@router.get("/login")
def login_page(request: Request,
               next_url: Annotated[str, Query(alias="next")] = "/app") -> Response:
    return render(request, "app/login.html", {"next": safe_next(next_url)})


@router.post("/login")
def login(request: Request, form: CheckedForm) -> Response:
    throttle: LoginThrottle = request.app.state.dashboard_throttle
    username = form.get("username", "").strip().lower()
    address = request.client.host if request.client else "unknown"
    context = {"next": safe_next(form.get("next")), "username": username}
    wait = throttle.retry_after(username, address)
    if wait > 0:
        refused = render(request, "app/login.html", {
            **context, "error": f"Too many failed attempts. Try again in {int(wait // 60) + 1} "
                                "minutes."}, status=429)
        refused.headers["Retry-After"] = str(int(wait) + 1)
        return refused
    user = users.authenticate(request.app.state.warehouse, username, form.get("password", ""))
    if user is None:
        throttle.failed(username, address)
        return render(request, "app/login.html",
                      {**context, "error": "Wrong username or password."}, status=401)
    throttle.succeeded(username, address)
    response = redirect(context["next"])
    log_in(request, response, user)
    return response


@router.post("/logout")
def logout(request: Request, form: CheckedForm) -> Response:
    response = redirect("/app/login")
    log_out(request, response)
    return response


@router.get("")
def home(request: Request, user: CurrentUser, start: str | None = None,
         end: str | None = None) -> Response:
    if not user.can("metrics"):
        return redirect("/app/queue")
    d0, d1 = figures.parse_range(start, end, _latest_contact(request))
    return render(request, "app/home.html", {
        "metrics": figures.catalogue(), "start": d0, "end": d1, "wait_metric": figures.WAIT_METRIC,
        "compared": figures.compared_with(*_bounds(d0, d1)),
        "month_so_far": {"start": d1.replace(day=1).isoformat(), "end": d1.isoformat()},
    })


def _bounds(d0: Any, d1: Any) -> tuple[datetime, datetime]:
    return datetime.combine(d0, time()), datetime.combine(d1, time()) + timedelta(days=1)


@router.get("/api/headline")
def headline(request: Request, user: Annotated[User, require("metrics")], metric: str,
             start: str, end: str) -> Response:
    """One metric's figure for the overview cards, which load them one by one."""
    try:
        m = figures.metric(metric)
        d0, d1 = figures.parse_range(start, end, None)
        t0, t1 = _bounds(d0, d1)
        rows = figures.compute(request.app.state.warehouse, m.name, start=t0, end=t1,
                               compare=("previous", "last_year", "target"))
        f = figures.figure(m, rows[0] if rows else {"value": None, "n": 0}, t0, t1, (), {})
    except CxhubError as exc:
        return JSONResponse({"error": str(exc)}, status_code=400, headers=SECURITY_HEADERS)
    return JSONResponse({"text": f.text, "n": f.n, "url": f.url if user.can("contacts") else None,
                         "compare": f.compare}, headers=SECURITY_HEADERS)


@router.get("/api/waits")
def waits(request: Request, user: Annotated[User, require("metrics")], start: str,
          end: str) -> Response:
    """The overview's wait card: one wait per channel group (answer for phone and chat,
    first reply for the written channels), never one mean over seconds and hours."""
    try:
        d0, d1 = figures.parse_range(start, end, None)
        groups = figures.waits(request.app.state.warehouse, *_bounds(d0, d1))
    except CxhubError as exc:
        return JSONResponse({"error": str(exc)}, status_code=400, headers=SECURITY_HEADERS)
    return JSONResponse({"text": "", "n": sum(g["n"] for g in groups), "url": None,
                         "compare": [], "groups": groups}, headers=SECURITY_HEADERS)


@router.get("/metrics/{name}")
def metric_page(request: Request, name: str, user: Annotated[User, require("metrics")],
                start: str | None = None, end: str | None = None,
                grain: Annotated[str | None, Query(pattern="^(hour|day|week|month)$")] = None,
                by: str | None = None) -> Response:
    m, d0, d1, grain, by, dims, filters = _metric_params(request, name, start, end, grain, by)
    wh = request.app.state.warehouse
    t0, t1 = _bounds(d0, d1)
    try:
        view = figures.metric_view(wh, m, start=t0, end=t1, grain=grain, by=by,
                                   filters=filters)
        error = None
    except CxhubError as exc:
        view, error = None, str(exc)
    if not user.can("contacts") and view is not None:  # viewers see the figures, not the people
        for f in [view.headline, *view.series, *view.breakdown]:
            f.url = None
        for trace in view.chart["traces"]:
            trace["urls"] = [None] * len(trace["urls"])
    waits = figures.waits(wh, t0, t1) if m.name == figures.WAIT_METRIC and not error else None
    return render(request, "app/metric.html", {
        "m": m, "view": view, "waits": waits, "error": error, "start": d0, "end": d1,
        "grain": grain, "by": by, "dims": dims, "filters": filters, "grains": figures.GRAINS,
        "dim_labels": figures.DIMENSION_LABELS,
        "compared": figures.compared_with(t0, t1),
        "choices": _filter_choices(request, dims),
        "params": {"start": d0.isoformat(), "end": d1.isoformat(), "grain": grain,
                   "by": by or "", **filters},
    }, status=400 if error else 200)


def _metric_params(request: Request, name: str, start: str | None, end: str | None,
                   grain: str | None, by: str | None) -> tuple[Any, ...]:
    """A metric's page parameters, checked: (metric, first day, last day, grain, cut, the
    dimensions it can be cut by, filters)."""
    try:
        m = figures.metric(name)
    except CxhubError as exc:
        raise Forbidden(str(exc), 404) from None
    d0, d1 = figures.parse_range(start, end, _latest_contact(request))
    grain = grain or figures.default_grain(d0, d1)
    dims = [d for d in figures.FILTER_DIMENSIONS if d in m.dimensions]
    by = by if by in dims else None
    filters = {d: request.query_params[d] for d in dims if request.query_params.get(d)}
    return m, d0, d1, grain, by, dims, filters


@router.get("/export/metrics/{name}/{table}.{fmt}")
def metric_table_file(request: Request, name: str, table: str, fmt: str,
                      user: Annotated[User, require("metrics")], start: str | None = None,
                      end: str | None = None,
                      grain: Annotated[str | None, Query(pattern="^(hour|day|week|month)$")] = None,
                      by: str | None = None) -> Response:
    """A metric page's table: `series` (every period, by the cut if any), `breakdown` (one
    row per value of the cut), with the raw value beside the text the page shows, or `waits`
    (the expected wait's table of channel groups)."""
    downloads.check_format(fmt)
    if table not in ("series", "breakdown", "waits"):
        raise Forbidden(f"A metric's page has no table {table!r}: use series or breakdown.",
                        404)
    m, d0, d1, grain, by, _, filters = _metric_params(request, name, start, end, grain, by)
    if table == "waits":
        if m.name != figures.WAIT_METRIC:
            raise Forbidden(f"Only {figures.WAIT_METRIC} has a table of waits.", 404)
        groups = figures.waits(request.app.state.warehouse, *_bounds(d0, d1))
        return downloads.respond(fmt, f"{m.name}-waits-{d0.isoformat()}-{d1.isoformat()}",
                                 downloads.table(groups, ("group", "label", "measure", "text",
                                                          "n")))
    if table == "breakdown" and not by:
        raise Forbidden("The breakdown needs a cut: add by=<dimension>.", 400)
    try:
        view = figures.metric_view(request.app.state.warehouse, m, start=_bounds(d0, d1)[0],
                                   end=_bounds(d0, d1)[1], grain=grain, by=by, filters=filters)
    except CxhubError as exc:
        raise Forbidden(str(exc), 400) from None
    rows = [{"period": f.period, **f.dims, "value": f.value, "text": f.text, "n": f.n,
             **{c[0].replace(" ", "_"): c[1] for c in f.compare}}
            for f in (view.series if table == "series" else view.breakdown)]
    first = ["period"] if table == "series" else []
    columns = [*first, *([by] if by else []), "value", "text", "n",
               *dict.fromkeys(k for r in rows for k in r if k not in {"period", by, "value",
                                                                     "text", "n"})]
    stem = f"{m.name}-{table}-{d0.isoformat()}-{d1.isoformat()}"
    return downloads.respond(fmt, stem, downloads.table(rows, columns))


def _filter_choices(request: Request, dims: list[str]) -> dict[str, list[str]]:
    """Values offered in the filter menus; the team and segment lists are read at most once a
    minute (they change slowly, and reading them scans a column)."""
    from cxhub.domain.canonical import CHANNELS

    cache: dict[str, tuple[float, list[str]]] = request.app.state.dashboard_choices
    now = datetime.now().timestamp()
    out: dict[str, list[str]] = {"channel": list(CHANNELS)}
    sql = {"team": "SELECT DISTINCT team FROM contacts WHERE team IS NOT NULL ORDER BY 1"}
    for column in ("segment", "persona", "portfolio", "rfm_segment"):  # customer segments
        sql[column] = (f"SELECT DISTINCT {column} FROM customer_segments "
                       f"WHERE {column} IS NOT NULL ORDER BY 1")
    for dim, query in sql.items():
        hit = cache.get(dim)
        if hit is None or hit[0] < now:
            hit = (now + 60, [r[0] for r in request.app.state.warehouse.read(query)][:200])
            cache[dim] = hit
        out[dim] = hit[1]
    out.update(label_choices(request.app.state.warehouse))
    return {d: v for d, v in out.items() if d in dims}
