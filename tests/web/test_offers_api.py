"""The decision API through a real `cxhub serve`: keys and scopes, a decision by any source's
id, the policy's refusals, deterministic control groups, service actions first, unknown
customers, bad input naming the field, idempotent outcomes, and every decision in the file."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from tests.conftest import run_cli
from tests.warehouse.offers_data import plant
from tests.web.conftest import Server, create_key, start

from cxhub.warehouse import Warehouse

pytestmark = pytest.mark.slow

CATALOGUE = """
offers:
  - code: PLAIN
    title: Plain offer
    value: 10
    control_share: 0.0
    prior_uplift: 0.05
    max_per_customer_30d: 5
    rules: {channels: [phone, chat]}
  - code: HELD
    title: Mostly held out
    value: 5
    control_share: 0.9
    prior_uplift: 0.05
    max_per_customer_30d: 5
    rules: {channels: [phone], min_age: 18}
service_actions:
  - code: EXPLAIN-BILL
    title: Explain the bill
    rules: {causes: [billing]}
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    home = tmp_path_factory.mktemp("offers-api")
    keys = {n: create_key(home, *s, name=n)[1]
            for n, s in {"ingest": ("ingest",), "read": ("read",)}.items()}
    with Warehouse.open(home / "cxhub.duckdb") as wh:
        plant(wh, customers=300, decisions=500, opted_out=(7,), complaint_open=(8,))
    (home / "offers.yaml").write_text(CATALOGUE)
    run_cli("offers", "load", str(home / "offers.yaml"), home=home)
    srv = start(home)
    srv.keys = keys
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture(scope="module")
def second(tmp_path_factory: pytest.TempPathFactory):
    """A server of its own: the first one's test counts every decision it made."""
    home = tmp_path_factory.mktemp("offers-admin")
    keys = {n: create_key(home, *s, name=n)[1]
            for n, s in {"ingest": ("ingest",), "read": ("read",), "admin": ("admin",),
                         "fresh": ("ingest",)}.items()}
    with Warehouse.open(home / "cxhub.duckdb") as wh:
        plant(wh, customers=60, decisions=0)
        # C5 told us two days ago they are moving: the server's own trigger run finds it.
        wh.write(lambda con: con.execute(
            "INSERT INTO contacts (contact_id, source, external_id, customer_source, "
            "customer_external_id, channel, created_at, text) VALUES (90001, "
            "'contact_centre', 'MV1', 'crm', 'C5', 'phone', now()::TIMESTAMP - INTERVAL 2 DAY, "
            "'We are moving house next month')"))
    (home / "offers.yaml").write_text(CATALOGUE + """
triggers:
  - code: MOVING
    event: contact_about
    terms: [moving house]
    within_days: 30
    control_share: 0.0
    action: Home-move pack
""")
    run_cli("offers", "load", str(home / "offers.yaml"), home=home)
    srv = start(home)
    srv.keys = keys
    try:
        yield srv
    finally:
        srv.stop()


def _decide(server: Server, body: dict, key: str = "ingest"):
    return server.post("/api/v1/decisions", body, key=key)


PHONE = {"channel": "phone", "category": "information", "sentiment": "neutral"}


def test_scopes(server: Server) -> None:
    assert _decide(server, PHONE, key=None).status_code == 401
    assert _decide(server, PHONE, key="read").status_code == 403
    assert server.get("/api/v1/offers", key="read").status_code == 200
    assert server.get("/api/v1/offers", key="ingest").status_code == 403


