"""The next best action over REST.

`POST /decisions` and `POST /decisions/{id}/outcome` need the `ingest` scope: they write
records (the decision, its outcome), as the contact-centre software that calls them does.
Reading the catalogue and the learned reports needs `read`. Changing the catalogue (create,
update, retire an offer or a trigger) needs `admin`, like the problems' writes: it changes
what every customer is offered. Each change is in the entry's history with the key's name.
"""

from __future__ import annotations

import time
from typing import Any

import orjson
from fastapi import APIRouter, Body, HTTPException, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field, field_validator
from starlette.concurrency import run_in_threadpool

from cxhub.analytics.offers.catalogue import SENTIMENTS, CatalogueError
from cxhub.domain.canonical import CATEGORIES, CAUSES, CHANNELS
from cxhub.services.offers import learning, manage, outcomes
from cxhub.services.offers.engine import Context, Engine
from cxhub.web.deps import WarehouseDep, require_scope

router = APIRouter(prefix="/api/v1", tags=["offers"])
WRITE = [require_scope("ingest")]
READ = [require_scope("read")]
ADMIN = [require_scope("admin")]


def _one_of(choices: tuple[str, ...]) -> Any:
    def check(v: str | None) -> str | None:
        if v is not None and v not in choices:
            raise ValueError(f"must be one of {', '.join(choices)}")
        return v
    return check


class DecisionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    customer_id: int | None = Field(None, ge=0, description="the golden customer id")
    customer_source: str | None = Field(None, max_length=100,
                                        description="the system of customer_external_id")
    customer_external_id: str | None = Field(None, max_length=200,
                                             description="the customer's id in that system")
    channel: str | None = None
    category: str | None = None
    cause: str | None = None
    sentiment: str | None = None
    contact_external_id: str | None = Field(None, max_length=200)
    limit: int = Field(3, ge=1, le=25, description="how many actions at most")

    _channel = field_validator("channel")(_one_of(CHANNELS))
    _category = field_validator("category")(_one_of(CATEGORIES))
    _cause = field_validator("cause")(_one_of(CAUSES))
    _sentiment = field_validator("sentiment")(_one_of(SENTIMENTS))


class OutcomeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    outcome: str = Field(description="accepted, declined or ignored")
    revenue: float | None = Field(None, ge=0, allow_inf_nan=False)
    offer_code: str | None = Field(None, max_length=100,
                                   description="needed when the decision made several offers")


def _engine(request: Request) -> Engine:
    runtime = getattr(request.app.state, "offers", None)
    engine: Engine | None = runtime.engine if runtime is not None else None
    if engine is None or engine.state is None:
        raise HTTPException(503, "the decision engine is still loading; retry in a few seconds",
                            headers={"Retry-After": "5"})
    return engine


@router.post("/decisions", dependencies=WRITE, summary="The next best actions in a contact",
             response_class=Response)
async def decide(body: DecisionRequest, request: Request) -> Response:
    runtime = getattr(request.app.state, "offers", None)
    if runtime is not None and not runtime.ready.is_set():
        await run_in_threadpool(runtime.ready.wait, 60)
    engine = _engine(request)
    if body.customer_external_id is None and body.customer_source is not None:
        raise HTTPException(422, [{"loc": ["body", "customer_external_id"], "type": "value_error",
                                   "msg": "customer_source needs customer_external_id"}])
    started = time.perf_counter()
    decision = engine.decide(
        customer_id=body.customer_id, customer_source=body.customer_source,
        customer_external_id=body.customer_external_id, limit=body.limit,
        context=Context(body.channel, body.category, body.cause, body.sentiment,
                        body.contact_external_id))
    # Serialised directly: FastAPI's generic encoder cost more than the decision itself.
    content = orjson.dumps(decision)
    took = (time.perf_counter() - started) * 1000
    return Response(content, media_type="application/json",
                    headers={"Server-Timing": f"decide;dur={took:.3f}"})


