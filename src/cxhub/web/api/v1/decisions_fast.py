"""`POST /api/v1/decisions` answered at the ASGI level when everything about it is ordinary.

A decision costs about a tenth of a millisecond; FastAPI's routing (a regular expression per
route, over a hundred routes), its dependency injection, pydantic's model and Starlette's
request and response objects cost several times that. This middleware answers a request that
is plainly valid (a JSON object with known fields of the right types, a key already in the
key cache with the `ingest` scope, the engine loaded) directly, with the same answer the
route in `offers.py` would give. Anything else (no key or an uncached one, a field to refuse,
a form body, the engine still loading) goes on, untouched, to that route, which gives the
error with the field named; so the rules live in one place and the fast path can only be
faster, never different.
"""

from __future__ import annotations

import time
from typing import Any

import orjson
from starlette.types import ASGIApp, Receive, Scope, Send

from cxhub.analytics.offers.catalogue import SENTIMENTS
from cxhub.domain.canonical import CATEGORIES, CAUSES, CHANNELS
from cxhub.services.offers.engine import Context
from cxhub.web.api.v1.fast_path import json_with_ingest_key, read_body, replay, send_json

PATH = "/api/v1/decisions"
_CHOICES = {"channel": frozenset(CHANNELS), "category": frozenset(CATEGORIES),
            "cause": frozenset(CAUSES), "sentiment": frozenset(SENTIMENTS)}
_TEXTS = {"customer_source": 100, "customer_external_id": 200, "contact_external_id": 200}
_FIELDS = frozenset(_CHOICES) | frozenset(_TEXTS) | {"customer_id", "limit"}


def plain_request(body: Any) -> dict[str, Any] | None:
    """The request's fields when the route would accept them as they are; None otherwise
    (the route then answers, refusing or coercing as its model says)."""
    if not isinstance(body, dict) or not body.keys() <= _FIELDS:
        return None
    for name, choices in _CHOICES.items():
        v = body.get(name)
        if v is not None and (type(v) is not str or v not in choices):
            return None
    for name, longest in _TEXTS.items():
        v = body.get(name)
        if v is not None and (type(v) is not str or len(v) > longest):
            return None
    cid = body.get("customer_id")
    if cid is not None and (type(cid) is not int or cid < 0):
        return None
    limit = body.get("limit", 3)
    if type(limit) is not int or not 1 <= limit <= 25:
        return None
    if body.get("customer_source") is not None and body.get("customer_external_id") is None:
        return None
    return body


class DecisionFastPath:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != PATH or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        messages, body = await read_body(receive)
        answer = self._answer(scope, body) if body is not None else None
        if answer is None:
            await self.app(scope, replay(messages, receive), send)
            return
        content, took = answer
        timing = (b"server-timing", f"decide;dur={took:.3f}".encode())
        await send_json(send, 200, content, (timing,))

    def _answer(self, scope: Scope, raw: bytes) -> tuple[bytes, float] | None:
        if not json_with_ingest_key(scope):
            return None  # the route looks the key up (in a worker thread) or refuses it
        app = scope["app"]
        runtime = getattr(app.state, "offers", None)
        engine = runtime.engine if runtime is not None and runtime.ready.is_set() else None
        if engine is None or engine.state is None:
            return None
        try:
            body = plain_request(orjson.loads(raw))
        except orjson.JSONDecodeError:
            return None
        if body is None:
            return None
        started = time.perf_counter()
        get = body.get
        decision = engine.decide(
            customer_id=get("customer_id"), customer_source=get("customer_source"),
            customer_external_id=get("customer_external_id"), limit=get("limit", 3),
            context=Context(get("channel"), get("category"), get("cause"), get("sentiment"),
                            get("contact_external_id")))
        content = orjson.dumps(decision)
        return content, (time.perf_counter() - started) * 1000
