"""What the API's fast paths share (`decisions_fast`, `records_fast`): reading a request at the
ASGI level, checking its key against the key cache, answering JSON, and handing the request on
to FastAPI's route, body included, when the fast path should not answer it."""

from __future__ import annotations

import time

from starlette.types import Message, Receive, Scope, Send


def header(scope: Scope, name: bytes) -> bytes | None:
    for k, v in scope["headers"]:
        if k == name:
            return v  # type: ignore[no-any-return]
    return None


def token(scope: Scope) -> str | None:
    auth = (header(scope, b"authorization") or b"").decode("latin-1")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip() or None
    key = header(scope, b"x-api-key")
    return key.decode("latin-1") if key else None


def json_with_ingest_key(scope: Scope) -> bool:
    """A JSON body and a key the cache already knows with the `ingest` scope. Anything else
    (no key, an uncached one: looked up in a worker thread by the route) goes to the route."""
    if not (header(scope, b"content-type") or b"").startswith(b"application/json"):
        return False
    key = token(scope)
    if key is None:
        return False
    hit, scopes = scope["app"].state.key_cache.get(key, time.monotonic())
    return bool(hit and scopes is not None and "ingest" in scopes)


async def read_body(receive: Receive) -> tuple[list[Message], bytes | None]:
    """The messages read and the whole body; the body is None when the client went away."""
    messages: list[Message] = []
    chunks: list[bytes] = []
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            return messages, None
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return messages, b"".join(chunks)


def replay(messages: list[Message], receive: Receive) -> Receive:
    """The body already read, then whatever the client sends next (a disconnect)."""
    pending = list(messages)

    async def replayed() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replayed


async def send_json(send: Send, status: int, content: bytes,
                    extra: tuple[tuple[bytes, bytes], ...] = ()) -> None:
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(content)).encode()), *extra]})
    await send({"type": "http.response.body", "body": content})
