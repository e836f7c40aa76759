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

from typing import Any

import orjson
from pydantic import ValidationError
from starlette.types import ASGIApp, Receive, Scope, Send

from cxhub.domain.api_columns import validated_rows
from cxhub.web.api.v1.fast_path import json_with_ingest_key, read_body, replay, send_json
from cxhub.web.api.v1.records import ADAPTERS, ENDPOINTS, answer

_PATHS = {f"/api/v1/{path}": kind for path, kind in ENDPOINTS.items()}


class RecordsFastPath:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = _PATHS.get(scope["path"]) if scope["type"] == "http" else None
        if kind is None or scope["method"] != "POST" or not json_with_ingest_key(scope):
            await self.app(scope, receive, send)
            return
        messages, body = await read_body(receive)
        rows = self._rows(scope, kind, body) if body is not None else None
        written = None
        if rows is not None:
            try:
                written = await scope["app"].state.sink.write(kind, rows[0])
            except Exception:  # the route writes again and answers the error as it does
                written = None
        if written is None:
            await self.app(scope, replay(messages, receive), send)
            return
        status, content = answer(written, rows[1])  # type: ignore[index]
        await send_json(send, status, content)

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
        if batch and (rows := validated_rows(kind, data)) is not None:
            return rows, batch  # a plain batch, checked a column at a time
        one, many = ADAPTERS[kind]
        try:
            records = many.validate_python(data) if batch else [one.validate_python(data)]
        except ValidationError:
            return None
        # As the route: the validated models' own field dicts are the rows.
        return [vars(r) for r in records], batch
