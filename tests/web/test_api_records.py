"""POSTing records to a real `cxhub serve`: one or a batch, idempotent, validated, limited."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import run_cli
from tests.web.conftest import Server, create_key, start

from cxhub.warehouse import Warehouse

pytestmark = pytest.mark.slow

T0 = "2024-05-06T09:00:00"


def _key() -> str:
    return uuid.uuid4().hex


# One valid record of each kind, with a fresh external id at every call.
RECORDS: dict[str, Callable[[], dict[str, Any]]] = {
    "contacts": lambda: {"source": "web-test", "external_id": _key(), "channel": "phone",
                         "created_at": T0, "wait_seconds": 42, "queue": "billing"},
    "contact-events": lambda: {"source": "web-test", "external_id": _key(),
                               "contact_external_id": "c-1", "event_type": "queued",
                               "occurred_at": T0},
    "surveys": lambda: {"source": "web-test", "external_id": _key(), "survey_type": "csat",
                        "score": 4, "answered_at": T0, "comment": "quick and kind"},
    "mentions": lambda: {"source": "web-test", "external_id": _key(), "created_at": T0,
                         "author": "@someone", "inbound": True, "text": "my card is blocked"},
    "touchpoints": lambda: {"source": "web-test", "external_id": _key(),
                            "touchpoint_type": "app_login", "occurred_at": T0},
    "source-records": lambda: {"source": "web-test", "external_id": _key(), "first_name": "Ada",
                               "last_name": "Lovelace", "email": "ada@example.org",
                               "date_of_birth": "1915-12-10", "attributes": {"tier": "gold"}},
    "transactions": lambda: {"source": "web-test", "external_id": _key(), "occurred_at": T0,
                             "amount": -12.5, "kind": "refund", "currency": "EUR"},
    "holdings": lambda: {"source": "web-test", "external_id": _key(), "product": "mortgage",
                         "started_at": T0},
    "offer-decisions": lambda: {"source": "web-test", "external_id": _key(),
                                "offer_code": "FEE-WAIVER", "presented_at": T0,
                                "outcome": "accepted"},
}


@pytest.mark.parametrize("path", RECORDS)
def test_post_one_then_retry_returns_the_same_id(api: Server, path: str) -> None:
    record = RECORDS[path]()
    first = api.post(f"/api/v1/{path}", record)
    assert first.status_code == 201, first.text
    assert first.json()["created"] is True
    again = api.post(f"/api/v1/{path}", record)
    assert again.status_code == 200
    assert again.json() == {"id": first.json()["id"], "created": False}


@pytest.mark.parametrize("path", RECORDS)
def test_post_batch_then_retry_returns_the_same_ids(api: Server, path: str) -> None:
    batch = [RECORDS[path]() for _ in range(3)]
    first = api.post(f"/api/v1/{path}", batch)
    assert first.status_code == 201, first.text
    ids = first.json()["ids"]
    assert len(set(ids)) == 3
    assert first.json()["created"] == 3
    again = api.post(f"/api/v1/{path}", list(reversed(batch)))
    assert again.status_code == 200
    assert again.json() == {"ids": list(reversed(ids)), "created": 0, "existing": 3}
    mixed = api.post(f"/api/v1/{path}", [batch[1], RECORDS[path]()])
    assert mixed.status_code == 201
    assert mixed.json()["ids"][0] == ids[1]
    assert mixed.json()["ids"][1] not in ids
    assert (mixed.json()["created"], mixed.json()["existing"]) == (1, 1)


def test_posted_contact_reads_back(api: Server) -> None:
    record = RECORDS["contacts"]()
    record["attributes"] = {"ivr_path": "2-1"}
    created = api.post("/api/v1/contacts", record).json()
    got = api.get(f"/api/v1/contacts/{created['id']}")
    assert got.status_code == 200
    body = got.json()
    assert body["contact_id"] == created["id"]
    assert (body["external_id"], body["channel"], body["queue"]) == (
        record["external_id"], "phone", "billing")
    assert body["created_at"] == T0
    assert body["wait_seconds"] == 42
    assert body["attributes"] == {"ivr_path": "2-1"}


def test_a_batch_of_ten_thousand_is_accepted(api: Server) -> None:
    batch = [RECORDS["touchpoints"]() for _ in range(10_000)]
    r = api.post("/api/v1/touchpoints", batch)
    assert r.status_code == 201
    assert r.json()["created"] == 10_000
    assert len(set(r.json()["ids"])) == 10_000


def test_contact_events_fill_the_contact_lifecycle(api: Server) -> None:
    contact = RECORDS["contacts"]()
    del contact["wait_seconds"]
    cid = api.post("/api/v1/contacts", contact).json()["id"]
    ext = contact["external_id"]

    def event(kind: str, at: str, **extra: str) -> dict[str, str]:
        return {"source": "web-test", "external_id": f"{ext}-{kind}",
                "contact_external_id": ext, "event_type": kind, "occurred_at": at, **extra}

    r = api.post("/api/v1/contact-events", [
        event("queued", "2024-05-06T09:00:10"),
        event("answered", "2024-05-06T09:01:40", agent="agent-7", team="cards"),
    ])
    assert r.status_code == 201
    assert api.post("/api/v1/contact-events",
                    event("transferred", "2024-05-06T09:05:00", team="fraud")).status_code == 201
    assert api.post("/api/v1/contact-events",
                    event("resolved", "2024-05-06T09:12:00")).status_code == 201
    got = api.get(f"/api/v1/contacts/{cid}").json()
    assert got["queued_at"] == "2024-05-06T09:00:10"
    assert got["answered_at"] == "2024-05-06T09:01:40"
    assert got["resolved_at"] == "2024-05-06T09:12:00"
    assert got["wait_seconds"] == 90
    assert (got["agent"], got["team"]) == ("agent-7", "fraud")
    assert [e["event_type"] for e in got["events"]] == [
        "queued", "answered", "transferred", "resolved"]


def test_unknown_contact_and_customer_are_404(api: Server) -> None:
    assert api.get("/api/v1/contacts/987654321").status_code == 404
    assert api.get("/api/v1/customers/987654321").status_code == 404
    assert api.get("/api/v1/contacts/not-a-number").status_code == 422


def test_openapi_and_docs_are_served(api: Server) -> None:
    docs = api.get("/docs", key=None)
    assert docs.status_code == 200
    assert "swagger" in docs.text.lower()
    # Served by cxhub itself: a CDN fails on a server without internet.
    assert "cdn" not in docs.text and "https://" not in docs.text
    assets = re.findall(r'(?:src|href)="(/docs-assets/[^"]+)"', docs.text)
    assert len(assets) >= 2
    for asset in assets:
        assert api.get(asset, key=None).status_code == 200, asset
    spec = api.get("/openapi.json", key=None).json()
    # The Authorize button: both ways of sending a key, required on every API operation.
    assert set(spec["components"]["securitySchemes"]) == {"bearer", "apiKey"}
    assert spec["paths"]["/api/v1/contacts"]["post"]["security"] == [{"bearer": []},
                                                                     {"apiKey": []}]
    for path in RECORDS:
        assert "post" in spec["paths"][f"/api/v1/{path}"], path
    assert "get" in spec["paths"]["/api/v1/contacts/{contact_id}"]
    body = spec["paths"]["/api/v1/contacts"]["post"]["requestBody"]["content"]
    one, many = body["application/json"]["schema"]["oneOf"]
    assert {"source", "external_id", "channel", "created_at"} <= set(one["required"])
    assert many["items"] == one
    # Every reference in the document resolves (Swagger UI shows an error for one that does not).
    refs = _refs(spec)
    assert refs
    for ref in refs:
        node: Any = spec
        for part in ref.removeprefix("#/").split("/"):
            node = node[part]


def _refs(node: Any) -> set[str]:
    if isinstance(node, dict):
        found = {node["$ref"]} if isinstance(node.get("$ref"), str) else set()
        return found.union(*(_refs(v) for v in node.values()))
    if isinstance(node, list):
        return set().union(*(_refs(v) for v in node))
    return set()


def _errors(r: Any) -> list[dict[str, Any]]:
    assert r.status_code == 422, r.text
    return r.json()["detail"]  # type: ignore[no-any-return]


@pytest.mark.parametrize(("change", "loc", "words"), [
    ({"channel": "carrier pigeon"}, ["body", "channel"], ["channel", "'phone'"]),
    ({"created_at": "2999-01-01T00:00:00"}, ["body", "created_at"], ["created_at", "future"]),
    ({"wait_seconds": -5}, ["body", "wait_seconds"], ["wait_seconds", "greater than or equal"]),
    ({"external_id": None}, ["body", "external_id"], ["external_id"]),
    ({"external_id": ""}, ["body", "external_id"], ["external_id", "at least 1"]),
    ({"hold_seconds": "long"}, ["body", "hold_seconds"], ["hold_seconds", "number"]),
    # One set of plausibility rules for files and the API (see domain/plausibility.py).
    ({"created_at": "0057-03-07T00:00:00"}, ["body", "created_at"], ["before 1850"]),
    ({"wait_seconds": 3e11}, ["body", "wait_seconds"], ["less than or equal to 31622400"]),
    ({"answered_at": "2024-05-06T08:00:00"}, ["body"], ["answered_at", "before created_at"]),
    ({"mood": "angry"}, ["body", "mood"], ["mood", "not permitted"]),
])
def test_invalid_contact_is_422_naming_the_field(
    api: Server, change: dict[str, Any], loc: list[str], words: list[str]
) -> None:
    record = {**RECORDS["contacts"](), **change}
    errors = _errors(api.post("/api/v1/contacts", record))
    assert len(errors) == 1
    assert errors[0]["loc"] == loc
    for word in words:
        assert word in errors[0]["msg"]


def test_nan_and_infinity_are_422(api: Server) -> None:
    # Not JSON, though Python's reader accepts them; a metric fed one printed invalid JSON.
    base = json.dumps(RECORDS["contacts"]())[:-1]
    for literal in ("NaN", "Infinity", "-Infinity"):
        with api.client("ingest_read") as c:
            r = c.post("/api/v1/contacts", content=f'{base}, "talk_seconds": {literal}}}',
                       headers={"content-type": "application/json"})
        (error,) = _errors(r)
        assert error["loc"] == ["body"]
        assert "invalid JSON" in error["msg"]


def test_missing_external_id_is_422(api: Server) -> None:
    record = RECORDS["contacts"]()
    del record["external_id"]
    (error,) = _errors(api.post("/api/v1/contacts", record))
    assert error["loc"] == ["body", "external_id"]
    assert error["type"] == "missing"
    assert error["msg"] == "external_id: Field required"


@pytest.mark.parametrize(("kind", "score", "ok"), [
    ("csat", 7, False), ("csat", 0, False), ("csat", 5, True),
    ("nps", 7, True), ("nps", 11, False), ("ces", 7, True), ("ces", 8, False),
])
def test_survey_score_is_checked_for_its_type(
    api: Server, kind: str, score: int, ok: bool
) -> None:
    record = {**RECORDS["surveys"](), "survey_type": kind, "score": score}
    r = api.post("/api/v1/surveys", record)
    if ok:
        assert r.status_code == 201, r.text
        return
    (error,) = _errors(r)
    assert error["loc"][0] == "body"
    assert "score" in error["msg"]
    assert f"out of range for {kind}" in error["msg"]


def test_an_error_in_a_batch_names_the_record_and_writes_nothing(api: Server) -> None:
    batch = [RECORDS["contacts"]() for _ in range(5)]
    batch[3]["channel"] = "fax"
    (error,) = _errors(api.post("/api/v1/contacts", batch))
    assert error["loc"] == ["body", 3, "channel"]
    assert "channel" in error["msg"]
    # None of the good records of the refused batch was written.
    first = api.post("/api/v1/contacts", batch[0])
    assert first.json()["created"] is True


def test_batch_over_ten_thousand_is_422(api: Server) -> None:
    record = RECORDS["touchpoints"]()
    (error,) = _errors(api.post("/api/v1/touchpoints", [record] * 10_001))
    assert error["loc"] == ["body"]
    assert "at most 10000" in error["msg"]


def test_broken_json_is_422(api: Server) -> None:
    with api.client("ingest_read") as c:
        r = c.post("/api/v1/contacts", content=b'{"source": "web-test",',
                   headers={"content-type": "application/json"})
    (error,) = _errors(r)
    assert "invalid JSON" in error["msg"]


def test_oversized_body_is_413(start_server: Callable[..., Server]) -> None:
    server = start_server(keys={"ingest_read": ("ingest", "read")},
                          env={"CXHUB_MAX_BODY_BYTES": "4096"})
    batch = [RECORDS["contacts"]() for _ in range(40)]
    too_big = server.post("/api/v1/contacts", batch)
    assert too_big.status_code == 413
    assert "4096" in too_big.json()["detail"]

    # Without a Content-Length header (chunked), the limit holds while the body streams in.
    def chunks() -> Any:
        yield b"["
        for i, record in enumerate(batch):
            yield (b"," if i else b"") + __import__("orjson").dumps(record)
        yield b"]"

    with server.client("ingest_read") as c:
        streamed = c.post("/api/v1/contacts", content=chunks(),
                          headers={"content-type": "application/json"})
    assert streamed.status_code == 413
    small = server.post("/api/v1/contacts", batch[:2])
    assert small.status_code == 201


def test_each_key_is_written_once_whatever_the_retries(
    start_server: Callable[..., Server],
) -> None:
    server = start_server(keys={"ingest_read": ("ingest", "read")})
    one = RECORDS["contacts"]()
    batch = [RECORDS["contacts"]() for _ in range(5)]
    ids = {server.post("/api/v1/contacts", one).json()["id"] for _ in range(3)}
    assert len(ids) == 1
    repeated = server.post("/api/v1/contacts", [batch[0], batch[1], batch[0]]).json()
    assert repeated["ids"][0] == repeated["ids"][2]
    assert (repeated["created"], repeated["existing"]) == (2, 1)
    again = server.post("/api/v1/contacts", batch).json()
    assert again["ids"][:2] == repeated["ids"][:2]
    assert (again["created"], again["existing"]) == (3, 2)

    # The same new key from many clients at once: one of them creates it, all get its id.
    same = RECORDS["contacts"]()
    with ThreadPoolExecutor(max_workers=12) as pool:
        answers = list(pool.map(lambda _: server.post("/api/v1/contacts", same), range(24)))
    assert {a.json()["id"] for a in answers} == {answers[0].json()["id"]}
    assert sorted(a.status_code for a in answers) == [200] * 23 + [201]
    assert sum(a.json()["created"] for a in answers) == 1

    server.stop()
    with Warehouse.open(server.home / "cxhub.duckdb") as wh:
        rows = wh.read("SELECT external_id, count(*) FROM contacts GROUP BY ALL")
        batches = wh.read_one("SELECT count(*), sum(rows_loaded) FROM ingest_batches")
    expected = {one["external_id"], same["external_id"]} | {r["external_id"] for r in batch}
    assert dict(rows) == dict.fromkeys(expected, 1)
    assert batches is not None and batches[1] == len(expected)


def test_a_brand_reply_gives_the_mention_its_first_response(
    start_server: Callable[..., Server],
) -> None:
    server = start_server(keys={"ingest": ("ingest",)})

    def mention(ext: str, at: str, **extra: Any) -> dict[str, Any]:
        return {"source": "twitter", "external_id": ext, "created_at": at, **extra}

    post = mention("t1", "2024-05-06T09:00:00", author="@ann", inbound=True, text="card blocked")
    unanswered = mention("t2", "2024-05-06T09:30:00", author="@bob", inbound=True)
    assert server.post("/api/v1/mentions", [post, unanswered], key="ingest").status_code == 201
    replies = [
        mention("t3", "2024-05-06T09:04:10", author="@BankCo", inbound=False, in_reply_to="t1"),
        mention("t4", "2024-05-06T09:20:00", author="@BankCo", inbound=False, in_reply_to="t1"),
    ]
    assert server.post("/api/v1/mentions", replies[1], key="ingest").status_code == 201
    assert server.post("/api/v1/mentions", replies[0], key="ingest").status_code == 201
    server.stop()
    with Warehouse.open(server.home / "cxhub.duckdb") as wh:
        got = wh.read("SELECT external_id, brand, first_response_at::VARCHAR, "
                      "first_response_seconds FROM mentions WHERE inbound ORDER BY external_id")
    assert got == [("t1", "@BankCo", "2024-05-06 09:04:10", 250.0), ("t2", None, None, None)]


def test_keys_loaded_from_a_file_or_before_a_restart_are_known(tmp_path: Path) -> None:
    (tmp_path / "contacts.csv").write_text(
        "source,external_id,channel,created_at\n"
        "crm,f-1,phone,2024-05-01 10:00:00\ncrm,f-2,email,2024-05-01 11:00:00\n")
    run_cli("ingest", "generic", "--kind", "contacts", str(tmp_path / "contacts.csv"),
            home=tmp_path)
    _, key = create_key(tmp_path, "ingest")
    known = {"source": "crm", "external_id": "f-2", "channel": "email",
             "created_at": "2024-05-01T11:00:00"}
    new = {**known, "external_id": "api-1"}
    server = start(tmp_path)
    server.keys = {"ingest": key}
    try:
        assert server.post("/api/v1/contacts", known, key="ingest").json() == {
            "id": 2, "created": False}
        assert server.post("/api/v1/contacts", new, key="ingest").json() == {
            "id": 3, "created": True}
    finally:
        server.stop()
    server = start(tmp_path)
    server.keys = {"ingest": key}
    try:
        again = server.post("/api/v1/contacts", [new, known, {**new, "external_id": "api-2"}],
                            key="ingest").json()
        assert again == {"ids": [3, 2, 4], "created": 1, "existing": 2}
    finally:
        server.stop()
