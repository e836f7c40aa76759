"""Open a source file as a DuckDB relation of raw columns, with a record number per row.

Each reader returns a `Source`: the SQL of a relation with `_row` (1-based record number) and
the file's columns, plus what is needed to turn record numbers into line numbers for messages.
Structural errors (wrong column counts, bad encoding, broken JSON) are collected as rejects;
whole-file problems raise IngestError with a message that says what to do.
"""

from __future__ import annotations

import csv
import json
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

import duckdb
import numpy as np

from cxhub.domain.errors import IngestError
from cxhub.ingest.mapping import Mapping
from cxhub.warehouse.schema import literal as lit
from cxhub.warehouse.schema import quote


@dataclass
class Reject:
    line: int
    reason: str
    text: str
    column: str | None = None  # the source column, where the error is in one


@dataclass
class Source:
    path: Path
    relation: str  # SQL of a relation: _row plus raw columns
    columns: dict[str, str]  # column name -> DuckDB type
    first_line: int  # line number of record 1 when records are one line each
    line_of: dict[int, int] = field(default_factory=dict)  # record -> line, where they differ
    rejects: list[Reject] = field(default_factory=list)
    source_name: str | None = None  # a layout may name its own source
    cleanup: list[str] = field(default_factory=list)
    rejects_table: str | None = None
    csv_options: tuple[str, str, bool] = (",", "utf-8", True)
    reader: str = ""  # csv, parquet ...: which reader made it, where that matters
    # The same records without `_row`, read in parallel: DuckDB numbers CSV records only with
    # a window (`row_number() OVER ()`), which runs on one thread. Its order of rows is the
    # file's, but no column says which record a row is. None where `relation` is as fast.
    unnumbered: str | None = None
    line_bound: int | None = None  # see record_bound(); counted while the file was opened

    def line(self, record: int) -> int:
        return self.line_of.get(record, record + self.first_line - 1)


def open_source(
    con: duckdb.DuckDBPyConnection,
    mapping: Mapping,
    path: Path,
    *,
    encoding: str | None = None,
    source: str | None = None,
) -> Source:
    """`source` is the --source given by the user: it stands in for a `source` column."""
    if not path.exists():
        raise IngestError(f"{path}: no such file")
    if path.is_dir():
        raise IngestError(f"{path}: is a folder; give the files to load")
    reader = mapping.reader
    suffix = path.suffix.lower()
    if suffix == ".parquet" or (reader.type == "parquet" and suffix != ".csv"):
        src = _parquet(con, path)
    elif suffix in (".jsonl", ".ndjson", ".json") or reader.type == "jsonl":
        src = _jsonl(con, path)
    elif reader.type == "whitespace":
        src = _whitespace(con, mapping, path)
    else:
        src = _csv(con, mapping, path, encoding or reader.encoding)
    _check_columns(mapping, src, given_source=source)
    return src


def _describe(con: duckdb.DuckDBPyConnection, relation: str, path: Path) -> dict[str, str]:
    try:
        rows = con.execute(f"DESCRIBE SELECT * FROM {relation}").fetchall()
    except duckdb.Error as exc:
        raise IngestError(f"{path}: cannot be read: {_first_line(exc)}") from None
    return {r[0]: r[1] for r in rows if r[0] != "_row"}


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0]


