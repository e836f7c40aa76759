"""Triggers on planted service events: a "moving house" contact, a contract ending after a
happy resolved contact, a high-value customer's resolved complaint; the policy's opt-outs left
out; control groups; CSV and Parquet exports read back; the webhook on a real local server."""

from __future__ import annotations

import io
import json
import threading
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pandas as pd
import pytest
import yaml
from tests.warehouse.offers_data import plant

from cxhub.analytics.offers.catalogue import CatalogueError
from cxhub.services.offers import catalogue as store
from cxhub.services.offers import triggers as svc
from cxhub.warehouse import Warehouse

NOW = datetime.now()


def _setup(wh: Warehouse) -> None:
    plant(wh, customers=60, decisions=100, opted_out=(12,))
    contacts = pd.DataFrame({
        "contact_id": [501, 502, 503, 504, 505, 506, 507, 508],
        "source": "contact_centre",
        "external_id": ["M1", "M2", "M3", "H1", "K1", "K2", "H2", "H3"],
        "customer_source": "crm", "customer_external_id": ["C10", "C11", "C12", "C20", "C30",
                                                           "C31", "C22", "C23"],
        "channel": "phone",
        "created_at": [NOW - timedelta(days=d) for d in (3, 50, 4, 5, 6, 6, 5, 5)],
        "resolved_at": [None, None, None, NOW - timedelta(days=5), NOW - timedelta(days=2),
                        NOW - timedelta(days=2), NOW - timedelta(days=5),
                        NOW - timedelta(days=5)],
        "category": [None, None, None, "information", "complaint", "complaint", "information",
                     "information"],
        "text": ["We are moving house in May", "moving house soon", "new address please",
                 "Thanks, all sorted", "Wrong bill", "Wrong bill", "Thanks", "Thanks"]})
    # C20's holding ends on record; C22's and C23's minimum terms end (no end on record),
    # C23's term ended last month (out of contract, nothing ends soon).
    term = [None, None, json.dumps({"term_months": 24, "contract_end": str(
        (NOW + timedelta(days=20)).date())}), json.dumps({"term_months": 18, "contract_end": str(
            (NOW - timedelta(days=30)).date())})]
    holdings = pd.DataFrame({
        "holding_id": [1, 2, 3, 4], "source": "sales", "external_id": ["h20", "h21", "h22", "h23"],
        "customer_source": "crm", "customer_external_id": ["C20", "C21", "C22", "C23"],
        "product": ["BB-FIBRE-100", "BB-FIBRE-100", "TV-SPORT", "TV-SPORT"],
        "started_at": NOW - timedelta(days=700),
        "ended_at": [NOW + timedelta(days=40), NOW + timedelta(days=40), None, None],
        "attributes": term})
    labels = pd.DataFrame({"target": "contacts", "target_id": [504, 507, 508],
                           "sentiment": ["positive"] * 3, "version": 1})
    segs = pd.DataFrame({"customer_id": [30, 31], "segment": ["high value", "low value"],
                         "clv": [4000.0, 300.0], "computed_at": NOW})

    def write(con) -> None:
        for table, frame in (("contacts", contacts), ("holdings", holdings),
                             ("current_labels", labels), ("customer_segments", segs)):
            con.register("f", frame)
            con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM f")
            con.unregister("f")
    wh.write(write)


def test_trigger_audiences_exports_and_webhook(warehouse: Warehouse, tmp_path: Path) -> None:
    _setup(warehouse)
    found = {t.code: t for t in svc.from_yaml(yaml.safe_load(store.demo_yaml()))}
    moving = svc.audience(warehouse, found["MOVING-HOUSE"])
    # C11's contact is 50 days old (the window is 30); C12 opted out of marketing.
    assert moving["customer_id"].tolist() == [10]
    assert moving["event"].tolist() == ["contact M1"]
    ending = svc.audience(warehouse, found["CONTRACT-ENDING-HAPPY"])
    # C21's contract ends too, without a contact; C22's minimum term ends in 20 days.
    assert ending["customer_id"].tolist() == [20, 22]
    assert "BB-FIBRE-100 ends" in ending["event"][0] and "TV-SPORT ends" in ending["event"][1]
    high = svc.audience(warehouse, found["COMPLAINT-RESOLVED-HIGH-VALUE"])
    assert high["customer_id"].tolist() == [30]

    for name in ("a.csv", "a.parquet"):
        svc.export(ending, tmp_path / name)
    back = pd.read_csv(tmp_path / "a.csv")
    assert back["customer_id"].tolist() == [20, 22]
    assert pd.read_parquet(tmp_path / "a.parquet")["trigger"].tolist() == [
        "CONTRACT-ENDING-HAPPY"] * 2
    # An event's text came from a customer's contact: a spreadsheet must not run it.
    svc.export(ending.assign(event="=HYPERLINK(\"http://x\")"), tmp_path / "f.csv")
    assert pd.read_csv(tmp_path / "f.csv")["event"][0].startswith("'=HYPERLINK")
    assert ending["event"][0] != "=HYPERLINK"  # the caller's frame is left as it was

    got: list[dict] = []

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (the http.server interface)
            got.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        both = pd.concat([moving, moving.assign(customer_id=99, control=True)],
                         ignore_index=True)
        r = svc.send(both, f"http://127.0.0.1:{server.server_port}/hook",
                     found["MOVING-HOUSE"])
    finally:
        server.shutdown()
    assert r == {"sent": 1, "held_out": 1, "status": 204}
    assert [c["customer_id"] for c in got[0]["customers"]] == [10]  # control not sent

    # On record, once per customer, trigger and event day; outcomes as for a decision.
    assert svc.record(warehouse, both) == 2 and svc.record(warehouse, both) == 0
    assert svc.record(warehouse, high) == 1 and svc.record(warehouse, high) == 0
    rid = warehouse.read_one("SELECT external_id FROM offer_decisions "
                             "WHERE source = 'cxhub-trigger' AND offer_code = ?",
                             ["COMPLAINT-RESOLVED-HIGH-VALUE"])[0]
    from cxhub.services.offers import outcomes
    from cxhub.services.offers.engine import Engine

    done = outcomes.record(Engine(warehouse), rid, outcome="accepted", revenue=50)
    assert done["recorded"] and done["offer_code"] == "COMPLAINT-RESOLVED-HIGH-VALUE"


