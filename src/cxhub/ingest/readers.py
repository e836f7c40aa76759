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
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from cxhub.domain.errors import IngestError
from cxhub.ingest.mapping import Mapping
from cxhub.warehouse.schema import quote


@dataclass
class Reject:
    line: int
    reason: str
    text: str


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

    def line(self, record: int) -> int:
        return self.line_of.get(record, record + self.first_line - 1)


def lit(value: str) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def open_source(
    con: duckdb.DuckDBPyConnection, mapping: Mapping, path: Path, *, encoding: str | None = None
) -> Source:
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
    _check_columns(mapping, src)
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
    opts = (
        f"delim={lit(reader.delimiter)}, quote='\"', "
        f"escape='\"', all_varchar=true, encoding={lit(encoding)}, store_rejects=true, "
        f"rejects_table={lit(rejects)}, rejects_scan={lit(rejects + '_scan')}, "
        "null_padding=false, auto_detect=false, strict_mode=false"
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
    return src


def _header(path: Path, delim: str, encoding: str) -> list[str]:
    try:
        with open(path, encoding=encoding, newline="") as fh:
            row = next(csv.reader(fh, delimiter=delim), None)
    except UnicodeDecodeError:
        raise IngestError(
            f"{path}: line 1: the header is not valid {encoding}; "
            "pass --encoding latin-1 (or the file's real encoding)"
        ) from None
    if not row:
        raise IngestError(f"{path}: the file is empty; expected a header line")
    names = [c.strip().lstrip("\ufeff") for c in row]
    # An unnamed column (a pandas index, say) still needs a name to be read.
    return [n or f"column{i}" for i, n in enumerate(names)]


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
    # DuckDB may report several errors for one line; keep the first of each line.
    for line, etype, csv_line, msg in con.execute(
        f"SELECT line, first(error_type ORDER BY column_idx), first(csv_line), "
        f"first(error_message ORDER BY column_idx) FROM {src.rejects_table} "
        f"WHERE scan_id = {first_scan} GROUP BY line ORDER BY line"
    ).fetchall():
        src.rejects.append(Reject(int(line), _reject_reason(etype, msg), csv_line or ""))
    delim, encoding, header = src.csv_options
    _map_lines(src, delim, encoding, header, rows)


def _map_lines(src: Source, delim: str, encoding: str, header: bool, rows: int) -> None:
    """Where a record spans several lines (quoted newlines) or lines were rejected, record
    numbers and line numbers differ; walk the file once with Python's csv to map them."""
    with open(src.path, "rb") as fh:
        newlines = sum(chunk.count(b"\n") for chunk in iter(lambda: fh.read(1 << 20), b""))
    expected = rows + len(src.rejects) + (1 if header else 0)
    if not src.rejects and newlines in (expected, expected - 1):
        return
    rejected = {r.line for r in src.rejects}
    record = 0
    with open(src.path, encoding=encoding, errors="replace", newline="") as fh:
        reader = csv.reader(fh, delimiter=delim)
        start = 1
        for i, _ in enumerate(reader):
            if not (header and i == 0) and start not in rejected:
                record += 1
                src.line_of[record] = start
            start = reader.line_num + 1


def _parquet(con: duckdb.DuckDBPyConnection, path: Path) -> Source:
    rel = (
        "(SELECT file_row_number + 1 AS _row, * EXCLUDE (file_row_number) "
        f"FROM read_parquet({lit(str(path))}, file_row_number=true))"
    )
    return Source(path, rel, _describe(con, rel, path), first_line=1)


def _jsonl(con: duckdb.DuckDBPyConnection, path: Path) -> Source:
    rejects: list[Reject] = []
    with open(path, encoding="utf-8", errors="replace") as fh:
        for n, line in enumerate(fh, start=1):
            if line.strip():
                try:
                    if not isinstance(json.loads(line), dict):
                        rejects.append(Reject(n, "not a JSON object", line[:200]))
                except json.JSONDecodeError as exc:
                    rejects.append(Reject(n, f"invalid JSON: {exc.msg}", line[:200]))
    rel = (
        f"(SELECT row_number() OVER () AS _row, * FROM read_json({lit(str(path))}, "
        "format='newline_delimited', records=true, ignore_errors=true))"
    )
    src = Source(path, rel, _describe(con, rel, path), first_line=1, rejects=rejects)
    if rejects:
        bad = {r.line for r in rejects}
        record = 0
        with open(path, encoding="utf-8", errors="replace") as fh:
            for n, line in enumerate(fh, start=1):
                if line.strip() and n not in bad:
                    record += 1
                    src.line_of[record] = n
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
        f"(SELECT _row, {parts}, len(_p) AS _ncols FROM (SELECT row_number() OVER () AS _row, "
        f"string_split_regex(trim(_line), '\\s+') AS _p FROM {scan} WHERE trim(_line) <> ''))"
    )
    src = Source(path, rel, _describe(con, rel, path), first_line=skip + 1)
    src.columns.pop("_ncols", None)
    src.source_name = mapping.reader.layout_sources.get(len(names))
    bad = con.execute(f"SELECT _row, _ncols FROM {rel} WHERE _ncols <> {len(names)}").fetchall()
    for row, n in bad:
        src.rejects.append(Reject(src.line(row), f"{n} columns, expected {len(names)}", ""))
    if bad:
        src.relation = f"(SELECT * EXCLUDE (_ncols) FROM {rel} WHERE _ncols = {len(names)})"
    else:
        src.relation = f"(SELECT * EXCLUDE (_ncols) FROM {rel})"
    return src


def _check_columns(mapping: Mapping, src: Source) -> None:
    present = set(src.columns)
    missing = [c for c in mapping.required_columns if c not in present]
    if not missing:
        return
    hint = ""
    if len(src.columns) == 1:
        only = next(iter(src.columns))
        for d, name in ((";", "semicolon"), ("\t", "tab"), ("|", "pipe"), (",", "comma")):
            if d in only and d != mapping.reader.delimiter:
                hint = f" The header looks {name}-separated; this format expects {mapping.reader.delimiter!r}."
    raise IngestError(
        f"{src.path}: missing required columns {missing} for format {mapping.format}. "
        f"Found columns: {sorted(present)[:30]}.{hint}"
    )
