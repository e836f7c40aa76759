"""The golden record's survivorship rules and provenance, and the customer view built on it.

One person, Katherine Smith, as four systems hold her, with conflicting values chosen so that
each rule picks a different system. The records are linked by hand (the linker is tested
elsewhere) and written through the same path `cxhub resolve` uses.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pyarrow as pa
from fastapi.encoders import jsonable_encoder

from cxhub.analytics.identity import store
from cxhub.analytics.identity.settings import IdentitySettings, settings_from_dict
from cxhub.services.customers import read as customers
from cxhub.services.records.files import ingest_paths
from cxhub.warehouse import Warehouse

COLUMNS = ("source", "external_id", "first_name", "last_name", "email", "phone",
           "date_of_birth", "address", "city", "postcode", "customer_since", "updated_at")
ROWS = (
    ("crm", "C1", "Katherine", "Smith", "kate@old.example", "0111 111111", "1980-01-01",
     "1 Old Road", "Oldtown", "OT1 1AA", "2015-05-01", "2023-01-01 10:00:00"),
    ("billing", "B1", "Kate", "Smith", "kate@new.example", "0222 222222", "1980-02-01",
     "9 New Street", "Newtown", "NT9 9ZZ", "2016-01-01", "2024-06-01 10:00:00"),
    ("sales", "S1", "Katherine", "Smyth", "", "0333 333333", "", "5 Sales Lane", "Salesville",
     "", "2014-03-01", "2022-01-01 10:00:00"),
    ("marketing", "M1", "katherine ", "SMITH", "kate@newest.example", "", "", "", "", "", "",
     "2025-01-01 10:00:00"),
    ("crm", "C2", "Someone", "Else", "other@example.org", "0999 999999", "1990-09-09",
     "2 Far Away", "Faraway", "FA1 1AA", "2020-01-01", "2024-01-01 10:00:00"),
)  # fmt: skip
KATHERINE = "\n".join(",".join(r) for r in (COLUMNS, *ROWS)) + "\n"


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def _link_by_hand(wh: Warehouse, settings: IdentitySettings, run: int = 0) -> None:
    """Katherine's four records are customer 1, the other person customer 2."""
    ids = dict(wh.read("SELECT external_id, record_id FROM source_records"))
    links = pa.table({
        "record_id": pa.array([ids[e] for e in ("C1", "B1", "S1", "M1", "C2")], pa.int64()),
        "customer_id": pa.array([1, 1, 1, 1, 2], pa.int64()),
        "match_probability": pa.array([1.0, 0.99, 0.97, 0.95, 1.0]),
    })  # fmt: skip
    now = datetime.now(UTC).replace(tzinfo=None)
    outcome = store.RunOutcome(
        links=links, changes=[], reviews=links.slice(0, 0).rename_columns(
            ["record_id_l", "record_id_r", "match_probability"]),
        survivorship=settings.survivorship, started_at=now, finished_at=now,
        summary={"records": 5, "customers": 2, "merges": 0, "splits": 0, "links": 5},
    )  # fmt: skip
    wh.write(lambda con: store.write_run(con, outcome, run))


def _load(wh: Warehouse, tmp_path: Path) -> None:
    report = ingest_paths(wh, "generic", [_write(tmp_path / "people.csv", KATHERINE)],
                          kind="source_records")  # fmt: skip
    assert report.totals["loaded"] == 5, report.to_dict()


