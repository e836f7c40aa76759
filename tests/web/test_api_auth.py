"""API keys over HTTP: 401 without a valid key, 403 without the scope, admin may do anything."""

from __future__ import annotations

import hashlib
import uuid
from pathlib import Path

import httpx
import pytest
from tests.web.conftest import Server, create_key

from cxhub.warehouse import Warehouse

pytestmark = pytest.mark.slow


def _contact() -> dict[str, str]:
    return {"source": "auth-test", "external_id": uuid.uuid4().hex, "channel": "email",
            "created_at": "2024-03-01T09:00:00Z"}


def test_no_key_is_401_and_asks_for_a_bearer_token(api: Server) -> None:
    r = api.post("/api/v1/contacts", _contact(), key=None)
    assert r.status_code == 401
    assert r.headers["www-authenticate"] == "Bearer"
    assert "API key" in r.json()["detail"]
    assert api.get("/api/v1/contacts/1", key=None).status_code == 401


@pytest.mark.parametrize("headers", [
    {"Authorization": "Bearer cxh_00000000_not-a-real-key"},
    {"Authorization": "Basic dXNlcjpwYXNzd29yZA=="},
    {"X-API-Key": "cxh_00000000_not-a-real-key"},
])
def test_unknown_key_is_401(api: Server, headers: dict[str, str]) -> None:
    with httpx.Client(base_url=api.url) as c:
        r = c.post("/api/v1/contacts", json=_contact(), headers=headers)
    assert r.status_code == 401


def test_revoked_key_is_401(api: Server) -> None:
    r = api.post("/api/v1/contacts", _contact(), key="revoked")
    assert r.status_code == 401
    assert "revoked" in r.json()["detail"]
    assert api.get("/api/v1/contacts/1", key="revoked").status_code == 401


def test_read_key_cannot_ingest(api: Server) -> None:
    r = api.post("/api/v1/contacts", _contact(), key="read")
    assert r.status_code == 403
    assert "ingest" in r.json()["detail"]


def test_ingest_key_cannot_read(api: Server) -> None:
    created = api.post("/api/v1/contacts", _contact(), key="ingest")
    assert created.status_code == 201
    r = api.get(f"/api/v1/contacts/{created.json()['id']}", key="ingest")
    assert r.status_code == 403
    assert "read" in r.json()["detail"]


def test_admin_key_may_ingest_and_read(api: Server) -> None:
    body = _contact()
    created = api.post("/api/v1/contacts", body, key="admin")
    assert created.status_code == 201
    r = api.get(f"/api/v1/contacts/{created.json()['id']}", key="admin")
    assert r.status_code == 200
    assert r.json()["external_id"] == body["external_id"]
    batch = api.post("/api/v1/surveys", [{
        "source": "auth-test", "external_id": uuid.uuid4().hex, "survey_type": "nps",
        "score": 9, "answered_at": "2024-03-01T10:00:00"}], key="admin")
    assert batch.status_code == 201


def test_key_may_come_in_x_api_key_header(api: Server) -> None:
    with httpx.Client(base_url=api.url) as c:
        ok = c.post("/api/v1/contacts", json=_contact(), headers={"X-API-Key": api.keys["ingest"]})
        wrong = c.post("/api/v1/contacts", json=_contact(), headers={"X-API-Key": api.keys["read"]})
    assert ok.status_code == 201
    assert wrong.status_code == 403


def test_health_and_docs_need_no_key(api: Server) -> None:
    assert api.get("/healthz", key=None).status_code == 200
    assert api.get("/openapi.json", key=None).status_code == 200


def test_only_the_hash_of_a_key_is_stored(tmp_path: Path) -> None:
    key_id, token = create_key(tmp_path, "ingest", "read", name="ci")
    assert token.startswith("cxh_")
    with Warehouse.open(tmp_path / "cxhub.duckdb") as wh:
        rows = wh.read("SELECT key_id, name, prefix, key_hash, scopes FROM api_keys")
        dump = wh.read("SELECT * FROM api_keys")
    assert rows == [(key_id, "ci", token.split("_")[1],
                     hashlib.sha256(token.encode()).hexdigest(), ["ingest", "read"])]
    assert not any(token in str(value) for row in dump for value in row)
