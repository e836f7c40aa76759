"""Dependencies shared by the routers: the warehouse, the record sink, API-key scopes."""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from starlette.concurrency import run_in_threadpool

from cxhub.services.access.keys import KeyCache, scopes_for_token
from cxhub.services.records.api import RecordSink
from cxhub.settings import Settings
from cxhub.warehouse import Warehouse


def get_warehouse(request: Request) -> Warehouse:
    return request.app.state.warehouse  # type: ignore[no-any-return]


def get_sink(request: Request) -> RecordSink:
    return request.app.state.sink  # type: ignore[no-any-return]


def get_settings(request: Request) -> Settings:
    return request.app.state.settings  # type: ignore[no-any-return]


WarehouseDep = Annotated[Warehouse, Depends(get_warehouse)]
SinkDep = Annotated[RecordSink, Depends(get_sink)]
SettingsDep = Annotated[Settings, Depends(get_settings)]


def _token(request: Request) -> str | None:
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip() or None
    return request.headers.get("x-api-key") or None


async def check_scope(request: Request, scope: str) -> None:
    """401 without a valid key, 403 when the key lacks `scope`.

    Async, so that FastAPI runs it on the event loop: a sync dependency is handed to a worker
    thread, and that hop cost more than the rest of a single-record POST. A key's scopes come
    from the warehouse at most every `KeyCache.ttl` seconds, and that read runs in a worker
    thread."""
    token = _token(request)
    if token is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "an API key is required",
                            headers={"WWW-Authenticate": "Bearer"})
    cache: KeyCache = request.app.state.key_cache
    now = time.monotonic()
    hit, scopes = cache.get(token, now)
    if not hit:
        scopes = await run_in_threadpool(scopes_for_token, request.app.state.warehouse, token)
        cache.put(token, scopes, now)
    if scopes is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "unknown or revoked API key",
                            headers={"WWW-Authenticate": "Bearer"})
    if scope not in scopes:
        raise HTTPException(status.HTTP_403_FORBIDDEN,
                            f"this key lacks the {scope!r} scope")


def require_scope(scope: str):  # type: ignore[no-untyped-def]
    """A dependency: 401 without a valid key, 403 when the key lacks `scope`."""

    async def check(request: Request) -> None:
        await check_scope(request, scope)

    return Depends(check)
