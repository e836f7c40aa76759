"""The write path for files: loading the same records again changes nothing, rows are keyed on
(source, external_id). Also the other generic inputs (Parquet, JSON Lines) and the summary the
command prints. The policy shared with the API: `test_write_path.py`."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
from tests.conftest import run_cli

from cxhub.ingest.loader import FileResult
from cxhub.services.records.files import ingest_paths
from cxhub.warehouse import Warehouse

CONTACTS = (
    "source,external_id,channel,created_at,wait_seconds,subject\n"
    "crm,a,phone,2024-01-01 10:00:00,12,first\n"
    "crm,b,email,2024-01-01 11:00:00,,second\n"
    "crm,c,chat,2024-01-01 12:00:00,-5,bad wait\n"
    "crm,d,web,not a date,,bad date\n"
    "crm,e,web,2024-01-01 13:00:00,0,fifth\n"
)


def load(wh: Warehouse, path: Path, **kw: str) -> FileResult:
    report = ingest_paths(wh, "generic", [path], **kw)
    assert not report.failed, report.failed
    return report.files[0]


def counts(wh: Warehouse) -> tuple[int, int]:
    row = wh.read_one("SELECT (SELECT count(*) FROM contacts), (SELECT count(*) FROM quarantine)")
    assert row is not None
    return int(row[0]), int(row[1])


def test_the_same_file_twice_changes_nothing(warehouse: Warehouse, tmp_path: Path) -> None:
    path = tmp_path / "contacts.csv"
    path.write_text(CONTACTS)
    first = load(warehouse, path)
    assert (first.rows_read, first.loaded, first.existing, first.quarantined) == (5, 3, 0, 2)
    before = warehouse.read("SELECT * FROM contacts ORDER BY contact_id")
    assert counts(warehouse) == (3, 2)

    second = load(warehouse, path)
    assert (second.rows_read, second.loaded, second.existing) == (5, 0, 3)
    assert counts(warehouse) == (3, 2)
    assert warehouse.read("SELECT * FROM contacts ORDER BY contact_id") == before
    # Each attempt is recorded as its own batch.
    batches = warehouse.read(
        "SELECT batch_id, status, rows_read, rows_loaded, rows_existing, rows_quarantined "
        "FROM ingest_batches ORDER BY batch_id")
    assert batches == [(first.batch_id, "loaded", 5, 3, 0, 2),
                       (second.batch_id, "loaded", 5, 0, 3, second.quarantined)]


def test_the_key_is_source_and_external_id_not_the_file(
    warehouse: Warehouse, tmp_path: Path
) -> None:
    path = tmp_path / "contacts.csv"
    path.write_text(CONTACTS)
    load(warehouse, path)
    copy = tmp_path / "copy" / "contacts.csv"
    copy.parent.mkdir()
    copy.write_text(CONTACTS.replace("first", "changed text"))
    again = load(warehouse, copy)
    assert (again.loaded, again.existing) == (0, 3)
    assert warehouse.read_one("SELECT subject FROM contacts WHERE external_id = 'a'") == ("first",)
    # The same ids from another system are other records.
    other = load(warehouse, copy, source="billing")
    assert (other.loaded, other.existing) == (3, 0)
    assert warehouse.read("SELECT source, count(*) FROM contacts GROUP BY 1 ORDER BY 1") == [
        ("billing", 3), ("crm", 3)]


def test_repeated_keys_in_one_file_keep_the_first(warehouse: Warehouse, tmp_path: Path) -> None:
    path = tmp_path / "contacts.csv"
    path.write_text(
        "source,external_id,channel,created_at,subject\n"
        "crm,a,phone,2024-01-01,one\n"
        "crm,b,phone,2024-01-01,two\n"
        "crm,a,phone,2024-01-02,three\n"
        "web,a,web,2024-01-03,four\n"
        "crm,b,phone,2024-01-04,five\n")
    result = load(warehouse, path)
    assert (result.rows_read, result.loaded, result.existing, result.quarantined) == (5, 3, 2, 0)
    assert warehouse.read(
        "SELECT source, external_id, subject FROM contacts ORDER BY contact_id") == [
        ("crm", "a", "one"), ("crm", "b", "two"), ("web", "a", "four")]
    ids = [r[0] for r in warehouse.read("SELECT contact_id FROM contacts ORDER BY 1")]
    assert len(set(ids)) == 3


def test_parquet_input(warehouse: Warehouse, tmp_path: Path) -> None:
    path = tmp_path / "surveys.parquet"
    con = duckdb.connect()
    con.execute(f"""COPY (SELECT * FROM (VALUES
        ('app', 's1', 'csat', 4.0, TIMESTAMP '2024-05-01 09:00:00', 'good', 'c1'),
        ('app', 's2', 'nps', 12.0, TIMESTAMP '2024-05-01 10:00:00', NULL, 'c2'),
        ('app', 's3', 'nps', 9.0, TIMESTAMP '2024-05-02 10:00:00', 'fine', NULL))
        t(source, external_id, survey_type, score, answered_at, comment, contact_external_id))
        TO '{path}' (FORMAT parquet)""")
    con.close()
    first = load(warehouse, path)
    assert (first.rows_read, first.loaded, first.quarantined) == (3, 2, 1)
    assert warehouse.read("SELECT line, field, value, reason FROM quarantine") == [
        (2, "score", "12.0", "out of range for nps (0-10)")]
    assert warehouse.read(
        "SELECT external_id, survey_type, score, answered_at::VARCHAR, comment FROM surveys "
        "ORDER BY 1") == [("s1", "csat", 4.0, "2024-05-01 09:00:00", "good"),
                          ("s3", "nps", 9.0, "2024-05-02 10:00:00", "fine")]
    second = load(warehouse, path)
    assert (second.loaded, second.existing) == (0, 2)
    assert warehouse.read_one("SELECT count(*) FROM quarantine") == (1,)


def test_json_lines_input(warehouse: Warehouse, tmp_path: Path) -> None:
    path = tmp_path / "touchpoints.jsonl"
    records = [
        {"source": "web", "external_id": "v1", "customer_external_id": "c9",
         "touchpoint_type": "web_visit", "occurred_at": "2024-05-01T09:00:00Z",
         "detail": "/pricing", "campaign": "spring"},
        {"source": "web", "external_id": "v2", "touchpoint_type": "app_login",
         "occurred_at": "2024-05-01T09:30:00+02:00"},
        {"source": "web", "external_id": "v3", "touchpoint_type": "app_login"},
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    first = load(warehouse, path)
    assert (first.rows_read, first.loaded, first.quarantined) == (3, 2, 1)
    assert warehouse.read("SELECT line, field, reason FROM quarantine") == [
        (3, "occurred_at", "missing value")]
    assert warehouse.read(
        "SELECT external_id, occurred_at::VARCHAR, detail, attributes->>'campaign' "
        "FROM touchpoints ORDER BY 1") == [
        ("v1", "2024-05-01 09:00:00", "/pricing", "spring"),
        ("v2", "2024-05-01 07:30:00", None, None)]  # stored in UTC
    second = load(warehouse, path)
    assert (second.loaded, second.existing) == (0, 2)
    assert warehouse.read_one("SELECT count(*) FROM quarantine") == (1,)


def test_the_json_summary(tmp_path: Path) -> None:
    home = tmp_path / "home"
    path = tmp_path / "contacts.csv"
    path.write_text(CONTACTS)
    first = json.loads(run_cli("ingest", "generic", str(path), "--json", home=home).stdout)
    assert set(first) == {"totals", "top_reasons", "files", "failed"}
    assert first["totals"] == {"rows_read": 5, "loaded": 3, "existing": 0, "quarantined": 2}
    assert sorted(first["top_reasons"], key=lambda r: r["reason"]) == [
        {"reason": "created_at: not a valid timestamp", "count": 1},
        {"reason": "wait_seconds: negative duration", "count": 1},
    ]
    (file,) = first["files"]
    assert file["path"] == str(path) and file["kind"] == "contacts"
    assert (file["loaded"], file["existing"], file["quarantined"]) == (3, 0, 2)
    assert {"format", "source", "batch_id", "rows_read", "reasons", "examples", "seconds"} <= set(
        file)
    assert any(f"{path}:5" in e and "created_at" in e for e in file["examples"])
    assert first["failed"] == []

    missing = tmp_path / "nope" / "contacts.csv"
    proc = run_cli("ingest", "generic", str(path), str(missing), "--json", home=home,
                   check=False)
    assert proc.returncode == 2
    second = json.loads(proc.stdout)
    assert second["totals"]["loaded"] == 0 and second["totals"]["existing"] == 3
    assert second["failed"] == [{"path": str(missing), "error": f"{missing}: no such file"}]


def test_the_printed_summary(tmp_path: Path) -> None:
    home = tmp_path / "home"
    path = tmp_path / "contacts.csv"
    path.write_text(CONTACTS)
    proc = run_cli("ingest", "generic", str(path), home=home, env={"COLUMNS": "200"})
    out = proc.stdout
    for heading in ("loaded", "already present", "quarantined"):
        assert heading in out
    assert "wait_seconds: negative duration" in out
    assert "created_at: not a valid timestamp" in out
    row = next(line for line in out.splitlines() if "contacts.csv" in line and "│" in line)
    assert [c.strip() for c in row.split("│")[2:6]] == ["5", "3", "0", "2"]
    assert "contacts, source from each row" in out
