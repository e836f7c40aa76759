"""Problems on the dashboard: the ranked list, a problem's page (volume, sample contacts, cost,
owner, state history, actions, impact), a problem made from selected contacts, state changes
and actions. Reading needs `metrics`; changing needs `label` (analysts and admins)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from cxhub.domain.errors import CxhubError
from cxhub.services.access.users import User
from cxhub.services.problems import discovery, ownership, store, workflow
from cxhub.services.problems import figures as figures_svc
from cxhub.services.problems import impact as impact_svc
from cxhub.services.problems.errors import ProblemInputError
from cxhub.web.dashboard import downloads
from cxhub.web.dashboard.auth import CheckedForm, Forbidden, require
from cxhub.web.dashboard.pages import redirect, render

router = APIRouter(prefix="/app", include_in_schema=False)


def _wh(request: Request) -> Any:
    return request.app.state.warehouse


@router.get("/problems")
def problem_list(request: Request, user: Annotated[User, require("metrics")]) -> Response:
    return render(request, "app/problems.html", {"problems": store.problems(_wh(request))})


# The list's columns, its figures spread out (a file has no nested cells).
PROBLEM_FIGURES = ("contacts", "mentions", "customers_affected", "handling_cost",
                   "revenue_at_risk", "currency")


@router.get("/export/problems.{fmt}")
def problem_list_file(request: Request, fmt: str,
                      user: Annotated[User, require("metrics")]) -> Response:
    downloads.check_format(fmt)
    rows = [{**{k: v for k, v in p.items() if k != "figures"},
             **{k: (p.get("figures") or {}).get(k) for k in PROBLEM_FIGURES}}
            for p in store.problems(_wh(request))]
    columns = [c for c in store.PROBLEM_COLUMNS if c != "figures"] + list(PROBLEM_FIGURES)
    return downloads.respond(fmt, "problems", downloads.table(rows, columns))


@router.get("/problems/owners")
def owners_page(request: Request, user: Annotated[User, require("users")],
                error: str = "", saved: str = "") -> Response:
    """The ownership map (ownership.yaml), edited as text and checked before it is kept."""
    path = request.app.state.settings.home / ownership.FILE
    text = path.read_text() if path.exists() else ownership.EXAMPLE
    return render(request, "app/problems_owners.html",
                  {"text": text, "error": error, "saved": bool(saved)})


@router.post("/problems/owners")
def save_owners(request: Request, user: Annotated[User, require("users")],
                form: CheckedForm) -> Response:
    home = request.app.state.settings.home
    text = form.get("text", "")
    try:
        own = ownership.save(home, text)
    except ProblemInputError as exc:
        return render(request, "app/problems_owners.html",
                      {"text": text, "error": str(exc), "saved": False}, status=400)
    workflow.assign(_wh(request), own, actor=user.username)
    return redirect("/app/problems/owners?saved=1")


@router.get("/problems/new")
def new_problem(request: Request, user: Annotated[User, require("label")],
                cause: Annotated[str, Query(max_length=50)] = "",
                error: Annotated[str, Query(max_length=300)] = "") -> Response:
    """The latest contacts (of a cause, if given) to select from."""
    sql = ("SELECT c.contact_id, c.created_at, c.channel, coalesce(l.cause, c.cause) AS cause, "
           "c.text "
           "FROM contacts c LEFT JOIN current_labels l ON l.target = 'contacts' "
           "AND l.target_id = c.contact_id")
    params: list[Any] = []
    if cause:
        sql += " WHERE coalesce(l.cause, c.cause) = ?"
        params.append(cause)
    contacts = _wh(request).read_dicts(sql + " ORDER BY c.created_at DESC LIMIT 100", params)
    return render(request, "app/problems_new.html",
                  {"contacts": contacts, "cause": cause, "error": error})


@router.post("/problems")
def create_problem(request: Request, user: Annotated[User, require("label")],
                   form: CheckedForm) -> Response:
    ids = [int(k[2:]) for k in form if k.startswith("c_") and k[2:].isdigit()]
    ids += [int(x) for x in form.get("contact_ids", "").replace(",", " ").split() if x.isdigit()]
    try:
        pid = discovery.create_from_contacts(_wh(request), contact_ids=ids,
                                             title=form.get("title", ""), actor=user.username)
    except ProblemInputError as exc:
        raise Forbidden(str(exc), 400) from None
    return redirect(f"/app/problems/{pid}")


@router.get("/problems/{problem_id}")
def problem_page(request: Request, problem_id: int, user: Annotated[User, require("metrics")],
                 ) -> Response:
    wh = _wh(request)
    try:
        p = store.problem(wh, problem_id)
    except CxhubError as exc:
        raise Forbidden(str(exc), 404) from None
    try:  # fresh figures: a problem gains contacts as they arrive
        figures = figures_svc.compute(wh, problem_id,
                                      figures_svc.costs(request.app.state.settings.home))
    except CxhubError:
        figures = p.get("figures") or {}
    sample = _problem_contacts(wh, problem_id, 10) if user.can("contacts") else []
    actions = workflow.actions(wh, problem_id=problem_id)
    impact = None
    if actions:
        try:
            impact = impact_svc.problem_impact(wh, problem_id)
        except CxhubError as exc:
            impact = {"status": "error", "message": str(exc), "weeks": []}
    weekly = figures.get("weekly") or []
    own = (impact or {}).get("problem")  # the change in the problem's own contacts
    return render(request, "app/problem.html", {
        "p": p, "figures": figures, "events": store.events(wh, problem_id), "actions": actions,
        "sample": sample, "impact": impact, "states": workflow.NEXT.get(p["status"] or "open"),
        "kinds": workflow.ACTION_KINDS,
        "volume": {"x": [w[0] for w in weekly], "y": [w[1] for w in weekly]},
        "impact_chart": _impact_chart(impact),
        "impact_own": impact_svc.own_contacts_message(own, impact["action_date"])
        if own and impact else None})


SAMPLE_COLUMNS = ("contact_id", "created_at", "channel", "text")


def _problem_contacts(wh: Any, problem_id: int, limit: int) -> list[dict[str, Any]]:
    """The problem's contacts, newest first (the page shows 10, its download all)."""
    rows: list[dict[str, Any]] = wh.read_dicts(
        "SELECT c.contact_id, c.created_at, c.channel, c.text FROM problem_contacts p "
        "JOIN contacts c USING (contact_id) WHERE p.problem_id = ? "
        "ORDER BY c.created_at DESC, c.contact_id DESC LIMIT ?", [problem_id, limit])
    return rows


