"""Customer ids survive re-runs; merges and splits are recorded; people's decisions are obeyed.

Run 1 resolves a small population plus three people planted for the story:
- Marguerite, known to the CRM by name, birth date and address, and to marketing by email and
  phone only: nothing in common, so two customers;
- Quentin, in the CRM and billing: one customer;
- Rosalind, in the CRM, billing and sales: one customer.
Before run 2 new records arrive (new people, a billing record for a CRM-only person, and a
sales record for Marguerite that shares her name with the CRM and her email with marketing),
and a person says Quentin's two records, and Rosalind's CRM and billing records, are not the
same customer.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from tests.warehouse.identity_people import billing_record, people, population, write_csv

from cxhub.services.customers import identity
from cxhub.services.customers import read as customers
from cxhub.services.records.files import ingest_paths
from cxhub.warehouse import Warehouse

MARGUERITE_CRM = {"source": "crm", "external_id": "C9001", "first_name": "Marguerite",
                  "last_name": "Okafor", "date_of_birth": "1971-03-04",
                  "address": "12 Elm Terrace", "city": "Ashbridge", "postcode": "AB7 2CD"}
MARGUERITE_MKT = {"source": "marketing", "external_id": "M9001",
                  "email": "m.okafor71@example.net", "phone": "07700 900123"}
MARGUERITE_SALES = {**MARGUERITE_CRM, "source": "sales", "external_id": "S9001",
                    "email": "m.okafor71@example.net", "phone": "+44 7700 900123"}
QUENTIN = [{"source": s, "external_id": f"{s[0].upper()}9002", "first_name": "Quentin",
            "last_name": "Abernathy", "date_of_birth": "1980-11-23", "email": "qa@example.org",
            "address": "3 Wharf Road", "city": "Dunhallow", "postcode": "DH4 1AA"}
           for s in ("crm", "billing")]  # fmt: skip
ROSALIND = [{"source": s, "external_id": f"{s[0].upper()}9003", "first_name": "Rosalind",
             "last_name": "Featherstone", "date_of_birth": "1966-06-30",
             "email": "ros.f@example.org", "phone": "07911 123456", "address": "8 Quay Street",
             "city": "Elmstead", "postcode": "EL2 9ZZ"}
            for s in ("crm", "billing", "sales")]  # fmt: skip


def _load(wh: Warehouse, path: Path) -> None:
    report = ingest_paths(wh, "generic", [path], kind="source_records")
    assert not report.failed and report.totals["quarantined"] == 0, report.to_dict()


def _ids(wh: Warehouse) -> dict[tuple[str, str], int]:
    return {(s, e): c for s, e, c in wh.read(
        "SELECT source, external_id, customer_id FROM customer_links")}


def _changes(wh: Warehouse, run_id: int) -> set[tuple[str, int, int | None]]:
    return set(wh.read(
        "SELECT change, customer_id, other_customer_id FROM identity_changes WHERE run_id = ?",
        [run_id]))


@pytest.mark.slow
def test_rerun_keeps_ids_records_merges_and_splits_and_obeys_non_match(
    warehouse: Warehouse, tmp_path: Path
) -> None:
    base = population(220)
    _load(warehouse, write_csv(tmp_path / "run1.csv",
                               base + [MARGUERITE_CRM, MARGUERITE_MKT] + QUENTIN + ROSALIND))
    first = identity.resolve(warehouse)
    before = _ids(warehouse)
    assert first.records == len(before) == first.links
    m_crm, m_mkt = before[("crm", "C9001")], before[("marketing", "M9001")]
    assert m_crm != m_mkt
    quentin = {before[("crm", "C9002")], before[("billing", "B9002")]}
    rosalind = {before[(r["source"], r["external_id"])] for r in ROSALIND}
    assert len(quentin) == 1 and len(rosalind) == 1
    assert {c for c, *_ in _changes(warehouse, first.run_id)} == {"new"}

    # New records: 20 new people, a billing record for a person so far only in the CRM, and the
    # sales record that bridges Marguerite's two customers.
    rng = random.Random(3)
    everyone = people(240)
    crm_only = next(p for p in everyone[:220]
                    if ("billing", f"B{p['person'][1:]}") not in before)
    new_people = population(240)[len(base):]
    _load(warehouse, write_csv(tmp_path / "run2.csv", new_people
                               + [billing_record(crm_only, rng), MARGUERITE_SALES]))
    for left, right in ((QUENTIN[0], QUENTIN[1]), (ROSALIND[0], ROSALIND[1])):
        identity.decide_pair(warehouse, (left["source"], left["external_id"]),
                             (right["source"], right["external_id"]), "non_match",
                             decided_by="test")  # fmt: skip
    second = identity.resolve(warehouse)
    after = _ids(warehouse)
    changes = _changes(warehouse, second.run_id)

    # Everyone outside the story keeps their id, including the person who gained a record.
    story = {("crm", "C9001"), ("marketing", "M9001")} | {
        (r["source"], r["external_id"]) for r in QUENTIN + ROSALIND}
    kept = [k for k in before if k not in story]
    assert [after[k] for k in kept] == [before[k] for k in kept]
    crm_only_id = after[("crm", f"C{crm_only['person'][1:]}")]
    assert after[("billing", f"B{crm_only['person'][1:]}")] == crm_only_id
    assert ("new_records", crm_only_id, None) in changes

    # Marguerite: one customer now, under the older of her two ids; the merge is recorded.
    survivor, absorbed = min(m_crm, m_mkt), max(m_crm, m_mkt)
    assert after[("crm", "C9001")] == after[("marketing", "M9001")] == survivor
    assert after[("sales", "S9001")] == survivor
    assert ("merge", survivor, absorbed) in changes
    profile = customers.customer(warehouse, absorbed)
    assert profile is not None and profile["customer_id"] == survivor
    assert profile["merged_from"] == absorbed

    # Quentin: split as the person said; the CRM record keeps the id.
    (q_id,) = quentin
    assert after[("crm", "C9002")] == q_id != after[("billing", "B9002")]
    assert ("split", q_id, after[("billing", "B9002")]) in changes

    # Rosalind: the sales record matches both, yet CRM and billing stay apart.
    (r_id,) = rosalind
    r_crm, r_bill, r_sales = (after[(r["source"], r["external_id"])] for r in ROSALIND)
    assert r_crm != r_bill and r_sales in (r_crm, r_bill) and r_id in (r_crm, r_bill)
    assert ("split", r_id, r_crm if r_crm != r_id else r_bill) in changes

    assert second.merges == sum(1 for c in changes if c[0] == "merge")
    assert second.splits == sum(1 for c in changes if c[0] == "split")
    new_ids = {after[(r["source"], r["external_id"])] for r in new_people}
    assert new_ids.isdisjoint(before.values())

    # A third run with nothing new changes no id and records no merge or split.
    third = identity.resolve(warehouse)
    assert _ids(warehouse) == after
    assert (third.merges, third.splits, third.new_customers) == (0, 0, 0)


@pytest.mark.slow
def test_review_queue_keeps_decisions_and_numbers(warehouse: Warehouse, tmp_path: Path) -> None:
    _load(warehouse, write_csv(tmp_path / "people.csv", population(200, seed=11)))
    identity.resolve(warehouse, threshold=0.9)
    queued = identity.list_reviews(warehouse, limit=1000)
    for pair in queued:
        assert 0.5 <= pair["match_probability"] < 0.99
        assert pair["left"]["source"] and pair["right"]["source"]
    if not queued:  # make one: a pair the model links, which a person may still question
        (s1, e1), (s2, e2) = warehouse.read(
            "SELECT source, external_id FROM customer_links WHERE customer_id = "
            "(SELECT customer_id FROM customer_links GROUP BY 1 HAVING count(*) = 2 "
            "ORDER BY 1 LIMIT 1) ORDER BY 1, 2")
        identity.decide_pair(warehouse, (s1, e1), (s2, e2), "match", decided_by="test")
    else:
        identity.decide(warehouse, queued[0]["review_id"], "match", decided_by="test")
    decided = identity.list_reviews(warehouse, status="match")
    assert len(decided) == 1 and decided[0]["decided_by"] == "test"
    still_open = {p["review_id"] for p in identity.list_reviews(warehouse, limit=1000)}
    identity.resolve(warehouse)
    assert identity.list_reviews(warehouse, status="match") == decided
    assert {p["review_id"] for p in identity.list_reviews(warehouse, limit=1000)} == still_open
    left, right = decided[0]["left"], decided[0]["right"]
    ids = _ids(warehouse)
    assert ids[(left["source"], left["external_id"])] == ids[(right["source"],
                                                              right["external_id"])]


@pytest.mark.slow
def test_cli_resolve_and_review(tmp_path: Path) -> None:
    """`cxhub resolve --json`, `cxhub review list --json` and `review decide`, as a user runs
    them (the commands under a group with cxhub's --home option)."""
    import json

    import click
    from click.testing import CliRunner

    from cxhub.cli.identity_cmd import resolve, review

    @click.group()
    @click.option("--home")
    def cli(home: str | None) -> None:
        """cxhub"""

    cli.add_command(resolve)
    cli.add_command(review)
    home = tmp_path / "home"
    with Warehouse.open(home / "cxhub.duckdb") as wh:
        _load(wh, write_csv(tmp_path / "people.csv", population(150, seed=4)))
    runner = CliRunner()
    done = runner.invoke(cli, ["--home", str(home), "resolve", "--json"])
    assert done.exit_code == 0, done.output
    summary = json.loads(done.stdout)
    assert summary["run_id"] == 1 and summary["links"] == summary["records"] > 150
    assert summary["customers"] < summary["records"]
    bad = runner.invoke(cli, ["--home", str(home), "resolve", "--threshold", "1.5"])
    assert bad.exit_code == 2 and "threshold" in bad.output
    listed = runner.invoke(cli, ["--home", str(home), "review", "list", "--json"])
    assert listed.exit_code == 0, listed.output
    assert len(json.loads(listed.stdout)) == min(summary["reviews"], 20)
    missing = runner.invoke(cli, ["--home", str(home), "review", "decide", "999999", "--match"])
    assert missing.exit_code == 2 and "no review pair" in missing.output
