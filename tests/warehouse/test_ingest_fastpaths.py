"""The bulk load's fast paths give the same results as the general ones they stand in for:
CSV records read in parallel still get ids in the file's order (and repeated keys keep their
first occurrence), times parsed by the fast format equal the general cast, booleans and
trimming are unchanged, and the line count for the clean-file test survives block edges."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from cxhub.ingest.compile import _FALSE, _TRUE, _trimmed
from cxhub.ingest.readers import _count_lines
from cxhub.services.records.files import ingest_paths
from cxhub.warehouse import Warehouse

_ROWS = 300_000  # large enough that DuckDB reads the file with several threads (18 MB)
_REPEATS = {250_001: 7, 299_990: 150_000}  # line's record number -> earlier record it repeats


def _write_big_csv(path: Path) -> None:
    repeats = ", ".join(f"({row}, {first})" for row, first in _REPEATS.items())
    con = duckdb.connect()
    con.execute(f"""
        COPY (
            SELECT 'crm' AS source, 'k' || coalesce(r.first, i) AS external_id, 'phone' AS channel,
                   strftime(TIMESTAMP '2024-01-01' + to_seconds(i), '%Y-%m-%d %H:%M:%S')
                       AS created_at,
                   'record ' || i AS subject
            FROM range(1, {_ROWS} + 1) t(i)
            LEFT JOIN (VALUES {repeats}) r(row, first) ON r.row = i
            ORDER BY i
        ) TO '{path}' (HEADER)""")
    con.close()


@pytest.mark.slow
def test_parallel_csv_load_keeps_the_file_order(warehouse: Warehouse, tmp_path: Path) -> None:
    path = tmp_path / "contacts.csv"
    _write_big_csv(path)
    report = ingest_paths(warehouse, "generic", [path])
    assert not report.failed, report.failed
    result = report.files[0]
    assert (result.rows_read, result.loaded, result.existing, result.quarantined) == (
        _ROWS, _ROWS - len(_REPEATS), len(_REPEATS), 0)
    # Ids follow the records' order in the file: each record's id is its number (the repeats'
    # ids are gone with them).
    ids, records = zip(*warehouse.read(
        "SELECT contact_id, substr(subject, 8)::BIGINT FROM contacts ORDER BY contact_id"),
        strict=True)
    assert list(ids) == list(records) == [i for i in range(1, _ROWS + 1) if i not in _REPEATS]
    # A repeated key keeps its first occurrence.
    for row, first in _REPEATS.items():
        assert warehouse.read_one(
            "SELECT subject FROM contacts WHERE external_id = ?", [f"k{first}"]
        ) == (f"record {first}",), row


def test_fast_time_formats_agree_with_the_general_cast(
    warehouse: Warehouse, tmp_path: Path
) -> None:
    values = [
        "2024-05-01 09:30:00", "2024-05-01T09:30:00", "2024-5-1 9:30:00",
        "2024-05-01 09:30:00+02:00", "2024-05-01T09:30:00Z", "2024-05-01 09:30:00.25",
        "2024-05-01", "2024-05-01 09:30", "2024-05-01 24:00:00", "2024-02-30 10:00:00",
        "  2024-05-01 09:30:00 ", "2024-05-01 09:30:00 Europe/Paris", "1/5/2024",
    ]
    path = tmp_path / "contacts.csv"
    path.write_text("source,external_id,channel,created_at\n" + "".join(
        f'crm,t{i},phone,"{v}"\n' for i, v in enumerate(values)))
    ingest_paths(warehouse, "generic", [path])
    loaded = dict(warehouse.read("SELECT external_id, created_at FROM contacts"))
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    for i, v in enumerate(values):
        general = con.execute(
            "SELECT CAST(TRY_CAST(trim(?) AS TIMESTAMPTZ) AS TIMESTAMP)", [v]).fetchone()
        assert general is not None
        assert loaded.get(f"t{i}") == general[0], v  # a value that does not parse is not loaded
    assert len(loaded) < len(values)  # some of them are indeed bad


def test_booleans_are_read_as_the_mapping_documents(warehouse: Warehouse) -> None:
    accepted = {v: True for v in _TRUE} | {v: False for v in _FALSE}
    cases = {**accepted, **{v.upper(): b for v, b in accepted.items()},
             **{v.title(): b for v, b in accepted.items()},
             "on": None, "off": None, "2": None, "01": None, "1.0": None, "yess": None}
    con = duckdb.connect()
    for text, expected in cases.items():
        row = con.execute("SELECT TRY_CAST(? AS BOOLEAN)", [text]).fetchone()
        assert row is not None and row[0] is expected, text


@pytest.mark.parametrize("text", [
    "plain", " leading", "trailing ", "  both  ", "\u00a0nbsp\u00a0", "tab\t", "\tinner tab",
    "caf\u00e9", " caf\u00e9 ", "\u3000wide\u3000", "", "   ", "\u2003",
])
def test_trimming_only_what_trim_would(text: str) -> None:
    con = duckdb.connect()
    row = con.execute(
        f"SELECT {_trimmed('x')}, nullif(trim(x), '') FROM (SELECT ?::VARCHAR AS x)", [text]
    ).fetchone()
    assert row is not None and row[0] == row[1], repr(text)


@pytest.mark.parametrize("tail", [b"", b"\n", b"last line"])
def test_line_count_across_blocks(tmp_path: Path, tail: bytes) -> None:
    block = 1 << 22
    path = tmp_path / "lines.csv"
    # A CRLF split between two 4 MB blocks, and one a byte later.
    data = b"a" * (block - 1) + b"\r\n" + b"b\r\n" + tail
    path.write_bytes(data)
    lines, bare_cr = _count_lines(path)
    assert (lines, bare_cr) == (data.count(b"\n") + (1 if tail == b"last line" else 0), False)
    path.write_bytes(b"x\ry\n" + data)
    assert _count_lines(path)[1] is True
    path.write_bytes(b"")
    assert _count_lines(path) == (0, False)


@pytest.mark.slow
def test_bad_lines_of_a_large_file_are_quarantined_at_their_line(
    warehouse: Warehouse, tmp_path: Path
) -> None:
    """The parallel insert reads the file; the quarantine still names each bad line."""
    path = tmp_path / "contacts.csv"
    _write_big_csv(path)
    lines = path.read_bytes().split(b"\n")
    broken = {1_000: b"crm,extra,phone,2024-01-01 00:00:00,too,many,columns",
              200_000: b"crm,kbad,phone,not a date,record",
              299_000: b"crm,short"}
    for line, text in broken.items():
        lines[line - 1] = text  # line 1 is the header
    path.write_bytes(b"\n".join(lines))
    result = ingest_paths(warehouse, "generic", [path]).files[0]
    assert result.quarantined == len(broken)
    assert result.loaded == _ROWS - len(_REPEATS) - len(broken)
    found = warehouse.read("SELECT line, field FROM quarantine ORDER BY line")
    assert [line for line, _ in found] == sorted(broken)
    assert dict(found)[200_000] == "created_at"