def _known(wh: Any, problem_id: int) -> None:
    try:
        store.problem(wh, problem_id)
    except CxhubError as exc:
        raise Forbidden(str(exc), 404) from None


@router.get("/export/problems/{problem_id}/contacts.{fmt}")
def problem_contacts_file(request: Request, problem_id: int, fmt: str,
                          user: Annotated[User, require("contacts")]) -> Response:
    """Every contact linked to the problem (its page samples the newest 10)."""
    downloads.check_format(fmt)
    wh = _wh(request)
    _known(wh, problem_id)
    rows = _problem_contacts(wh, problem_id, downloads.MAX_ROWS + 1)
    return downloads.respond(fmt, f"problem-{problem_id}-contacts",
                             downloads.table(rows, SAMPLE_COLUMNS))


@router.get("/export/problems/{problem_id}/history.{fmt}")
def problem_history_file(request: Request, problem_id: int, fmt: str,
                         user: Annotated[User, require("metrics")]) -> Response:
    downloads.check_format(fmt)
    wh = _wh(request)
    _known(wh, problem_id)
    rows = store.events(wh, problem_id)
    return downloads.respond(fmt, f"problem-{problem_id}-history", downloads.table(
        rows, ("event_id", "happened_at", "actor", "kind", "state", "note", "detail")))


def _impact_chart(impact: dict[str, Any] | None) -> dict[str, Any] | None:
    if not impact or not impact.get("weeks"):
        return None
    weeks = impact["weeks"]
    after = [w for w in weeks if w["after"]]
    return {"x": [w["week_start"] for w in weeks], "actual": [w["actual"] for w in weeks],
            "expected": [w["expected"] for w in weeks],
            "after_x": [w["week_start"] for w in after],
            "low": [w.get("low") for w in after], "high": [w.get("high") for w in after],
            "action": impact.get("action_date")}


@router.post("/problems/{problem_id}/state")
def change_state(request: Request, problem_id: int, user: Annotated[User, require("label")],
                 form: CheckedForm) -> Response:
    try:
        workflow.change_state(_wh(request), problem_id, form.get("state", ""),
                              actor=user.username, role=user.role,
                              note=form.get("note") or None, due=form.get("due") or None,
                              reason=form.get("reason") or None)
    except ProblemInputError as exc:
        raise Forbidden(str(exc), 400) from None
    return redirect(f"/app/problems/{problem_id}")


@router.post("/problems/{problem_id}/actions")
def record_action(request: Request, problem_id: int, user: Annotated[User, require("label")],
                  form: CheckedForm) -> Response:
    try:
        workflow.record_action(_wh(request), title=form.get("title", ""),
                               kind=form.get("kind", ""), date=form.get("date", ""),
                               actor=user.username, role=user.role, problem_id=problem_id,
                               note=form.get("note") or None)
    except ProblemInputError as exc:
        raise Forbidden(str(exc), 400) from None
    return redirect(f"/app/problems/{problem_id}")