def _csv(con: duckdb.DuckDBPyConnection, mapping: Mapping, path: Path, encoding: str) -> Source:
    reader = mapping.reader
    rejects = f"_rejects_{uuid.uuid4().hex[:12]}"
    # Strict parsing rejects rows with too many columns or text after a closing quote (the
    # lenient parser silently drops what is extra), but it gives up on a whole file whose lines
    # end in both CR and LF: such files are read leniently, and their broken rows still found.
    lines, bare_cr = _count_lines(path)
    strict = not bare_cr
    opts = (
        f"delim={lit(reader.delimiter)}, quote='\"', "
        f"escape='\"', all_varchar=true, encoding={lit(encoding)}, store_rejects=true, "
        f"rejects_table={lit(rejects)}, rejects_scan={lit(rejects + '_scan')}, "
        f"null_padding=false, auto_detect=false, strict_mode={str(strict).lower()}"
    )
    if reader.header:
        header = _header(path, reader.delimiter, encoding)
        cols = ", ".join(f"{lit(c)}: 'VARCHAR'" for c in header)
        opts += f", columns={{{cols}}}, skip=1, header=false"
    else:
        opts += ", header=false"
    scan = f"read_csv({lit(str(path))}, {opts})"
    rel = f"(SELECT row_number() OVER () AS _row, * FROM {scan})"
    src = Source(path, rel, _describe(con, rel, path), first_line=2 if reader.header else 1)
    src.cleanup += [rejects, rejects + "_scan"]
    src.rejects_table = rejects
    src.csv_options = (reader.delimiter, encoding, reader.header)
    src.reader = "csv"
    # DuckDB's default CSV buffers: larger ones (32 MB) saved a little merging in the ordered
    # insert but held three times the memory (3.1 GB for 10 million records, see BENCHMARKS.md).
    src.unnumbered = f"(SELECT * FROM {scan})"
    if not bare_cr:
        src.line_bound = max(lines - (1 if reader.header else 0), 0)
    return src


def _count_lines(path: Path) -> tuple[int, bool]:
    """(lines, whether any line ends in a bare CR), in one pass over the file's bytes.

    A last line without a newline counts. NumPy counts the newlines of each 4 MB block; the
    CRs are looked for with `find` and counted only in the rare files that have any."""
    lf = cr = crlf = 0
    last = -1  # no byte yet
    buf = bytearray(1 << 22)
    view = np.frombuffer(buf, np.uint8)
    with open(path, "rb", buffering=0) as fh:
        while n := fh.readinto(buf):
            block = view[:n]
            lf += int(np.count_nonzero(block == 10))
            if last == 13 or buf.find(b"\r", 0, n) >= 0:
                is_cr = block == 13
                cr += int(np.count_nonzero(is_cr))
                crlf += int(np.count_nonzero(is_cr[:-1] & (block[1:] == 10)))
                crlf += int(last == 13 and block[0] == 10)  # a CRLF split between blocks
            last = int(block[-1])
    lines = lf + (1 if last not in (-1, 10) else 0)
    return lines, cr != crlf


def _header(path: Path, delim: str, encoding: str) -> list[str]:
    # Undecodable bytes further down are rows for quarantine, not a reason to refuse the file:
    # decode leniently and look only at the header for them.
    try:
        with open(path, encoding=encoding, errors="surrogateescape", newline="") as fh:
            row = next(csv.reader(fh, delimiter=delim), None)
    except LookupError:
        raise IngestError(f"{path}: unknown encoding {encoding!r}") from None
    if row and any("\udc80" <= ch <= "\udcff" for name in row for ch in name):
        raise IngestError(
            f"{path}: line 1: the header is not valid {encoding}; "
            f"pass --encoding {_likely_encoding(path)} (or the file's real encoding)"
        )
    if not row:
        raise IngestError(f"{path}: the file is empty; expected a header line")
    names = [c.strip().lstrip("\ufeff") for c in row]
    # An unnamed column (a pandas index, say) still needs a name to be read.
    return [n or f"column{i}" for i, n in enumerate(names)]


def _likely_encoding(path: Path) -> str:
    """The encoding to suggest for a file that is not valid UTF-8: UTF-16 when it starts with
    that encoding's byte-order mark (spreadsheet programs write it), else latin-1."""
    with open(path, "rb") as fh:
        start = fh.read(2)
    return "utf-16" if start in (b"\xff\xfe", b"\xfe\xff") else "latin-1"


def _reject_reason(etype: str, msg: str) -> str:
    if etype == "INVALID ENCODING":
        return "invalid characters for the file's encoding (pass --encoding latin-1?)"
    if etype in ("MISSING COLUMNS", "TOO MANY COLUMNS"):
        numbers = re.findall(r"\d+", msg)
        if len(numbers) >= 2:
            return f"wrong number of columns: expected {numbers[0]}, found {numbers[1]}"
        return f"{etype.lower()}: {msg}"
    if etype == "UNQUOTED VALUE" or "quote" in msg.lower():
        return "unterminated or stray quote"
    return f"{etype.lower()}: {msg}"


