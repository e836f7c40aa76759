"""Problems, their state changes, actions and impact over REST. Reading needs the `read` scope;
changing anything needs `admin` (the key stands for an administrator)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel, Field

from cxhub.domain.errors import CxhubError, NotFoundError
from cxhub.services.problems import discovery, store, workflow
from cxhub.services.problems import impact as impact_svc
from cxhub.services.problems.errors import ProblemInputError
from cxhub.web.deps import WarehouseDep, require_scope

router = APIRouter(prefix="/api/v1", tags=["problems"])
READ = [require_scope("read")]
WRITE = [require_scope("admin")]
T = TypeVar("T")


def _answer(fn: Callable[[], T]) -> T:
    """404 for an unknown id, 422 naming the field for other bad input."""
    try:
        return fn()
    except NotFoundError as exc:
        raise HTTPException(404, str(exc)) from None
    except ProblemInputError as exc:
        status = 404 if exc.field == "problem_id" and exc.reason.startswith("no problem") else 422
        raise HTTPException(status, [{"loc": ["body", exc.field], "msg": exc.reason,
                                      "type": "value_error"}]) from None
    except CxhubError as exc:
        raise HTTPException(422, str(exc)) from None


def _public(p: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in p.items() if k != "rule"} | {"rule": p.get("rule")}


@router.get("/problems", dependencies=READ, summary="Problems, highest priority first")
def list_problems(wh: WarehouseDep, state: Annotated[list[str] | None, Query()] = None
                  ) -> dict[str, Any]:
    for s in state or []:
        if s not in workflow.STATES:
            raise HTTPException(422, [{"loc": ["query", "state"], "msg": f"unknown state {s!r}",
                                       "type": "value_error"}])
    return {"problems": [_public(p) for p in store.problems(wh, states=state)]}


@router.get("/problems/{problem_id}", dependencies=READ, summary="One problem with its history")
def get_problem(problem_id: int, wh: WarehouseDep) -> dict[str, Any]:
    def get() -> dict[str, Any]:
        p = store.problem(wh, problem_id)
        return {**_public(p), "events": store.events(wh, problem_id),
                "actions": workflow.actions(wh, problem_id=problem_id),
                "contacts_linked": len(store.linked_ids(wh, problem_id)),
                "mentions_linked": len(store.linked_mention_ids(wh, problem_id))}
    return _answer(get)


class NewProblem(BaseModel):
    title: str = Field(min_length=1, max_length=300)
    contact_ids: list[Annotated[int, Field(ge=1, le=discovery.MAX_ID)]] = Field(
        min_length=1, max_length=10_000)
    cause: str | None = None
    description: str | None = Field(None, max_length=4000)
    by: str = Field("api", max_length=100)


@router.post("/problems", dependencies=WRITE, status_code=201,
             summary="A problem made from selected contacts")
def create_problem(body: NewProblem, wh: WarehouseDep) -> dict[str, Any]:
    pid = _answer(lambda: discovery.create_from_contacts(
        wh, contact_ids=body.contact_ids, title=body.title, cause=body.cause,
        description=body.description, actor=body.by))
    return {"problem_id": pid}


class StateChange(BaseModel):
    state: str
    note: str | None = Field(None, max_length=4000)
    due: str | None = None
    reason: str | None = Field(None, max_length=4000)
    by: str = Field("api", max_length=100)


@router.post("/problems/{problem_id}/state", dependencies=WRITE,
             summary="Move a problem to its next state")
def change_state(problem_id: int, body: StateChange, wh: WarehouseDep) -> dict[str, Any]:
    return _answer(lambda: workflow.change_state(
        wh, problem_id, body.state, actor=body.by, role="admin", note=body.note, due=body.due,
        reason=body.reason))


class NewAction(BaseModel):
    title: str = Field(min_length=1, max_length=300)
    kind: str = "fix"
    date: str
    problem_id: int | None = None
    cause: str | None = None
    note: str | None = Field(None, max_length=4000)
    by: str = Field("api", max_length=100)


@router.post("/actions", dependencies=WRITE, status_code=201, summary="Record an action taken")
def record_action(body: NewAction, wh: WarehouseDep) -> dict[str, Any]:
    aid = _answer(lambda: workflow.record_action(
        wh, title=body.title, kind=body.kind, date=body.date, actor=body.by, role="admin",
        problem_id=body.problem_id, cause=body.cause, note=body.note))
    return {"action_id": aid}


@router.get("/actions", dependencies=READ, summary="Actions, newest first")
def list_actions(wh: WarehouseDep, problem_id: int | None = None) -> dict[str, Any]:
    return {"actions": workflow.actions(wh, problem_id=problem_id)}


@router.get("/impact", dependencies=READ,
            summary="What an action on a cause changed from a date (or a problem's last action)")
def impact(wh: WarehouseDep, cause: str | None = None, since: str | None = None,
           problem_id: int | None = None) -> dict[str, Any]:
    if problem_id is not None:
        return _answer(lambda: impact_svc.problem_impact(wh, problem_id))
    if not cause or not since:
        raise HTTPException(422, [{"loc": ["query", "cause" if not cause else "since"],
                                   "msg": "give cause and since, or problem_id",
                                   "type": "value_error"}])
    return _answer(lambda: impact_svc.impact_dict(
        impact_svc.cause_impact(wh, cause=cause, since=since), cause=cause))
