"""Managing the offer catalogue on the dashboard: an offer or a trigger edited as the YAML
the catalogue file holds (every field documented in docs/offers.md), checked as the API checks
it (the refusal names the field, and nothing is written), with its history of changes; and
retiring. Changing needs the `label` permission (analysts and admins), as problems do."""

from __future__ import annotations

from typing import Annotated, Any

import yaml
from fastapi import APIRouter, Request
from fastapi.responses import Response

from cxhub.analytics.offers.catalogue import CatalogueError
from cxhub.services.access.users import User
from cxhub.services.offers import manage
from cxhub.web.dashboard.auth import CheckedForm, Forbidden, require
from cxhub.web.dashboard.pages import redirect, render

router = APIRouter(prefix="/app/offers/manage", include_in_schema=False)

TEMPLATES: dict[str, dict[str, Any]] = {
    "offer": {"code": "NEW-OFFER", "title": "", "product": None, "value": 0,
              "valid_from": None, "valid_to": None, "control_share": 0.1, "min_uplift": 0.01,
              "prior_uplift": 0.05, "max_per_customer_30d": 1,
              "rules": {"channels": ["phone", "chat"]}},
    "trigger": {"code": "NEW-TRIGGER", "title": "", "event": "contact_about",
                "terms": ["moving house"], "within_days": 30, "control_share": 0.1,
                "action": ""},
}


def _kind(kind: str) -> str:
    if kind not in manage.KINDS:
        raise Forbidden(f"{kind!r} is not offer or trigger.", 404)
    return kind


def _yaml(raw: dict[str, Any]) -> str:
    return yaml.safe_dump(raw, sort_keys=False, allow_unicode=True)


def _page(request: Request, kind: str, code: str | None, text: str,
          error: str | None = None, status: int = 200) -> Response:
    wh = request.app.state.warehouse
    return render(request, "app/offers_manage.html", {
        "kind": kind, "code": code, "text": text, "error": error,
        "history": manage.history(wh, code) if code else [],
        "fields": manage.FIELDS[kind]}, status=status)


@router.get("/{kind}/new")
def new_entry(kind: str, request: Request, user: Annotated[User, require("label")]) -> Response:
    return _page(request, _kind(kind), None, _yaml(TEMPLATES[kind]))


@router.get("/{kind}/{code}")
def edit_entry(kind: str, code: str, request: Request,
               user: Annotated[User, require("label")]) -> Response:
    found = manage.entry(request.app.state.warehouse, _kind(kind), code)
    if found is None:
        raise Forbidden(f"There is no {kind} {code!r} in the catalogue.", 404)
    return _page(request, kind, code, _yaml(found))


def _save(request: Request, kind: str, code: str | None, text: str, user: User) -> Response:
    try:
        raw = yaml.safe_load(text)
        out = manage.save(request.app.state.warehouse, kind, raw, code=code,
                          actor=f"user {user.username}")
    except yaml.YAMLError as exc:
        return _page(request, kind, code, text, f"Not valid YAML: {exc}", 400)
    except CatalogueError as exc:
        return _page(request, kind, code, text, f"{exc.field or exc.entry}: {exc.reason}", 400)
    except (manage.Conflict, manage.NotFound) as exc:
        return _page(request, kind, code, text, str(exc), 400)
    _reload(request)
    return redirect(f"/app/offers/manage/{kind}/{out['code']}?saved=1")


def _reload(request: Request) -> None:
    runtime = getattr(request.app.state, "offers", None)
    if runtime is not None and runtime.engine.state is not None:
        runtime.engine.reload_catalogue()


@router.post("/{kind}/new")
def create_entry(kind: str, request: Request, user: Annotated[User, require("label")],
                 form: CheckedForm) -> Response:
    return _save(request, _kind(kind), None, form.get("entry", ""), user)


@router.post("/{kind}/{code}")
def update_entry(kind: str, code: str, request: Request,
                 user: Annotated[User, require("label")], form: CheckedForm) -> Response:
    return _save(request, _kind(kind), code, form.get("entry", ""), user)


@router.post("/{kind}/{code}/retire")
def retire_entry(kind: str, code: str, request: Request,
                 user: Annotated[User, require("label")], form: CheckedForm) -> Response:
    try:
        manage.retire(request.app.state.warehouse, _kind(kind), code,
                      actor=f"user {user.username}")
    except manage.NotFound as exc:
        raise Forbidden(str(exc), 404) from None
    _reload(request)
    return redirect(f"/app/offers/manage/{kind}/{code}?retired=1")
