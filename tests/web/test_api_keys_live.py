"""Keys revoked while the server runs: over the API and with `cxhub keys revoke`."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

import pytest
from tests.conftest import run_cli
from tests.web.conftest import Server

from cxhub.services.access.keys import KeyCache


def _contact() -> dict[str, str]:
    return {"source": "keys-test", "external_id": uuid.uuid4().hex, "channel": "email",
            "created_at": "2024-03-01T09:00:00Z"}


def _works(server: Server, key: str) -> bool:
    return server.post("/api/v1/contacts", _contact(), key=key).status_code == 201


@pytest.mark.slow
def test_keys_are_created_listed_and_revoked_over_the_api(
    start_server: Callable[..., Server],
) -> None:
    server = start_server(keys={"admin": ("admin",), "ingest": ("ingest",)})
    assert _works(server, "ingest")  # now in the server's key cache
    listed = server.get("/api/v1/keys", key="admin").json()
    ingest_id = next(k["key_id"] for k in listed if k["scopes"] == ["ingest"])
    assert all("key" not in k and "key_hash" not in k for k in listed)

    r = server.post("/api/v1/keys", {"scopes": ["read"], "name": "report"}, key="admin")
    assert r.status_code == 201, r.text
    assert r.json()["key"].startswith("cxh_")
    bad = server.post("/api/v1/keys", {"scopes": ["root"]}, key="admin")
    assert bad.status_code == 422 and "scopes" in bad.text

    with server.client("admin") as c:
        assert c.delete(f"/api/v1/keys/{ingest_id}").status_code == 200
        assert c.delete(f"/api/v1/keys/{ingest_id}").status_code == 404
    assert not _works(server, "ingest")  # at once, not after the cache's five seconds
    with server.client("ingest") as c:
        assert c.get("/api/v1/keys").status_code == 401


@pytest.mark.slow
def test_cxhub_keys_revoke_works_while_the_server_runs(
    start_server: Callable[..., Server],
) -> None:
    server = start_server(keys={"admin": ("admin",)})
    # The CLI cannot open the file while the server owns it: the key is made over the API.
    r = server.post("/api/v1/keys", {"scopes": ["ingest"]}, key="admin")
    assert r.status_code == 201, r.text
    key_id = int(r.json()["key_id"])
    server.keys["late"] = str(r.json()["key"])
    assert _works(server, "late")
    asked = time.monotonic()
    proc = run_cli("keys", "revoke", str(key_id), home=server.home, timeout=60)
    assert "revoked by the running server" in proc.stdout
    while _works(server, "late"):
        assert time.monotonic() - asked < 5, "a revoked key still worked after 5 seconds"
        time.sleep(0.2)
    again = run_cli("keys", "revoke", str(key_id), home=server.home, timeout=60, check=False)
    assert again.returncode != 0 and "no active key" in again.stderr


def test_the_key_cache_is_bounded_for_unknown_keys() -> None:
    cache = KeyCache(ttl=60, known=3, unknown=5)
    for i in range(1000):
        cache.put(f"random-{i}", None, now=0.0)
    cache.put("good", ("read",), now=0.0)
    assert len(cache) == 6
    assert cache.get("good", now=1.0) == (True, ("read",))
    assert cache.get("random-0", now=1.0) == (False, None)  # the oldest unknown keys went first
    assert cache.get("random-999", now=1.0) == (True, None)
    assert cache.get("good", now=61.0) == (False, None)  # looked up again after the ttl