@router.post("/decisions/{decision_id}/outcome", dependencies=WRITE,
             summary="What the customer did with an offer (idempotent)")
async def outcome(decision_id: str, body: OutcomeRequest, request: Request) -> dict[str, Any]:
    engine = _engine(request)
    try:
        return await run_in_threadpool(outcomes.record, engine, decision_id,
                                       outcome=body.outcome, revenue=body.revenue,
                                       offer_code=body.offer_code)
    except outcomes.OutcomeError as exc:
        loc = ["path", "decision_id"] if exc.field == "decision_id" else ["body", exc.field]
        raise HTTPException(exc.status, [{"loc": loc, "msg": exc.reason,
                                          "type": "value_error"}]) from None


@router.get("/offers", dependencies=READ, summary="The offer catalogue")
async def catalogue(request: Request) -> dict[str, Any]:
    cat = _engine(request).state.catalogue  # type: ignore[union-attr]
    return {"offers": [{"code": o.code, "title": o.title, "product": o.product,
                        "value": o.value, "control_share": o.control_share,
                        "min_uplift": o.min_uplift, "active": o.active,
                        "valid_from": o.valid_from, "valid_to": o.valid_to,
                        "rules": {**{k: sorted(v) for k, v in o.rules.lists.items()},
                                  **{k: list(v) for k, v in o.rules.ranges.items()}}}
                       for o in cat.offers],
            "service_actions": [{"code": a.code, "title": a.title, "first": a.first}
                                for a in cat.actions]}


@router.get("/offers/reports", dependencies=READ,
            summary="Per offer: offered vs control, incremental acceptance and revenue")
def reports(wh: WarehouseDep) -> dict[str, Any]:
    return {"reports": learning.latest_reports(wh)}


def jsonable(entry: Any) -> dict[str, Any]:
    """A catalogue entry (dates, decimals ...) as JSON values: the body these routes return."""
    encoded: dict[str, Any] = jsonable_encoder(entry)
    return encoded


def _changed(request: Request, fn: Any) -> dict[str, Any]:
    """Run a catalogue change; its refusal as a 4xx naming the field; the engine told."""
    try:
        out: dict[str, Any] = fn(manage.key_actor(request.app.state.warehouse, _bearer(request)))
    except CatalogueError as exc:
        loc = ["body", *[p for p in exc.field.split(".") if p]]
        raise HTTPException(422, [{"loc": loc, "msg": exc.reason, "type": "value_error",
                                   "entry": exc.entry}]) from None
    except manage.Conflict as exc:
        raise HTTPException(409, str(exc)) from None
    except manage.NotFound as exc:
        raise HTTPException(404, str(exc)) from None
    runtime = getattr(request.app.state, "offers", None)
    if runtime is not None and runtime.engine.state is not None:
        runtime.engine.reload_catalogue()
    return out


def _bearer(request: Request) -> str | None:
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip() or None
    return request.headers.get("x-api-key")


def _entry(wh: Any, kind: str, code: str) -> dict[str, Any]:
    found = manage.entry(wh, kind, code)
    if found is None:
        raise HTTPException(404, f"no {kind} {code!r} in the catalogue")
    return {**found, "history": manage.history(wh, code)}


_ENTRY = Body(description="The entry's fields, as in the catalogue YAML (docs/offers.md)")


@router.get("/offers/{code}", dependencies=READ, summary="One offer and its history")
def offer_entry(code: str, wh: WarehouseDep) -> dict[str, Any]:
    return _entry(wh, "offer", code)


@router.post("/offers", dependencies=ADMIN, status_code=201, summary="Add an offer")
def create_offer(request: Request, body: Any = _ENTRY) -> JSONResponse:
    out = _changed(request, lambda who: manage.save(request.app.state.warehouse, "offer", body,
                                                    actor=who))
    return JSONResponse(jsonable(out), status_code=201)


