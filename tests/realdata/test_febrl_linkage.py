"""Identity resolution on FEBRL4: two files of 5,000 person records with typos, swapped names
and missing values, and 5,000 true links (rec-N-org ~ rec-N-dup-0). Published: a probabilistic
linker reaches F1 about 0.999.

Loaded as a user would (`cxhub ingest febrl dataset4a.csv --source crm`, `dataset4b.csv
--source billing`), resolved with the default settings, and scored pairwise: every pair of
records given the same customer is a predicted link.
"""

from __future__ import annotations

from collections import defaultdict
from itertools import combinations
from pathlib import Path

import pytest

from cxhub.services.customers.identity import resolve
from cxhub.services.records.files import ingest_paths
from cxhub.warehouse import Warehouse

pytestmark = [pytest.mark.realdata, pytest.mark.slow]


def _person(external_id: str) -> str:
    return external_id.split("-")[1]  # rec-1070-org and rec-1070-dup-0 are person 1070


def test_febrl4_precision_and_recall_at_the_default_threshold(
    shared_data: Path, warehouse: Warehouse
) -> None:
    folder = shared_data / "febrl"
    for name, source in (("dataset4a.csv", "crm"), ("dataset4b.csv", "billing")):
        report = ingest_paths(warehouse, "febrl", [folder / name], source=source)
        assert not report.failed, report.failed
    report = resolve(warehouse)

    people: dict[str, set[str]] = defaultdict(set)
    for name in ("dataset4a.csv", "dataset4b.csv"):
        with open(folder / name, encoding="utf-8") as fh:
            next(fh)
            for line in fh:
                rec = line.split(",")[0].strip()
                people[_person(rec)].add(rec)
    true_pairs = {tuple(sorted(recs)) for recs in people.values() if len(recs) == 2}
    assert len(true_pairs) == 5000

    members: dict[int, list[str]] = defaultdict(list)
    for external_id, customer_id in warehouse.read(
        "SELECT external_id, customer_id FROM customer_links"
    ):
        members[customer_id].append(external_id)
    predicted = {
        tuple(sorted(pair)) for recs in members.values() for pair in combinations(recs, 2)
    }
    loaded = {r[0] for r in warehouse.read("SELECT external_id FROM source_records")}
    loadable = {p for p in true_pairs if p[0] in loaded and p[1] in loaded}

    hits = len(predicted & true_pairs)
    precision = hits / len(predicted)
    recall = hits / len(true_pairs)
    recall_of_loaded = hits / len(loadable)
    print(
        f"FEBRL4: {report.records} records, {report.customers} customers, "
        f"{len(predicted)} predicted pairs, {hits} true; precision {precision:.4f}, "
        f"recall {recall:.4f} ({recall_of_loaded:.4f} of the {len(loadable)} pairs whose "
        f"records both loaded); {sum(report.seconds.values()):.1f} s"
    )
    assert precision >= 0.999
    # Every record loads (an invalid birth date is left empty), so recall is over all 5,000.
    assert len(loadable) == len(true_pairs) == 5000
    assert recall >= 0.995
    assert recall_of_loaded == recall
    assert len(loaded) == report.records == report.links
