"""The CLI read in a terminal of 80 columns (issue 10, items 3, 9 and 10).

Each command runs as a user runs it, in its own process with COLUMNS=80: the catalogue is
readable (not one word per line), weekdays have names, a comparison the data does not cover
says so, every segment is a dimension, an empty quarantine says it is empty, `status` lists
every table of the file, and the figure the docs give for FEBRL is what the command does.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from tests.conftest import run_cli

from cxhub.warehouse import Warehouse

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings(
    "ignore:fetch_arrow_table\\(\\) is deprecated:DeprecationWarning")]

NARROW = {"COLUMNS": "80", "LINES": "50"}
DOCS = Path(__file__).resolve().parents[2] / "docs"

# Monday 4 to Wednesday 6 March 2024; customer K1 is a "techie", K2 has no segments yet.
_ROWS = """
INSERT INTO contacts (contact_id, source, external_id, channel, created_at, customer_source,
                      customer_external_id) VALUES
 (1, 't', 'a', 'phone', TIMESTAMP '2024-03-04 09:00:00', 'crm', 'K1'),
 (2, 't', 'b', 'phone', TIMESTAMP '2024-03-04 10:00:00', 'crm', 'K1'),
 (3, 't', 'c', 'email', TIMESTAMP '2024-03-05 11:00:00', 'crm', 'K2'),
 (4, 't', 'd', 'chat', TIMESTAMP '2024-03-06 12:00:00', 'crm', 'K1');
INSERT INTO customer_links (source, external_id, customer_id, run_id) VALUES
 ('crm', 'K1', 1, 1), ('crm', 'K2', 2, 1);
INSERT INTO customer_segments (customer_id, persona, portfolio, rfm_segment, segment)
 VALUES (1, 'techie', 'grow', 'champions', 'top value');
"""


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cli80")
    with Warehouse.open(path / "cxhub.duckdb") as wh:
        wh.write(lambda con: con.execute(_ROWS))
    return path


def _cli(home: Path, *args: str) -> str:
    out = run_cli(*args, home=home, env=NARROW).stdout
    wide = [line for line in out.splitlines() if len(line) > 80]
    assert not wide, f"lines over 80 columns: {wide}"
    return out


def test_the_catalogue_reads_at_80_columns(home: Path) -> None:
    out = _cli(home, "metrics", "--list")
    lines = out.splitlines()
    # Each description is wrapped whole under its metric: its first line holds many words.
    first = lines[lines.index(next(x for x in lines if x.startswith("service_level"))) + 1]
    assert first.startswith("    ") and len(first.split()) >= 8, first
    described = [x for x in lines if x.startswith("    ")]
    words = sum(len(x.split()) for x in described) / len(described)
    assert words >= 8, f"{words:.1f} words per line of description"


def test_weekdays_have_names_and_uncovered_comparisons_say_so(home: Path) -> None:
    out = _cli(home, "metrics", "contacts", "--from", "2024-03-04", "--to", "2024-03-06",
               "--by", "weekday", "--compare", "previous")
    rows = {line.split("│")[1].strip(): line for line in out.splitlines()
            if line.startswith("│")}
    assert set(rows) == {"Monday", "Tuesday", "Wednesday"}
    assert "no data" in rows["Monday"]  # 1 to 3 March: before the first contact
    assert "2024-03-04 to 2024-03-06" in out
    partial = _cli(home, "metrics", "contacts", "--from", "2024-03-06", "--to", "2024-03-08",
                   "--compare", "previous")
    assert "partial: 2 of 3 days" in partial  # 3 to 5 March: the 4th and 5th are covered


def test_every_segment_is_a_dimension_in_the_cli(home: Path) -> None:
    out = _cli(home, "metrics", "contacts", "--from", "2024-03-04", "--to", "2024-03-06",
               "--by", "persona,portfolio,rfm_segment,segment")
    rows = [[c.strip() for c in line.split("│")[1:-1]] for line in out.splitlines()
            if line.startswith("│")]
    # K1's three contacts under each of its segments; K2 has no segments yet
    assert rows == [["techie", "grow", "champions", "top value", "3", "3"],
                    ["–", "–", "–", "–", "1", "1"]]


def test_an_empty_quarantine_says_so_and_status_lists_every_table(home: Path) -> None:
    quarantine = _cli(home, "quarantine")
    assert "No rows in quarantine" in quarantine and "┏" not in quarantine
    status = _cli(home, "status")
    with Warehouse.open(home / "cxhub.duckdb") as wh:
        tables = {r[0] for r in wh.read(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' "
            "AND table_catalog = current_database() AND table_type = 'BASE TABLE'")}
    listed = {line.split("│")[1].strip() for line in status.splitlines()
              if line.startswith("│")}
    assert listed == tables
    assert {"customer_segments", "labels", "metric_days", "contacts"} <= listed


def test_the_febrl_figures_in_the_docs_are_what_ingest_does(
        shared_data: Path, tmp_path: Path) -> None:
    """docs/identity.md says how many FEBRL4 records the mapping quarantines: load both files
    as the docs do and read the count from the command's own table."""
    text = (DOCS / "identity.md").read_text(encoding="utf-8")
    claim = re.search(r"the FEBRL mapping quarantines ([\d,]+) of the ([\d,]+) records", text)
    assert claim, "docs/identity.md no longer states how many FEBRL records are quarantined"
    quarantined, read = (int(x.replace(",", "")) for x in claim.groups())
    total_read, total_quarantined = 0, 0
    for name, source in (("dataset4a.csv", "crm"), ("dataset4b.csv", "billing")):
        out = _cli(tmp_path, "ingest", "febrl", str(shared_data / "febrl" / name),
                   "--source", source)
        row = next(line for line in out.splitlines() if name in line)
        cells = [c.strip().replace(",", "") for c in row.split("│")[1:-1]]
        assert out.count("quarantined") >= 1 and "…" not in out  # nothing cut short
        total_read += int(cells[1])
        total_quarantined += int(cells[-1])
    assert (total_quarantined, total_read) == (quarantined, read)
    assert "No rows in quarantine" in _cli(tmp_path, "quarantine") or quarantined
