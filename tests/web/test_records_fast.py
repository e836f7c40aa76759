"""The records' fast path answers ordinary POSTs itself, as the route would, and hands anything
else, body included, to the route (here a stand-in that records what reached it)."""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace
from typing import Any

import orjson

from cxhub.services.access.keys import KeyCache
from cxhub.services.records.api import RecordSink
from cxhub.settings import Settings
from cxhub.warehouse import Warehouse
from cxhub.web.api.v1.records_fast import RecordsFastPath

CONTACT = {"source": "crm", "external_id": "c-1", "channel": "phone",
           "created_at": "2024-05-06T09:00:00"}


def post(app: Any, path: str, body: Any, *, token: str = "good",
         ctype: bytes = b"application/json") -> tuple[int, Any, list[bytes]]:
    """(status, JSON answer, the bodies the route received) of one POST through the fast path."""
    routed: list[bytes] = []

    async def route(scope: Any, receive: Any, send: Any) -> None:
        message = await receive()
        routed.append(message["body"])
        await send({"type": "http.response.start", "status": 599, "headers": []})
        await send({"type": "http.response.body", "body": b"null"})

    raw = body if isinstance(body, bytes) else orjson.dumps(body)
    scope = {"type": "http", "method": "POST", "path": path, "app": app,
             "headers": [(b"content-type", ctype), (b"authorization", f"Bearer {token}".encode())]}
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": raw, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    # An event loop of its own, in a thread of its own (the browser tests keep one running).
    with ThreadPoolExecutor(1) as pool:
        pool.submit(lambda: asyncio.run(RecordsFastPath(route)(scope, receive, send))).result(30)
    return sent[0]["status"], orjson.loads(sent[1]["body"]), routed


def test_ordinary_posts_are_answered_and_the_rest_reach_the_route(warehouse: Warehouse) -> None:
    cache = KeyCache()
    cache.put("good", ("ingest",), time.monotonic())
    cache.put("reader", ("read",), time.monotonic())
    app = SimpleNamespace(state=SimpleNamespace(
        sink=RecordSink(warehouse), key_cache=cache, settings=Settings(max_batch=3)))

    assert post(app, "/api/v1/contacts", CONTACT) == (201, {"id": 1, "created": True}, [])
    assert post(app, "/api/v1/contacts", CONTACT) == (200, {"id": 1, "created": False}, [])
    batch = [CONTACT, {**CONTACT, "external_id": "c-2"}]
    assert post(app, "/api/v1/contacts", batch) == (
        201, {"ids": [1, 2], "created": 1, "existing": 1}, [])
    assert warehouse.read("SELECT external_id FROM contacts ORDER BY 1") == [("c-1",), ("c-2",)]

    # The route answers: a record it refuses, broken JSON, too long a batch, an empty one, a
    # key the cache does not know or that lacks the scope, a form body, another path.
    refused = {**CONTACT, "external_id": "c-3", "channel": "pigeon"}
    for path, body, token, ctype in [
        ("/api/v1/contacts", refused, "good", b"application/json"),
        ("/api/v1/contacts", b"{not json", "good", b"application/json"),
        ("/api/v1/contacts", [CONTACT] * 4, "good", b"application/json"),
        ("/api/v1/contacts", [], "good", b"application/json"),
        ("/api/v1/contacts", CONTACT, "unknown", b"application/json"),
        ("/api/v1/contacts", CONTACT, "reader", b"application/json"),
        ("/api/v1/contacts", CONTACT, "good", b"application/x-www-form-urlencoded"),
        ("/api/v1/contacts/1", CONTACT, "good", b"application/json"),
    ]:
        raw = body if isinstance(body, bytes) else orjson.dumps(body)
        status, _, routed = post(app, path, body, token=token, ctype=ctype)
        assert (status, routed) == (599, [raw]), (path, body, token, ctype)
    assert warehouse.read_one("SELECT count(*) FROM contacts") == (2,)