def test_trigger_errors_name_trigger_and_field() -> None:
    for raw, field in (({"code": "T", "event": "birthday"}, "event"),
                       ({"code": "T", "event": "contact_about"}, "terms"),
                       ({"code": "T", "event": "complaint_resolved"}, "value_bands"),
                       ({"code": "T", "event": "contact_about", "terms": ["x"],
                         "within_days": 0}, "within_days"),
                       ({"code": "T", "event": "contact_about", "terms": ["x"], "when": 1},
                        "when")):
        with pytest.raises(CatalogueError) as err:
            svc.from_yaml({"triggers": [raw]})
        assert err.value.entry == "T" and err.value.field == field


def test_scheduled_runs_record_new_members_once_and_report_each_trigger(
        warehouse: Warehouse) -> None:
    """The server's loop (`trigger_runs.run`): the demo's triggers (no catalogue saved) find
    their members once; run again, nothing new; a member's next event inside the trigger's
    window adds nothing, after it a new membership. The report: members vs control."""
    from cxhub.services.offers import trigger_runs

    _setup(warehouse)
    first = {r["trigger"]: r for r in trigger_runs.run(warehouse, now=NOW, send=False)}
    assert {k: v["recorded"] for k, v in first.items()} == {
        "COMPLAINT-RESOLVED-HIGH-VALUE": 1, "CONTRACT-ENDING-HAPPY": 2, "MOVING-HOUSE": 1}
    again = trigger_runs.run(warehouse, now=NOW + timedelta(minutes=5), send=False)
    assert [r["new"] for r in again] == [0, 0, 0]
    # C10 says it again the next day: still the same member (30-day window).
    def more(con, ext: str, days: float) -> None:
        con.execute("INSERT INTO contacts (contact_id, source, external_id, customer_source, "
                    "customer_external_id, channel, created_at, text) VALUES "
                    "(?, 'contact_centre', ?, 'crm', 'C10', 'phone', ?, 'moving house')",
                    [600 + int(days), ext, NOW + timedelta(days=days)])
    warehouse.write(lambda con: more(con, "M9", 1))
    later = {r["trigger"]: r["new"] for r in trigger_runs.run(
        warehouse, now=NOW + timedelta(days=1, hours=1), send=False)}
    assert later["MOVING-HOUSE"] == 0
    warehouse.write(lambda con: more(con, "M10", 40))
    much_later = {r["trigger"]: r["new"] for r in trigger_runs.run(
        warehouse, now=NOW + timedelta(days=40, hours=1), send=False)}
    assert much_later["MOVING-HOUSE"] == 1

    # Pulled as a file by a marketing tool: members only, unless the control is asked for.
    members = pd.read_csv(io.BytesIO(trigger_runs.audience_file(warehouse, "MOVING-HOUSE",
                                                                "csv")))
    everyone = pd.read_parquet(io.BytesIO(trigger_runs.audience_file(
        warehouse, "MOVING-HOUSE", "parquet", include_control=True)))
    assert not members["control"].any() and len(everyone) >= len(members)
    assert set(members["customer_id"]) <= set(everyone["customer_id"])

    # The report: 3 members accepted of 4, 1 of 4 in control -> +50 points.
    def planted(con) -> None:
        for i, (control, outcome) in enumerate([(False, "accepted")] * 3 + [
                (False, "declined")] + [(True, "accepted")] + [(True, "declined")] * 3):
            con.execute(
                "INSERT INTO offer_decisions (decision_id, source, external_id, offer_code, "
                "presented_at, control, outcome, revenue, attributes) VALUES "
                "(?, 'cxhub-trigger', ?, 'TEST-TRIGGER', ?, ?, ?, ?, ?)",
                [900 + i, f"TEST-TRIGGER:{i}", NOW, control, outcome,
                 40.0 if outcome == "accepted" and not control else None,
                 json.dumps({"customer_id": i + 1})])
    warehouse.write(planted)
    rep = trigger_runs.reports(warehouse)["TEST-TRIGGER"]
    assert rep["audience"] == 8 and rep["control"] == 4 and rep["with_outcome"] == 8
    assert rep["all"]["uplift"] == pytest.approx(0.75 - 0.25)
    assert rep["all"]["uplift_low"] < 0.5 < rep["all"]["uplift_high"]
    assert rep["all"]["inc_revenue"] == pytest.approx(0.5 * 40.0)
