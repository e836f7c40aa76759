"""POST endpoints for records from outside: one object, or a list of up to `max_batch`.

Idempotent by (source, external_id): a retried POST returns the same id and writes nothing.
201 when something new was written, 200 when everything was already there.
"""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from pydantic import TypeAdapter, ValidationError

from cxhub.domain.api_models import MODELS
from cxhub.domain.canonical import RECORD_KINDS
from cxhub.services.records.api import Written
from cxhub.web.deps import check_scope, get_settings, get_sink

router = APIRouter(prefix="/api/v1", tags=["ingest"])

# URL path -> record kind
ENDPOINTS = {
    "contacts": "contacts",
    "contact-events": "contact_events",
    "surveys": "surveys",
    "mentions": "mentions",
    "touchpoints": "touchpoints",
    "source-records": "source_records",
    "transactions": "transactions",
    "holdings": "holdings",
    "offer-decisions": "offer_decisions",
    "calendar-events": "calendar_events",
    "rosters": "rosters",
}


# kind -> the validators of one record and of a list (shared with `records_fast`).
ADAPTERS: dict[str, tuple[TypeAdapter[Any], TypeAdapter[Any]]] = {}


def answer(written: list[Written], batch: bool) -> tuple[int, bytes]:
    """The status and body for records written: 201 when anything was new, else 200."""
    created = sum(w.created for w in written)
    status = 201 if created else 200
    if batch:
        content: dict[str, Any] = {
            "ids": [w.id for w in written], "created": created,
            "existing": len(written) - created,
        }
    else:
        content = {"id": written[0].id, "created": bool(created)}
    return status, orjson.dumps(content)


def _endpoint(path: str, kind: str) -> None:
    model = MODELS[kind]
    one = TypeAdapter(model)
    many = TypeAdapter(list[model])  # type: ignore[valid-type]
    ADAPTERS[kind] = (one, many)
    # The body is read raw (one object or a list), so FastAPI does not register the model in
    # the OpenAPI components; the schema is given inline, where a $ref would dangle.
    item = model.model_json_schema()
    schema = {"oneOf": [item, {"type": "array", "items": item}]}

    async def post(request: Request) -> Response:
        # Plain calls, not dependencies: each dependency FastAPI resolves costs as much as
        # validating a record, and a sync one is handed to a worker thread.
        await check_scope(request, "ingest")
        sink, settings = get_sink(request), get_settings(request)
        body = await request.body()
        try:
            data = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise RequestValidationError(
                [{"loc": ["body"], "msg": f"invalid JSON: {exc}", "type": "json_invalid"}]
            ) from None
        batch = isinstance(data, list)
        if batch and len(data) > settings.max_batch:
            raise RequestValidationError([{
                "loc": ["body"], "type": "too_long",
                "msg": f"a batch holds at most {settings.max_batch} records; got {len(data)}",
            }])
        try:
            records = many.validate_python(data) if batch else [one.validate_python(data)]
        except ValidationError as exc:
            raise RequestValidationError(_errors(exc)) from None
        # The validated models are flat and read only by the writer, so their own field dicts
        # serve as rows: model_dump() would copy each one (a third of a batch's cost here).
        rows = [vars(r) for r in records]
        # Awaited on the event loop: the flush that writes these rows wakes the loop once for
        # all the requests it answers, and no thread waits per request.
        written = await sink.write(kind, rows) if rows else []
        status, content = answer(written, batch)
        return Response(content, status_code=status, media_type="application/json")

    post.__name__ = f"post_{kind}"
    router.add_api_route(
        f"/{path}",
        post,
        methods=["POST"],
        summary=f"Add {kind.replace('_', ' ')} (one, or a list of up to 10,000)",
        description=RECORD_KINDS[kind].description,
        openapi_extra={
            "requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}
        },
        # 401, 403 and 422 are added to every API operation by cxhub.web.api_docs.
        responses={201: {"description": "written"}, 200: {"description": "already present"},
                   413: {"description": "body too large"}},
    )


def _errors(exc: ValidationError) -> list[dict[str, Any]]:
    """Pydantic's errors, located in the body, with the field named in the message."""
    out = []
    for e in exc.errors(include_url=False):
        loc = ["body", *e["loc"]]
        field = next((str(p) for p in reversed(e["loc"]) if isinstance(p, str)), None)
        msg = e["msg"].removeprefix("Value error, ")
        out.append({"loc": loc, "msg": f"{field}: {msg}" if field else msg, "type": e["type"]})
    return out


for _path, _kind in ENDPOINTS.items():
    _endpoint(_path, _kind)