def test_each_rule_picks_its_value_and_names_its_source(warehouse: Warehouse,
                                                        tmp_path: Path) -> None:
    _load(warehouse, tmp_path)
    _link_by_hand(warehouse, IdentitySettings())
    profile = customers.customer(warehouse, 1)
    assert profile is not None
    golden = profile["golden"]

    def picked(field: str) -> tuple[object, str, str, str]:
        g = golden[field]
        return g["value"], g["source"], g["external_id"], g["rule"]

    # Three of four records say Katherine (case and spaces aside); the CRM is the most trusted
    # of those three.
    assert picked("first_name") == ("Katherine", "crm", "C1", "most_frequent")
    assert picked("last_name") == ("Smith", "crm", "C1", "most_frequent")
    assert picked("email") == ("kate@newest.example", "marketing", "M1", "most_recent")
    assert picked("phone") == ("0222 222222", "billing", "B1", "most_recent")
    assert picked("date_of_birth") == ("1980-01-01", "crm", "C1", "most_trusted")
    assert picked("customer_since") == ("2014-03-01", "sales", "S1", "earliest")
    # The address, town and postcode come together from the most trusted record that has one
    # (billing's is newer, but a system's recency says nothing about where a person lives).
    assert picked("location")[1:] == ("crm", "C1", "most_trusted")
    assert golden["location"]["value"]["address"] == "1 Old Road"
    assert (profile["address"], profile["city"], profile["postcode"]) == (
        "1 Old Road", "Oldtown", "OT1 1AA")
    assert profile["location"]["city"] == "Oldtown" and profile["location"]["source"] == "crm"
    assert golden["email"]["distinct_values"] == 3
    assert golden["date_of_birth"]["distinct_values"] == 2
    assert golden["email"]["seen_at"].startswith("2025-01-01")
    # The columns of `customers` hold the same values as the provenance.
    assert (profile["first_name"], profile["email"], profile["date_of_birth"]) == (
        "Katherine", "kate@newest.example", date(1980, 1, 1))
    assert profile["customer_since"] == date(2014, 3, 1)
    assert profile["record_count"] == 4
    assert profile["sources"] == ["billing", "crm", "marketing", "sales"]
    assert [r["external_id"] for r in profile["source_records"]] == ["B1", "C1", "M1", "S1"]
    other = customers.customer(warehouse, 2)
    assert other is not None and other["golden"]["first_name"]["value"] == "Someone"

    # The same links again: nothing changed, so neither time moves.
    stamps = warehouse.read(
        "SELECT customer_id, created_at, updated_at FROM customers ORDER BY 1")
    _link_by_hand(warehouse, IdentitySettings(), run=1)
    assert warehouse.read(
        "SELECT customer_id, created_at, updated_at FROM customers ORDER BY 1") == stamps


def test_rules_and_trust_come_from_the_settings(warehouse: Warehouse, tmp_path: Path) -> None:
    _load(warehouse, tmp_path)
    settings = settings_from_dict({"survivorship": {
        "trust": ["billing", "crm"],
        "rules": {"email": "most_trusted", "location": "most_trusted", "phone": "most_frequent"},
    }})  # fmt: skip
    _link_by_hand(warehouse, settings)
    golden = customers.customer(warehouse, 1)["golden"]  # type: ignore[index]
    assert golden["email"]["value"] == "kate@new.example"
    assert golden["location"]["value"]["city"] == "Newtown"
    # Every phone differs: the tie goes to the most trusted source.
    assert (golden["phone"]["value"], golden["phone"]["source"]) == ("0222 222222", "billing")
    assert golden["date_of_birth"]["value"] == "1980-02-01"


KEYS = "source,external_id,customer_source,customer_external_id"
CONTACTS = KEYS + """,channel,created_at,category
phone,K1,crm,C1,phone,2024-05-01 09:00:00,information
phone,K2,crm,C1,phone,2024-05-03 09:00:00,problem
chat,K3,billing,B1,chat,2024-05-04 10:00:00,problem
email,K4,,,email,2024-05-05 10:00:00,compliment
"""
SURVEYS = KEYS + """,survey_type,score,answered_at
survey,V1,crm,C1,csat,5,2024-05-02 09:00:00
survey,V2,billing,B1,csat,2,2024-05-05 09:00:00
survey,V3,crm,C1,csat,4,2024-05-06 09:00:00
survey,V4,crm,C1,nps,10,2024-05-06 09:00:00
survey,V5,billing,B1,nps,3,2024-05-07 09:00:00
"""
TRANSACTIONS = KEYS + """,kind,occurred_at,amount,currency
billing,T1,billing,B1,invoice,2024-01-31 00:00:00,40.0,GBP
billing,T2,billing,B1,invoice,2024-02-29 00:00:00,40.0,GBP
billing,T3,billing,B1,refund,2024-03-10 00:00:00,-15.5,GBP
"""
HOLDINGS = KEYS + """,product,started_at,ended_at,monthly_amount
billing,H1,billing,B1,broadband,2016-01-01 00:00:00,,30.0
billing,H2,billing,B1,landline,2016-01-01 00:00:00,2020-01-01 00:00:00,10.0
sales,H3,sales,S1,mobile,2019-06-01 00:00:00,,12.5
"""


