"""`POST /api/v1/<records>` answered at the ASGI level when everything about it is ordinary.

FastAPI's routing (a regular expression per route, over a hundred routes), its request and
response objects and its exception middleware cost more than validating one contact and
writing it. This middleware answers a request that is plainly acceptable (a JSON body, a key
already in the key cache with the `ingest` scope, records that the route's own validators
accept, a batch within `max_batch`) directly, through the same record sink and with the same
answer (`records.answer`) as the route in `records.py`. Anything else (no key or an uncached
one, a record to refuse, a batch too long, a failed write) goes on, with its body, to that
route, which answers as it always did: the rules live in one place, and the fast path can only
be faster, never different. Modelled on `decisions_fast.py`.
"""

from __future__ import annotations

import time
from typing import Any

import orjson
from pydantic import ValidationError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cxhub.web.api.v1.decisions_fast import _header, _replay, _token
from cxhub.web.api.v1.records import ADAPTERS, ENDPOINTS, answer

_PATHS = {f"/api/v1/{path}": kind for path, kind in ENDPOINTS.items()}


class RecordsFastPath:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = _PATHS.get(scope["path"]) if scope["type"] == "http" else None
        if kind is None or scope["method"] != "POST" or not self._allowed(scope):
            await self.app(scope, receive, send)
            return
        messages: list[Message] = []
        chunks: list[bytes] = []
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        rows = None
        if messages[-1]["type"] == "http.request":
            rows = self._rows(scope, kind, b"".join(chunks))
        written = None
        if rows is not None:
            try:
                written = await scope["app"].state.sink.write(kind, rows[0])
            except Exception:  # the route writes again and answers the error as it does
                written = None
        if written is None:
            await self.app(scope, _replay(messages, receive), send)
            return
        status, content = answer(written, rows[1])  # type: ignore[index]
        await send({"type": "http.response.start", "status": status, "headers": [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(content)).encode())]})
        await send({"type": "http.response.body", "body": content})

    @staticmethod
    def _allowed(scope: Scope) -> bool:
        """A JSON body and a key the cache knows with the `ingest` scope; else the route."""
        if not (_header(scope, b"content-type") or b"").startswith(b"application/json"):
            return False
        token = _token(scope)
        if token is None:
            return False
        hit, scopes = scope["app"].state.key_cache.get(token, time.monotonic())
        return bool(hit and scopes is not None and "ingest" in scopes)

    @staticmethod
    def _rows(scope: Scope, kind: str, raw: bytes) -> tuple[list[dict[str, Any]], bool] | None:
        """The validated rows, and whether the body was a list; None when the route should
        answer (broken JSON, a record it refuses, an empty or too long list)."""
        try:
            data = orjson.loads(raw)
        except orjson.JSONDecodeError:
            return None
        batch = isinstance(data, list)
        if batch and not 0 < len(data) <= scope["app"].state.settings.max_batch:
            return None
        one, many = ADAPTERS[kind]
        try:
            records = many.validate_python(data) if batch else [one.validate_python(data)]
        except ValidationError:
            return None
        # As the route: the validated models' own field dicts are the rows.
        return [vars(r) for r in records], batch