def test_decisions_outcomes_and_the_file(server: Server) -> None:
    r = _decide(server, {"customer_source": "crm", "customer_external_id": "C10", **PHONE})
    assert r.status_code == 200, r.text
    d = r.json()
    assert d["customer_id"] == 10 and d["known_customer"]
    plain = next(a for a in d["actions"] if a["code"] == "PLAIN")
    assert plain["rank"] >= 1 and plain["expected_uplift"] == 0.05
    assert plain["expected_value"] == 0.5 and plain["reasons"]
    # The control group is fixed per customer and offer: asked again, the same answer.
    again = _decide(server, {"customer_id": 10, **PHONE}).json()
    held = [c["code"] for c in d["control"]]
    assert held == [c["code"] for c in again["control"]]
    held_out = sum("HELD" in [c["code"] for c in _decide(server, {"customer_id": i, **PHONE})
                               .json()["control"]] for i in range(20, 60))
    assert 25 <= held_out <= 40  # 90% of 40 customers, give or take

    # The policy, in words.
    for cid, words in ((7, "opted out of marketing"), (8, "open complaint")):
        refused = _decide(server, {"customer_id": cid, **PHONE}).json()["refused"]
        assert words in " ".join(r for x in refused for r in x["reasons"])
    neg = _decide(server, {"customer_id": 11, **PHONE, "sentiment": "negative"}).json()
    assert not neg["actions"] and "negative" in neg["refused"][0]["reasons"][0]
    bill = _decide(server, {"customer_id": 11, **PHONE, "cause": "billing"}).json()
    assert [a["code"] for a in bill["actions"]] == ["EXPLAIN-BILL"]
    # Unknown customer: answered by the rules that need no profile.
    anon = _decide(server, {"customer_source": "crm", "customer_external_id": "NOBODY",
                            **PHONE}).json()
    assert anon["known_customer"] is False and [a["code"] for a in anon["actions"]] == ["PLAIN"]

    # Outcomes: idempotent, refused when they contradict, fields named.
    did = d["decision_id"]
    url = f"/api/v1/decisions/{did}/outcome"
    ok = server.post(url, {"outcome": "accepted", "revenue": 120, "offer_code": "PLAIN"},
                     key="ingest")
    assert ok.status_code == 200 and ok.json()["recorded"] is True
    same = server.post(url, {"outcome": "accepted", "revenue": 120, "offer_code": "PLAIN"},
                       key="ingest")
    assert same.status_code == 200 and same.json()["recorded"] is False
    clash = server.post(url, {"outcome": "declined", "offer_code": "PLAIN"}, key="ingest")
    assert clash.status_code == 409 and "already recorded as 'accepted'" in clash.text
    bad = server.post(url, {"outcome": "accepted", "revenue": "lots"}, key="ingest")
    assert bad.status_code == 422 and "revenue" in bad.text
    bad = server.post(url, {"outcome": "maybe", "offer_code": "PLAIN"}, key="ingest")
    assert bad.status_code == 422 and "outcome" in bad.text
    gone = server.post("/api/v1/decisions/nba-0000/outcome", {"outcome": "accepted"},
                       key="ingest")
    assert gone.status_code == 404 and "decision_id" in gone.text

    # Bad decision requests name the field.
    bad = _decide(server, {"customer_id": 1, "channel": "pigeon"})
    assert bad.status_code == 422 and "channel" in bad.text
    assert _decide(server, {"customer_id": 1, "colour": "red"}).status_code == 422
    assert _decide(server, {"customer_source": "crm"}).status_code == 422

    server.stop()
    with Warehouse.open(server.home / "cxhub.duckdb") as wh:
        rows = wh.read("SELECT offer_code, control, outcome, revenue FROM offer_decisions "
                       "WHERE source = 'cxhub-nba' AND external_id LIKE ?", [did + ":%"])
        assert ("PLAIN", False, "accepted", 120.0) in rows
        n = wh.read_one("SELECT count(DISTINCT json_extract_string(attributes, "
                        "'$.decision_id')) FROM offer_decisions WHERE source = 'cxhub-nba'")
        assert n and n[0] == 2 + 40 + 2 + 1 + 1 + 1  # every decision made above
        assert wh.read_one("SELECT count(*) FROM offer_decisions WHERE source = 'cxhub-nba' "
                           "AND control")[0] >= 25