def test_the_customer_view_gathers_what_every_system_knows(
    warehouse: Warehouse, tmp_path: Path
) -> None:
    _load(warehouse, tmp_path)
    for name, text in (("contacts", CONTACTS), ("surveys", SURVEYS),
                       ("transactions", TRANSACTIONS), ("holdings", HOLDINGS)):
        report = ingest_paths(warehouse, "generic", [_write(tmp_path / f"{name}.csv", text)])
        assert report.totals["quarantined"] == 0, report.to_dict()
    _link_by_hand(warehouse, IdentitySettings())

    def extras(con) -> None:  # type: ignore[no-untyped-def]
        k2, k3 = (con.execute("SELECT contact_id FROM contacts WHERE external_id = ?",
                              [k]).fetchall()[0][0] for k in ("K2", "K3"))
        # A person relabels K3 as a complaint; a model's label on K2 agrees with the source.
        con.execute("INSERT INTO labels (target, target_id, dimension, label, is_human) "
                    "VALUES ('contacts', ?, 'category', 'complaint', true), "
                    "('contacts', ?, 'category', 'problem', false)", [k3, k2])
        con.execute("INSERT INTO problems (problem_id, title, cause, owner, status, opened_at) "
                    "VALUES (1, 'Router drops', 'product', 'IT', 'open', '2024-05-01'), "
                    "(2, 'Old bill error', 'billing', 'billing', 'closed', '2024-01-01')")
        con.execute("UPDATE problems SET closed_at = '2024-02-01' WHERE problem_id = 2")
        con.execute("INSERT INTO problem_contacts (problem_id, contact_id) "
                    "VALUES (1, ?), (1, ?), (2, ?)", [k2, k3, k2])
        con.execute("INSERT INTO customer_segments (customer_id, computed_at, clv, segment) "
                    "VALUES (1, '2024-06-01', 812.5, 'loyal')")

    warehouse.write(extras)
    view = customers.customer(warehouse, 1)
    assert view is not None
    assert view["contacts"]["total"] == 3  # K4 names no customer
    assert view["contacts"]["by_channel"] == {"phone": 2, "chat": 1}
    assert view["contacts"]["by_category"] == {"information": 1, "problem": 1, "complaint": 1}
    assert view["satisfaction"]["csat"]["answers"] == 3
    assert view["satisfaction"]["csat"]["top_two_box"] == round(2 / 3, 4)
    assert view["satisfaction"]["csat"]["mean"] == round(11 / 3, 4)
    assert view["satisfaction"]["nps"]["score"] == 0.0  # one promoter, one detractor
    assert view["net_revenue"]["amount"] == 64.5 and view["net_revenue"]["currency"] == "GBP"
    assert view["net_revenue"]["transactions"] == 3
    assert sorted(p["product"] for p in view["products"]) == ["broadband", "mobile"]
    assert view["tenure"]["since"] == date(2014, 3, 1)
    assert view["tenure"]["basis"] == "customer_since"
    assert view["tenure"]["days"] == (date.today() - date(2014, 3, 1)).days
    assert (view["lifetime_value"], view["segment"]) == (812.5, "loyal")
    assert [(p["problem_id"], p["contacts"]) for p in view["open_problems"]] == [(1, 2)]
    jsonable_encoder(view)  # the API can send it as it is
    other = customers.customer(warehouse, 2)
    assert other is not None and other["contacts"]["total"] == 0
    assert other["open_problems"] == [] and other["net_revenue"]["amount"] is None


