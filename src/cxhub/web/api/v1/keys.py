"""API keys over the API (admin scope): list, create and revoke without stopping the server."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from cxhub.domain.errors import CxhubError
from cxhub.services.access import keys as key_service
from cxhub.web.deps import WarehouseDep, require_scope

router = APIRouter(prefix="/api/v1/keys", tags=["keys"], dependencies=[require_scope("admin")])


class KeyIn(BaseModel):
    scopes: list[str] = Field(..., min_length=1, description="ingest, read or admin")
    name: str = Field("", max_length=200, description="who or what the key is for")


def _public(key: key_service.ApiKey) -> dict[str, Any]:
    return {"key_id": key.key_id, "name": key.name, "prefix": key.prefix,
            "scopes": list(key.scopes), "revoked": key.revoked}


@router.get("", summary="The API keys (never their secrets)")
def list_keys(wh: WarehouseDep) -> list[dict[str, Any]]:
    return [_public(k) for k in key_service.list_keys(wh)]


@router.post("", status_code=201, summary="Create a key; its secret is in this answer only")
def create_key(body: KeyIn, wh: WarehouseDep) -> dict[str, Any]:
    try:
        key, token = key_service.create_key(wh, scopes=body.scopes, name=body.name)
    except CxhubError as exc:
        raise HTTPException(422, [{"loc": ["body", "scopes"], "msg": str(exc),
                                   "type": "value_error"}]) from None
    return {**_public(key), "key": token}


@router.delete("/{key_id}", summary="Revoke a key: it stops working at once")
async def revoke_key(key_id: int, request: Request, wh: WarehouseDep) -> dict[str, Any]:
    if not await run_in_threadpool(key_service.revoke_key, wh, key_id):
        raise HTTPException(404, f"no active key with id {key_id}")
    request.app.state.key_cache.clear()
    return {"key_id": key_id, "revoked": True}
