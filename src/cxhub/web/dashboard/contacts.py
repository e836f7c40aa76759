"""The contacts behind a figure, a contact's page with its human labels, an agent's queue."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from cxhub.domain import plausibility as plausible
from cxhub.domain.errors import CxhubError
from cxhub.services.access.users import User
from cxhub.services.customers import contacts as cq
from cxhub.web.dashboard import downloads, figures
from cxhub.web.dashboard.auth import CheckedForm, Forbidden, require
from cxhub.web.dashboard.pages import NONE_VALUE, redirect, render

router = APIRouter(prefix="/app", include_in_schema=False)

SORT_LABELS = {"created_at": "created", "wait": "wait", "handle": "handling time",
               "resolution": "time to resolve", "channel": "channel", "team": "team"}


def _bound(value: str | None, *, end: bool) -> datetime | None:
    """A date-time as given, or a date: from its start, or (as an end) through its end."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise Forbidden(f"{value!r} is not a date (use 2024-03-01 or 2024-03-01T09:00)",
                        400) from None
    if not plausible.EARLIEST_DATE <= parsed.date() < date.max:
        raise Forbidden(f"{value!r} is outside the dates cxhub holds "
                        f"({plausible.EARLIEST_DATE} onwards)", 400)
    if end and len(value) <= 10:
        parsed += timedelta(days=1)
    return parsed.replace(tzinfo=None)


def _list_query(request: Request, metric: str | None, start: str | None, end: str | None,
                q: str | None) -> tuple[cq.ContactQuery, dict[str, str | None]]:
    """Which contacts a list shows (its page and its download read the same parameters)."""
    params = request.query_params
    filters = {d: (None if params[d] == NONE_VALUE else params[d])
               for d in cq.DRILL_DIMENSIONS if params.get(d)}
    query = cq.ContactQuery.of(metric or None, _bound(start, end=False), _bound(end, end=True),
                               filters, external_id=(q or "").strip() or None)
    return query, filters


@router.get("/contacts")
def contact_list(request: Request, user: Annotated[User, require("contacts")],
                 metric: str | None = None, start: str | None = None, end: str | None = None,
                 sort: Annotated[str, Query(pattern="^[a-z_]+$")] = "created_at",
                 dir: Annotated[str, Query(pattern="^(asc|desc)$")] = "desc",  # noqa: A002
                 cursor: str | None = None, q: str | None = None) -> Response:
    params = request.query_params
    query, filters = _list_query(request, metric, start, end, q)
    m = None
    try:
        m = figures.metric(metric) if metric else None
        page = cq.contacts_page(request.app.state.warehouse, query,
                                sort=sort if sort in cq.SORTS else "created_at",
                                descending=dir == "desc", cursor=cursor)
        error = None
    except (CxhubError, ValueError) as exc:
        page, error = None, str(exc)
    keep = {k: v for k, v in params.items() if k != "cursor"}
    return render(request, "app/contacts.html", {
        "m": m, "page": page, "error": error, "filters": filters, "query": query,
        "params": keep, "sort": sort, "dir": dir, "sorts": SORT_LABELS, "q": q or "",
        "choices": cq.label_choices(request.app.state.warehouse),
        "raw_start": start or "", "raw_end": end or "",
        "download": downloads.link_params(params),
    }, status=400 if error else 200)


@router.get("/export/contacts.{fmt}")
def contact_list_file(request: Request, fmt: str, user: Annotated[User, require("contacts")],
                      metric: str | None = None, start: str | None = None,
                      end: str | None = None,
                      sort: Annotated[str, Query(pattern="^[a-z_]+$")] = "created_at",
                      dir: Annotated[str, Query(pattern="^(asc|desc)$")] = "desc",  # noqa: A002
                      q: str | None = None) -> Response:
    """The whole list of /app/contacts with the same parameters, every page of it."""
    downloads.check_format(fmt)
    query, _ = _list_query(request, metric, start, end, q)
    return _whole_list(request, fmt, "contacts", query, sort=sort, descending=dir == "desc")


def _whole_list(request: Request, fmt: str, name: str, query: cq.ContactQuery, *,
                sort: str, descending: bool) -> Response:
    try:
        if query.metric:
            figures.metric(query.metric)
        total, batches = cq.whole_list(request.app.state.warehouse, query,
                                       sort=sort if sort in cq.SORTS else "created_at",
                                       descending=descending)
    except (CxhubError, ValueError) as exc:
        raise Forbidden(str(exc), 400) from None
    downloads.check_size(total, "contacts")
    return downloads.respond(fmt, name, batches)


