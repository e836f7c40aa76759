"""The demo company's planted identities are found: pairwise F1 >= 0.98.

The simulator writes each system's person records with the variation real systems show
(nicknames, typos, initials, old addresses after a move, households sharing an address and an
email, customers keyed twice) and the truth: which person each record is
(`truth/identities.csv`). The records are loaded as a user would load the exports, resolved
with the default settings, and every pair of records given one customer is compared with the
truth.
"""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from itertools import combinations
from pathlib import Path

import pytest
from click.testing import CliRunner

from cxhub.cli.simulate_cmd import simulate
from cxhub.services.customers.identity import resolve
from cxhub.services.records.files import ingest_paths
from cxhub.warehouse import Warehouse


def _pairs(groups: dict[str, list[tuple[str, str]]]) -> set[tuple[tuple[str, str], ...]]:
    return {tuple(sorted(p)) for members in groups.values() for p in combinations(members, 2)}


@pytest.mark.slow
def test_planted_identities_are_found(warehouse: Warehouse, tmp_path: Path) -> None:
    out = tmp_path / "company"
    result = CliRunner().invoke(
        simulate, [str(out), "--customers", "2000", "--days", "60", "--seed", "1", "--json"]
    )
    assert result.exit_code == 0, result.output
    manifest = json.loads((out / "manifest.json").read_text())
    files = [out / e["path"] for e in manifest if e["kind"] == "source_records"]
    assert len(files) >= 3
    report = ingest_paths(warehouse, "generic", files, kind="source_records")
    assert not report.failed and report.totals["quarantined"] == 0, report.to_dict()

    resolved = resolve(warehouse)

    truth: dict[str, list[tuple[str, str]]] = defaultdict(list)
    with open(out / "truth" / "identities.csv", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            truth[row["person_id"]].append((row["source"], row["external_id"]))
    found: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for source, external_id, customer_id in warehouse.read(
        "SELECT source, external_id, customer_id FROM customer_links"
    ):
        found[str(customer_id)].append((source, external_id))
    assert sum(len(v) for v in found.values()) == sum(len(v) for v in truth.values())

    true_pairs, predicted = _pairs(truth), _pairs(found)
    hits = len(true_pairs & predicted)
    precision, recall = hits / len(predicted), hits / len(true_pairs)
    f1 = 2 * precision * recall / (precision + recall)
    print(f"demo identities: {resolved.records} records, {len(truth)} people, "
          f"{resolved.customers} customers; precision {precision:.4f}, recall {recall:.4f}, "
          f"F1 {f1:.4f}")
    assert f1 >= 0.98