def collect_rejects(con: duckdb.DuckDBPyConnection, src: Source, rows: int) -> None:
    """After the first scan: read the CSV rejects and map record numbers to line numbers."""
    if src.rejects_table is None:
        return
    first_scan = f"(SELECT min(scan_id) FROM {src.rejects_table})"
    # DuckDB may report several errors for one line; keep the first of each line. Its `line`
    # counts records (a quoted newline does not start a line, a bare CR does), so it is turned
    # into the file's own line number below.
    found = [
        Reject(
            int(line), _reject_reason(etype, msg), (csv_line or "").lstrip("\r\n"),
            column if etype == "INVALID ENCODING" else None,
        )
        for line, etype, csv_line, msg, column in con.execute(
            f"SELECT line, first(error_type ORDER BY column_idx), first(csv_line), "
            f"first(error_message ORDER BY column_idx), first(column_name ORDER BY column_idx) "
            f"FROM {src.rejects_table} WHERE scan_id = {first_scan} GROUP BY line ORDER BY line"
        ).fetchall()
    ]
    delim, encoding, header = src.csv_options
    lines = _map_lines(src, delim, encoding, header, rows, {r.line for r in found})
    # Pieces of one record split by bare CRs share a line: one broken record, one reject.
    seen: set[int] = set()
    for r in found:
        r.line = lines.get(r.line, r.line)
        if r.line not in seen:
            seen.add(r.line)
            src.rejects.append(r)


def _map_lines(
    src: Source, delim: str, encoding: str, header: bool, rows: int, rejected: set[int]
) -> dict[int, int]:
    """Where a record spans several lines (quoted newlines) or lines were rejected, record
    numbers and line numbers differ; walk the file once with Python's csv to map them.

    Python's csv yields one row per DuckDB "line" (blank ones included), so the rows with the
    numbers in `rejected` are the rejected ones; returns their line numbers in the file."""
    with open(src.path, "rb") as fh:
        newlines = sum(chunk.count(b"\n") for chunk in iter(lambda: fh.read(1 << 20), b""))
    expected = rows + (1 if header else 0)
    if not rejected and newlines in (expected, expected - 1):
        return {}
    consumed = 0  # newlines in the text the csv reader has taken so far

    def counted(fh: TextIO) -> Iterator[str]:
        nonlocal consumed
        for text in fh:
            consumed += text.count("\n")
            yield text

    found: dict[int, int] = {}
    record = 0
    with open(src.path, encoding=encoding, errors="replace", newline="") as decoded:
        start = 1
        for number, row in enumerate(csv.reader(counted(decoded), delimiter=delim), start=1):
            if number in rejected:
                found[number] = start
            elif row and not (header and number == 1):
                record += 1
                src.line_of[record] = start
            start = consumed + 1
    return found


def _parquet(con: duckdb.DuckDBPyConnection, path: Path) -> Source:
    rel = (
        "(SELECT file_row_number + 1 AS _row, * EXCLUDE (file_row_number) "
        f"FROM read_parquet({lit(str(path))}, file_row_number=true))"
    )
    src = Source(path, rel, _describe(con, rel, path), first_line=1)
    src.reader = "parquet"
    return src


def record_bound(con: duckdb.DuckDBPyConnection, src: Source) -> int | None:
    """At most how many records the file holds, known without parsing it: the row count in a
    Parquet footer, or the lines of a CSV after its header (a record takes at least one line).
    None where no such bound is cheap or certain (other readers, CSVs with bare CRs)."""
    if src.reader == "parquet":
        row = con.execute(
            f"SELECT sum(num_rows) FROM parquet_file_metadata({lit(str(src.path))})"
        ).fetchall()
        return int(row[0][0]) if row and row[0][0] is not None else None
    return src.line_bound