@router.put("/offers/{code}", dependencies=ADMIN, summary="Replace an offer's fields")
def update_offer(code: str, request: Request, body: Any = _ENTRY) -> dict[str, Any]:
    return jsonable(_changed(request, lambda who: manage.save(
        request.app.state.warehouse, "offer", body, actor=who, code=code)))


@router.post("/offers/{code}/retire", dependencies=ADMIN,
             summary="Retire an offer (kept for its history; no longer offered)")
def retire_offer(code: str, request: Request) -> dict[str, Any]:
    return _changed(request, lambda who: manage.retire(request.app.state.warehouse, "offer",
                                                       code, actor=who))


@router.get("/triggers", dependencies=READ, summary="The triggers (service events)")
def list_triggers(wh: WarehouseDep) -> dict[str, Any]:
    from cxhub.services.offers import catalogue as store

    return {"triggers": [jsonable(store.trigger_raw(t))
                         for t in store.load_triggers(wh, active_only=False)]}


@router.get("/triggers/reports", dependencies=READ,
            summary="Per trigger: audience vs control, incremental acceptance and revenue")
def trigger_reports(wh: WarehouseDep) -> dict[str, Any]:
    from cxhub.services.offers import trigger_runs

    return {"reports": trigger_runs.reports(wh)}


@router.get("/triggers/{code}", dependencies=READ, summary="One trigger and its history")
def trigger_entry(code: str, wh: WarehouseDep) -> dict[str, Any]:
    return jsonable(_entry(wh, "trigger", code))


@router.post("/triggers", dependencies=ADMIN, status_code=201, summary="Add a trigger")
def create_trigger(request: Request, body: Any = _ENTRY) -> JSONResponse:
    out = _changed(request, lambda who: manage.save(request.app.state.warehouse, "trigger",
                                                    body, actor=who))
    return JSONResponse(jsonable(out), status_code=201)


@router.put("/triggers/{code}", dependencies=ADMIN, summary="Replace a trigger's fields")
def update_trigger(code: str, request: Request, body: Any = _ENTRY) -> dict[str, Any]:
    return jsonable(_changed(request, lambda who: manage.save(
        request.app.state.warehouse, "trigger", body, actor=who, code=code)))


@router.post("/triggers/{code}/retire", dependencies=ADMIN,
             summary="Retire a trigger (kept for its history; no longer run)")
def retire_trigger(code: str, request: Request) -> dict[str, Any]:
    return _changed(request, lambda who: manage.retire(request.app.state.warehouse, "trigger",
                                                       code, actor=who))


_AUDIENCE_TYPES = {"csv": "text/csv", "parquet": "application/vnd.apache.parquet",
                   "json": "application/json"}


@router.get("/triggers/{code}/audience", dependencies=READ,
            summary="A trigger's audience now, for a marketing automation tool",
            responses={200: {"content": {t: {} for t in _AUDIENCE_TYPES.values()}}})
def trigger_audience(code: str, wh: WarehouseDep, format: str = "csv",  # noqa: A002
                     include_control: bool = False) -> Response:
    """Who the trigger's event happened to (the policy's protected customers left out), with
    each one's control-group draw; the control group is left out unless `include_control`.
    Evaluated on request: nothing is recorded (the server's own runs record members)."""
    from cxhub.services.offers import trigger_runs

    if format not in _AUDIENCE_TYPES:
        raise HTTPException(422, [{"loc": ["query", "format"], "type": "value_error",
                                   "msg": f"must be one of {', '.join(_AUDIENCE_TYPES)}"}])
    try:
        body = trigger_runs.audience_file(wh, code, format, include_control=include_control)
    except manage.NotFound as exc:
        raise HTTPException(404, str(exc)) from None
    return Response(body, media_type=_AUDIENCE_TYPES[format], headers={
        "Content-Disposition": f'attachment; filename="{code}-audience.{format}"'})
