"""The next best action over REST.

`POST /decisions` and `POST /decisions/{id}/outcome` need the `ingest` scope: they write
records (the decision, its outcome), as the contact-centre software that calls them does.
Reading the catalogue and the learned reports needs `read`.
"""

from __future__ import annotations

import time
from typing import Any

import orjson
from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field, field_validator
from starlette.concurrency import run_in_threadpool

from cxhub.analytics.offers.catalogue import SENTIMENTS
from cxhub.domain.canonical import CATEGORIES, CAUSES, CHANNELS
from cxhub.services.offers import learning, outcomes
from cxhub.services.offers.engine import Context, Engine
from cxhub.web.deps import WarehouseDep, require_scope

router = APIRouter(prefix="/api/v1", tags=["offers"])
WRITE = [require_scope("ingest")]
READ = [require_scope("read")]


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