def _jsonl(con: duckdb.DuckDBPyConnection, path: Path) -> Source:
    # DuckDB gives one row per non-blank line, a row of NULLs where a line is not valid JSON:
    # Python finds those lines, and their rows are left out of the relation.
    rejects: list[Reject] = []
    line_of: dict[int, int] = {}
    bad_records: list[int] = []
    record = 0
    with open(path, encoding="utf-8", errors="replace", newline="\n") as fh:
        for n, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            record += 1
            if record != n:
                line_of[record] = n
            try:
                if not isinstance(json.loads(line), dict):
                    rejects.append(Reject(n, "not a JSON object", line[:200]))
                    bad_records.append(record)
            except json.JSONDecodeError as exc:
                rejects.append(Reject(n, f"invalid JSON: {exc.msg}", line[:200]))
                bad_records.append(record)
    rel = (
        f"(SELECT row_number() OVER () AS _row, * FROM read_json({lit(str(path))}, "
        "format='newline_delimited', records=true, ignore_errors=true))"
    )
    if bad_records:
        rel = f"(SELECT * FROM {rel} WHERE _row NOT IN ({', '.join(map(str, bad_records))}))"
    src = Source(path, rel, _describe(con, rel, path), first_line=1, rejects=rejects)
    src.line_of = line_of
    return src


def _whitespace(con: duckdb.DuckDBPyConnection, mapping: Mapping, path: Path) -> Source:
    """Columns separated by runs of spaces (CDNOW); the layout is chosen by the column count."""
    with open(path, encoding="utf-8", errors="replace") as fh:
        first = fh.readline().split()
        skip = 0
        if first and not first[0].replace(".", "").isdigit():
            skip, first = 1, fh.readline().split()
    layouts = mapping.reader.layouts
    names = layouts.get(len(first))
    if names is None:
        raise IngestError(
            f"{path}: line {skip + 1}: {len(first)} columns; this format expects "
            + " or ".join(f"{n} ({', '.join(c)})" for n, c in layouts.items())
        )
    parts = ", ".join(f"_p[{i + 1}] AS {quote(c)}" for i, c in enumerate(names))
    scan = (
        f"read_csv({lit(str(path))}, header=false, delim='\\x01', quote='', escape='', "
        f"columns={{'_line': 'VARCHAR'}}, auto_detect=false, skip={skip})"
    )
    rel = (
        f"(SELECT _row, {parts}, len(_p) AS _ncols, array_to_string(_p, ' ') AS _text FROM "
        f"(SELECT row_number() OVER () AS _row, "
        f"string_split_regex(trim(_line), '\\s+') AS _p FROM {scan} WHERE trim(_line) <> ''))"
    )
    src = Source(path, rel, _describe(con, rel, path), first_line=skip + 1)
    src.columns.pop("_ncols", None)
    src.columns.pop("_text", None)
    src.source_name = mapping.reader.layout_sources.get(len(names))
    bad = con.execute(
        f"SELECT _row, _ncols, _text FROM {rel} WHERE _ncols <> {len(names)}"
    ).fetchall()
    for row, n, text in bad:
        src.rejects.append(Reject(src.line(row), f"{n} columns, expected {len(names)}", text))
    if bad:
        src.relation = (
            f"(SELECT * EXCLUDE (_ncols, _text) FROM {rel} WHERE _ncols = {len(names)})"
        )
    else:
        src.relation = f"(SELECT * EXCLUDE (_ncols, _text) FROM {rel})"
    return src


def _check_columns(mapping: Mapping, src: Source, *, given_source: str | None = None) -> None:
    present = set(src.columns)
    missing = [
        c for c in mapping.required_columns
        if c not in present and not (c == "source" and given_source)
    ]
    if not missing:
        return
    hint = ""
    if len(src.columns) == 1:
        only = next(iter(src.columns))
        for d, name in ((";", "semicolon"), ("\t", "tab"), ("|", "pipe"), (",", "comma")):
            if d in only and d != mapping.reader.delimiter:
                hint = (f" The header looks {name}-separated; this format expects "
                        f"{mapping.reader.delimiter!r}.")
    raise IngestError(
        f"{src.path}: missing required columns {missing} for format {mapping.format}. "
        f"Found columns: {sorted(present)[:30]}.{hint}"
    )