@router.get("/contacts/{contact_id}")
def contact_page(request: Request, contact_id: int, user: Annotated[User, require("contacts")],
                 saved: str | None = None) -> Response:
    wh = request.app.state.warehouse
    detail = cq.contact_detail(wh, contact_id)
    if detail is None:
        raise Forbidden(f"There is no contact with id {contact_id}.", 404)
    return render(request, "app/contact.html", {
        **detail, "fields": _fields(detail["contact"]), "saved": saved,
        "choices": cq.label_choices(wh) if user.can("label") else None,
        "back": request.headers.get("referer", "") if _same_site(request) else "",
    })


# A contact's page's tables, with the columns the page shows.
CONTACT_TABLES = {
    "events": ("event_type", "occurred_at", "agent", "team", "queue"),
    "labels": ("dimension", "label", "is_human", "labelled_by", "model", "model_version",
               "score", "labelled_at"),
    "surveys": ("survey_type", "score", "comment", "answered_at"),
}


@router.get("/export/contacts/{contact_id}/{table}.{fmt}")
def contact_table_file(request: Request, contact_id: int, table: str, fmt: str,
                       user: Annotated[User, require("contacts")]) -> Response:
    """One table of a contact's page: its events, labels or survey answers."""
    downloads.check_format(fmt)
    if table not in CONTACT_TABLES:
        raise Forbidden(f"A contact's page has no table {table!r}: use "
                        f"{', '.join(CONTACT_TABLES)}.", 404)
    detail = cq.contact_detail(request.app.state.warehouse, contact_id)
    if detail is None:
        raise Forbidden(f"There is no contact with id {contact_id}.", 404)
    return downloads.respond(fmt, f"contact-{contact_id}-{table}",
                             downloads.table(detail[table], CONTACT_TABLES[table]))


def _same_site(request: Request) -> bool:
    referer = request.headers.get("referer", "")
    return referer.split("/")[2:3] == [request.headers.get("host", "")]


def _fields(contact: dict[str, Any]) -> list[tuple[str, Any]]:
    """Every field with a value, lifecycle times and text aside (the page shows them apart)."""
    skip = {"text", "subject", "loaded_at"} | {col for col, _ in cq.LIFECYCLE}
    return [(k, v) for k, v in contact.items() if v is not None and k not in skip]


@router.post("/contacts/{contact_id}/labels")
def set_labels(request: Request, contact_id: int, user: Annotated[User, require("label")],
               form: CheckedForm) -> Response:
    wh = request.app.state.warehouse
    detail = cq.contact_detail(wh, contact_id)
    if detail is None:
        raise Forbidden(f"There is no contact with id {contact_id}.", 404)
    changed = []
    for dim in ("category", "cause"):
        label = form.get(dim, "").strip()
        if label and label != detail["best"].get(dim):
            try:
                cq.set_human_label(wh, contact_id, dimension=dim, label=label,
                                   username=user.username)
            except CxhubError as exc:
                raise Forbidden(str(exc), 400) from None
            changed.append(dim)
    return redirect(f"/app/contacts/{contact_id}?saved={'+'.join(changed) or 'nothing'}")


@router.get("/queue")
def queue(request: Request, user: Annotated[User, require("queue")],
          cursor: str | None = None) -> Response:
    """The open contacts assigned to the logged-in agent (their username is the agent name)."""
    query = cq.ContactQuery.of(filters={"agent": user.username}, open_only=True)
    try:
        page = cq.contacts_page(request.app.state.warehouse, query, descending=False,
                                cursor=cursor)
    except CxhubError as exc:
        raise Forbidden(str(exc), 400) from None
    return render(request, "app/queue.html", {"page": page, "params": {}})


@router.get("/export/queue.{fmt}")
def queue_file(request: Request, fmt: str, user: Annotated[User, require("queue")]) -> Response:
    """The whole of the agent's queue, in the queue's order."""
    downloads.check_format(fmt)
    query = cq.ContactQuery.of(filters={"agent": user.username}, open_only=True)
    return _whole_list(request, fmt, "queue", query, sort="created_at", descending=False)