def test_bad_catalogue_names_offer_and_field(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("offers:\n  - code: X\n    rules: {min_tenure_days: 300, "
                   "max_tenure_days: 30}\n")
    proc = run_cli("offers", "load", str(bad), home=tmp_path, check=False)
    text = " ".join(proc.stderr.split())
    assert proc.returncode != 0 and "X: rules.min_tenure_days" in text
    assert "nobody is eligible" in text


def test_fast_path_answers_as_the_route_does(second: Server) -> None:
    server = second
    """The first request with a key goes through the route (the key is looked up); the next
    ones through the ASGI fast path: the same answer. A body the fast path does not take
    (a form, a string number) is the route's to answer."""
    first = _decide(server, {"customer_id": 12, **PHONE}, key="fresh")
    second = _decide(server, {"customer_id": 12, **PHONE}, key="fresh")
    assert first.status_code == second.status_code == 200
    assert "decide;dur=" in first.headers["server-timing"]
    assert "decide;dur=" in second.headers["server-timing"]
    a, b = first.json(), second.json()
    assert a.keys() == b.keys() and a["decision_id"] != b["decision_id"]
    assert [x["code"] for x in a["actions"]] == [x["code"] for x in b["actions"]]
    assert a["control"] == b["control"] and a["refused"] == b["refused"]
    coerced = _decide(server, {"customer_id": "12", **PHONE, "limit": "2"}, key="fresh")
    assert coerced.status_code == 200 and coerced.json()["customer_id"] == 12
    with server.client("fresh") as c:
        form = c.post("/api/v1/decisions", data={"customer_id": "12"})
    assert form.status_code == 422


def _put(server: Server, path: str, body: dict) -> httpx.Response:
    with server.client("admin") as c:
        return c.put(path, json=body)


def test_catalogue_changes_checked_audited_and_used(second: Server) -> None:
    server = second
    new = {"code": "NEW-ONE", "title": "A new offer", "value": 50, "control_share": 0.0,
           "prior_uplift": 0.5, "max_per_customer_30d": 9, "rules": {"channels": ["chat"]}}
    assert server.post("/api/v1/offers", new, key="ingest").status_code == 403
    assert server.post("/api/v1/offers", new, key=None).status_code == 401
    r = server.post("/api/v1/offers", new, key="admin")
    assert r.status_code == 201, r.text
    assert r.json()["by"] == "api key admin" and r.json()["change"] == "created"
    assert server.post("/api/v1/offers", new, key="admin").status_code == 409
    # Used at once by the decisions (its prior ranks it first in a chat).
    chat = _decide(server, {"customer_id": 13, **PHONE, "channel": "chat"}).json()
    assert chat["actions"][0]["code"] == "NEW-ONE"
    # Refusals name the field; nothing is written.
    for body, field in (({**new, "code": "B1", "rules": {"colour": ["red"]}}, "colour"),
                        ({**new, "code": "B2", "rules": {"min_age": 60, "max_age": 18}},
                         "min_age"),
                        ({**new, "code": "B3", "rules": {"holding": ["X"],
                                                         "not_holding": ["X"]}},
                         "not_holding"),
                        ({**new, "code": "B4", "value": "lots"}, "value"),
                        ({**new, "code": "B5", "flavour": 1}, "flavour"),
                        ({**new, "code": "B6", "product": ["A"]}, "product"),
                        ({**new, "code": "B7", "max_per_customer_30d": 2**40},
                         "max_per_customer_30d")):
        bad = server.post("/api/v1/offers", body, key="admin")
        assert bad.status_code == 422 and bad.json()["detail"][0]["loc"][-1] == field, bad.text
        assert server.get(f"/api/v1/offers/{body['code']}", key="read").status_code == 404
    upd = _put(server, "/api/v1/offers/NEW-ONE", {**new, "value": 70})
    assert upd.status_code == 200 and upd.json()["entry"]["value"] == 70
    assert _put(server, "/api/v1/offers/NOPE", {"title": "x"}).status_code == 404
    moved = _put(server, "/api/v1/offers/NEW-ONE", {**new, "code": "OTHER"})
    assert moved.status_code == 422 and moved.json()["detail"][0]["loc"][-1] == "code"
    assert server.post("/api/v1/offers/NEW-ONE/retire", {}, key="admin").json()[
        "change"] == "retired"
    chat = _decide(server, {"customer_id": 13, **PHONE, "channel": "chat"}).json()
    assert "NEW-ONE" not in [a["code"] for a in chat["actions"]]
    got = server.get("/api/v1/offers/NEW-ONE", key="read").json()
    assert got["active"] is False
    assert [(h["change"], h["by"]) for h in got["history"]] == [
        ("created", "api key admin"), ("updated", "api key admin"),
        ("retired", "api key admin")]

    # Triggers: the same, with their own contradictions.
    trig = {"code": "T-MOVE", "event": "contact_about", "terms": ["moving house"],
            "within_days": 30, "action": "Home-move pack"}
    assert server.post("/api/v1/triggers", trig, key="admin").status_code == 201
    bad = server.post("/api/v1/triggers", {**trig, "code": "T2", "sentiment": "positive"},
                      key="admin")
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"][-1] == "sentiment"
    bad = server.post("/api/v1/triggers", {**trig, "code": "T3", "event": "birthday"},
                      key="admin")
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"][-1] == "event"
    listed = server.get("/api/v1/triggers", key="read").json()["triggers"]
    assert [t["code"] for t in listed] == ["MOVING", "T-MOVE"]  # the file's and the new one
    csv = server.get("/api/v1/triggers/T-MOVE/audience?format=csv", key="read")
    assert csv.status_code == 200 and csv.text.startswith("customer_id,trigger,event")
    assert "T-MOVE-audience.csv" in csv.headers["content-disposition"]
    assert server.get("/api/v1/triggers/T-MOVE/audience?format=xml",
                      key="read").status_code == 422
    assert server.get("/api/v1/triggers/NOPE/audience", key="read").status_code == 404
    assert server.post("/api/v1/triggers/T-MOVE/retire", {}, key="admin").status_code == 200
    assert server.get("/api/v1/triggers/T-MOVE", key="read").json()["history"][-1][
        "change"] == "retired"


def test_the_server_runs_the_triggers_itself(second: Server) -> None:
    """At start (then every 5 minutes) the server runs each active trigger: C5's moving-house
    contact makes them a member, on record once, and shown in the trigger's report."""
    import time

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        reports = second.get("/api/v1/triggers/reports", key="read").json()["reports"]
        if "MOVING" in reports:
            break
        time.sleep(1)
    assert reports["MOVING"]["audience"] == 1 and reports["MOVING"]["control"] == 0
    csv = second.get("/api/v1/triggers/MOVING/audience?format=json", key="read").json()
    assert [m["customer_id"] for m in csv] == [5] and csv[0]["event"] == "contact MV1"