PARTS = """source,external_id,first_name,last_name,email,address,city,postcode,updated_at
crm,C1,Ann,Lee,ann@example.org,1 Old Road,Oldtown,ot11aa,2023-01-01 10:00:00
marketing,M1,Ann,Lee,ann@example.org,,Newtown,NT99ZZ,2025-01-01 10:00:00
crm,C2,Bob,Ray,bob@example.org,,Canberra,2600,2023-01-01 10:00:00
marketing,M2,Bob,Ray,bob@example.org,,Canberra,  SW1A1AA ,2024-01-01 10:00:00
crm,C3,Cat,Ng,cat@example.org,2 Long St,Sydney,2000,2024-01-01 10:00:00
"""


def test_location_prefers_a_whole_address_and_writes_postcodes_in_standard_form(
    warehouse: Warehouse, tmp_path: Path
) -> None:
    report = ingest_paths(warehouse, "generic", [_write(tmp_path / "p.csv", PARTS)],
                          kind="source_records")  # fmt: skip
    assert report.totals["loaded"] == 5, report.to_dict()
    ids = dict(warehouse.read("SELECT external_id, record_id FROM source_records"))
    links = pa.table({
        "record_id": pa.array([ids[e] for e in ("C1", "M1", "C2", "M2", "C3")], pa.int64()),
        "customer_id": pa.array([1, 1, 2, 2, 3], pa.int64()),
        "match_probability": pa.array([1.0, 0.99, 1.0, 0.99, 1.0]),
    })  # fmt: skip
    now = datetime.now(UTC).replace(tzinfo=None)
    # Even with `most_recent`, marketing's newer town-and-postcode loses to the CRM's address.
    settings = settings_from_dict({"survivorship": {"rules": {"location": "most_recent"}}})
    wh_outcome = store.RunOutcome(
        links=links, changes=[], reviews=links.slice(0, 0).rename_columns(
            ["record_id_l", "record_id_r", "match_probability"]),
        survivorship=settings.survivorship, started_at=now, finished_at=now,
        summary={"records": 5, "customers": 3, "merges": 0, "splits": 0, "links": 5},
    )  # fmt: skip
    warehouse.write(lambda con: store.write_run(con, wh_outcome, 0))
    ann = customers.customer(warehouse, 1)
    assert ann is not None
    assert (ann["address"], ann["city"], ann["postcode"]) == ("1 Old Road", "Oldtown", "OT1 1AA")
    assert ann["golden"]["location"]["source"] == "crm"
    # Neither of Bob's records has a street: the newer wins; a UK postcode written without
    # its space gets it, an Australian one is kept as written.
    bob = customers.customer(warehouse, 2)
    assert bob is not None and bob["golden"]["location"]["source"] == "marketing"
    assert bob["postcode"] == "SW1A 1AA"
    assert warehouse.read("SELECT customer_id, postcode FROM customers ORDER BY 1") == [
        (1, "OT1 1AA"), (2, "SW1A 1AA"), (3, "2000")]
    with_default = settings_from_dict({})
    assert with_default.survivorship.rules["location"] == "most_trusted"


def test_customer_search_puts_names_before_other_matches(warehouse: Warehouse) -> None:
    """"Davies" finds the Davies first (the name, then names holding it), then a Brown whose
    e-mail holds it: sorted by surname alone, the Brown came first."""
    warehouse.write(lambda c: c.execute(
        "INSERT INTO customers (customer_id, first_name, last_name, email) VALUES "
        "(1, 'Patricia', 'Brown', 'thedaviess@home.example'), (2, 'Owen', 'Davies', NULL), "
        "(3, 'Ann', 'Davies-Lloyd', NULL), (4, 'Abigail', 'Davies', 'a@x.example'), "
        "(5, 'Carl', 'Smith', NULL)"))
    found = [c["customer_id"] for c in customers.find_customers(warehouse, "Davies")]
    assert found == [4, 2, 3, 1]
    assert [c["customer_id"] for c in customers.find_customers(warehouse, "owen davies")] == [2]
