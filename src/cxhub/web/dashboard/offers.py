"""Offers on the dashboard: the catalogue with each offer's measured effect, an offer's report
(by segment, persona, value band, channel and month), and the next best action panel of the
agent's queue (the actions for the contact being handled, with accept and decline)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from cxhub.services.access.users import User
from cxhub.services.offers import outcomes, reports
from cxhub.services.offers.engine import Engine
from cxhub.services.offers.queue import ContactDecisions
from cxhub.web.dashboard import downloads
from cxhub.web.dashboard.auth import CheckedForm, Forbidden, require
from cxhub.web.dashboard.pages import redirect, render

router = APIRouter(prefix="/app", include_in_schema=False)


def _engine(request: Request) -> Engine:
    runtime = getattr(request.app.state, "offers", None)
    engine: Engine | None = runtime.engine_ready(timeout=30) if runtime is not None else None
    if engine is None:
        raise Forbidden("The decision engine is still loading; reload in a few seconds.", 503)
    return engine


def _decisions(request: Request) -> ContactDecisions:
    state = request.app.state
    if getattr(state, "offers_by_contact", None) is None:
        state.offers_by_contact = ContactDecisions()
    return state.offers_by_contact  # type: ignore[no-any-return]


@router.get("/offers")
def offer_list(request: Request, user: Annotated[User, require("metrics")]) -> Response:
    engine = _engine(request)
    return render(request, "app/offers.html", {"rows": reports.catalogue_summary(engine),
                                               "triggers": reports.trigger_summary(engine)})


OFFER_COLUMNS = ("code", "title", "product", "value", "control_share", "decisions", "accepted",
                 "control", "uplift", "uplift_low", "uplift_high", "inc_revenue", "qini",
                 "trained_at")


@router.get("/export/offers.{fmt}")
def offer_list_file(request: Request, fmt: str,
                    user: Annotated[User, require("metrics")]) -> Response:
    """The catalogue table: the offer's own fields beside its measured effect."""
    downloads.check_format(fmt)
    rows = [{"code": r["offer"].code, "title": r["offer"].title, "product": r["offer"].product,
             "value": r["offer"].value, "control_share": r["offer"].control_share, **r}
            for r in reports.catalogue_summary(_engine(request))]
    return downloads.respond(fmt, "offers", downloads.table(rows, OFFER_COLUMNS))


@router.get("/export/offers/triggers.{fmt}")
def trigger_list_file(request: Request, fmt: str,
                      user: Annotated[User, require("metrics")]) -> Response:
    downloads.check_format(fmt)
    rows = reports.trigger_summary(_engine(request))
    columns = list(dict.fromkeys(k for r in rows for k in r)) or ["code", "audience"]
    return downloads.respond(fmt, "offer-triggers", downloads.table(rows, columns))


def _offer_report(request: Request, code: str) -> dict[str, Any]:
    engine = _engine(request)
    offer = engine.state.catalogue.offer(code) if engine.state else None
    offer = offer or reports.trigger_as_offer(engine, code)
    if offer is None:
        raise Forbidden(f"There is no offer {code!r} in the catalogue.", 404)
    return reports.offer_report(engine, offer)


@router.get("/offers/{code}")
def offer_page(code: str, request: Request, user: Annotated[User, require("metrics")],
               by: str = "segment") -> Response:
    if by not in reports.BY:
        by = "segment"
    rep = _offer_report(request, code)
    return render(request, "app/offers_detail.html", {"r": rep, "by": by, "groups": reports.BY})


@router.get("/export/offers/{code}/groups.{fmt}")
def offer_groups_file(code: str, fmt: str, request: Request,
                      user: Annotated[User, require("metrics")], by: str = "segment") -> Response:
    """The offer's effect in each group of `by` (the page's table of that tab)."""
    downloads.check_format(fmt)
    if by not in reports.BY:
        raise Forbidden(f"{by!r} is not a grouping; use one of {', '.join(reports.BY)}.", 400)
    groups = (_offer_report(request, code).get("by") or {}).get(by) or {}
    rows = [{by: name, **effect} for name, effect in groups.items()]
    columns = [by, *dict.fromkeys(k for e in groups.values() for k in e)]
    return downloads.respond(fmt, f"offer-{code}-by-{by}", downloads.table(rows, columns))


@router.get("/queue/offers/{contact_id}")
def queue_panel(contact_id: int, request: Request,
                user: Annotated[User, require("queue")]) -> Response:
    """The panel's content (loaded into the queue page by offers.js)."""
    decision = _decisions(request).decide(_engine(request), contact_id)
    if decision is None:
        raise Forbidden(f"There is no contact with id {contact_id}.", 404)
    return render(request, "app/offers_panel_body.html", {"d": decision,
                                                          "contact_id": contact_id})


@router.post("/queue/offers/{decision_id}/outcome")
def queue_outcome(decision_id: str, request: Request, user: Annotated[User, require("queue")],
                  form: CheckedForm) -> Response:
    code, outcome = form.get("offer_code", ""), form.get("outcome", "")
    try:
        outcomes.record(_engine(request), decision_id, outcome=outcome, offer_code=code or None)
    except outcomes.OutcomeError as exc:
        raise Forbidden(str(exc), 404 if exc.status == 404 else 400) from None
    _decisions(request).outcome(decision_id, code, outcome)
    return redirect(f"/app/queue?offer={code}&outcome={outcome}")
