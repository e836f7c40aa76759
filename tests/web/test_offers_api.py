"""The decision API through a real `cxhub serve`: keys and scopes, a decision by any source's
id, the policy's refusals, deterministic control groups, service actions first, unknown
customers, bad input naming the field, idempotent outcomes, and every decision in the file."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.conftest import run_cli
from tests.warehouse.offers_data import plant
from tests.web.conftest import Server, create_key, start

from cxhub.warehouse import Warehouse

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
