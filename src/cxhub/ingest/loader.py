"""Load one file as one batch: read, validate, quarantine the bad rows, insert the new ones.

The whole batch is one transaction on the writer's connection: a process killed midway leaves
all of the batch or none of it. Loading the same file again inserts nothing and quarantines
nothing new.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from cxhub.domain.errors import IngestError, WarehouseUnavailableError
from cxhub.ingest.compile import CompiledField, cleaned, compile_fields
from cxhub.ingest.derive import run_steps
from cxhub.ingest.mapping import Mapping
from cxhub.ingest.readers import Source, collect_rejects, open_source, record_bound
from cxhub.ingest.upsert import insert_new, next_batch_id
from cxhub.warehouse import Warehouse
from cxhub.warehouse.schema import literal as lit
from cxhub.warehouse.schema import quote
from cxhub.warehouse.writer import disk_reason, refused_by_disk

Phase = Callable[[str], None]
_EXAMPLES = 5


@dataclass
class FileResult:
    """What happened to one file; printed by the CLI and returned as JSON with --json."""

    path: str
    format: str
    kind: str
    source: str
    batch_id: int
    rows_read: int = 0
    loaded: int = 0
    existing: int = 0
    quarantined: int = 0
    reasons: dict[str, int] = field(default_factory=dict)
    examples: list[str] = field(default_factory=list)
    seconds: float = 0.0
    # Ids the file gives to more than one record with different values: only the first record
    # of each is loaded. How many, and a few as "file:line id=...: also on lines ...".
    repeated_ids: int = 0
    repeated_examples: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def ingest_file(
    wh: Warehouse,
    mapping: Mapping,
    path: Path,
    *,
    source: str | None = None,
    encoding: str | None = None,
    on_phase: Phase | None = None,
) -> FileResult:
    """Load `path` with `mapping` through the warehouse's writer. Raises IngestError when the
    file cannot be read at all; bad rows never raise, they are quarantined."""

    def job(con: duckdb.DuckDBPyConnection) -> FileResult:
        return _load(con, mapping, path, source, encoding, on_phase or (lambda _: None))

    return wh.writer.run(job, groupable=False)


def _load(
    con: duckdb.DuckDBPyConnection,
    mapping: Mapping,
    path: Path,
    source: str | None,
    encoding: str | None,
    phase: Phase,
) -> FileResult:
    started = datetime.now(UTC).replace(tzinfo=None)
    phase("reading")
    src = open_source(con, mapping, path, encoding=encoding, source=source)
    try:
        result = _load_source(con, mapping, src, source, started, phase)
    except duckdb.Error as exc:
        # The writer rolls the batch back; say which file failed and why. A full or read-only
        # disk is the warehouse's fault, not the file's: DuckDB's words name the warehouse.
        first = str(exc).strip().splitlines()[0]
        if refused_by_disk(exc, None):
            raise WarehouseUnavailableError(
                f"{path}: not loaded, the warehouse could not be written: {first}",
                reason=disk_reason(exc)) from exc
        raise IngestError(f"{path}: cannot be read: {first}") from exc
    for table in src.cleanup:
        con.execute(f"DROP TABLE IF EXISTS {table}")
    return result


def _load_source(
    con: duckdb.DuckDBPyConnection,
    mapping: Mapping,
    src: Source,
    source: str | None,
    started: datetime,
    phase: Phase,
) -> FileResult:
    src_name = source or src.source_name or mapping.source
    fields = compile_fields(mapping, src.columns, source=src_name)
    batch_id = next_batch_id(con)
    kind = mapping.kind
    result = FileResult(
        str(src.path), mapping.format, kind.table, src_name or "(from file)", batch_id
    )
    checked = _checked_sql(cleaned(src.relation, src.columns), fields)
    bad = _bad_condition(fields)

    # Insert first: when every record the file can hold went in, none was bad, repeated or
    # already present, and the validation pass (a second read of the whole file) is skipped.
    # Otherwise that pass finds the bad rows as before; they were not inserted either way.
    # The insert reads the parallel scan where there is one; the validation pass, which needs
    # the record numbers for its messages, reads the numbered one.
    phase("writing")
    columns = [f.name for f in fields]
    parallel = src.unnumbered is not None and not any(f.ordered for f in fields)
    relation = cleaned(src.relation, src.columns)
    if parallel:
        assert src.unnumbered is not None
        relation = cleaned(src.unnumbered, src.columns, numbered=False)
    with _bounded_memory(con, src.path):
        inserted = insert_new(
            con, kind, _good_rows(relation, fields), columns, batch_id=batch_id,
            row_number=None if parallel else "_row", source=src_name,
        )
    result.loaded = inserted.count
    if inserted.repeated:
        result.repeated_ids = len(inserted.repeated)
        result.repeated_examples = _repeated_examples(
            con, src, _good_rows(cleaned(src.relation, src.columns), fields), inserted.repeated)
    bad_rows: list[tuple[int, str, str | None, str]]
    if result.loaded and result.loaded == record_bound(con, src):
        total, bad_rows = result.loaded, []
    else:
        phase("validating")
        total, bad_rows = _scan(con, checked, bad, fields)
        collect_rejects(con, src, total)
    result.rows_read = total + len(src.rejects)

    phase("quarantining")
    entries = _quarantine_entries(con, src, bad_rows)
    result.quarantined = len({e[0] for e in entries})
    reasons = Counter(f"{e[1] or 'row'}: {e[3]}" for e in entries)
    result.reasons = dict(reasons.most_common(10))
    result.examples = [
        f"{src.path}:{line} {fld or 'row'}={_short(val)!s}: {why}"
        for line, fld, val, why, _ in entries[:_EXAMPLES]
    ]
    _store_quarantine(con, batch_id, kind.table, src_name or "", src.path, entries)

    result.existing = max(total - len({r[0] for r in bad_rows}) - result.loaded, 0)
    for s in _sources_in_batch(con, kind.table, batch_id, src_name):
        run_steps(con, kind.table, mapping.derive, batch_id, s)
    finished = datetime.now(UTC).replace(tzinfo=None)
    result.seconds = round((finished - started).total_seconds(), 3)
    con.execute(
        "INSERT INTO ingest_batches VALUES (?, ?, ?, ?, ?, ?, ?, 'loaded', ?, ?, ?, ?)",
        [
            batch_id, mapping.format, kind.table, src_name, str(src.path.resolve()), started,
            finished, result.rows_read, result.loaded, result.existing, result.quarantined,
        ],
    )
    return result


_BIG_FILE = 256 << 20
_LOAD_MEMORY = "1GB"


@contextmanager
def _bounded_memory(con: duckdb.DuckDBPyConnection, path: Path) -> Iterator[None]:
    """For the insert of a large file, DuckDB's memory limit is 1 GB (then restored). An insert
    that keeps the records' order holds what the threads read ahead of the slowest one; with
    the default limit (most of the machine's memory) a load of 10 million CSV records took
    3 GB on a busy machine, and within this limit 1.1 GB, as fast."""
    if path.stat().st_size < _BIG_FILE:
        yield
        return
    row = con.execute("SELECT current_setting('memory_limit')").fetchone()
    before = str(row[0]) if row else None
    con.execute(f"SET memory_limit = '{_LOAD_MEMORY}'")
    try:
        yield
    finally:
        if before:
            con.execute(f"SET memory_limit = {lit(before)}")


def _checked_sql(relation: str, fields: list[CompiledField]) -> str:
    """Each field's value and raw text, and its check, over `relation` (from `cleaned()`).

    Where the raw text is the value itself (text fields), it is the same column, not the same
    expression computed twice."""
    checks = ", ".join(f"{f.check} AS {quote('_chk_' + f.name)}" for f in fields if f.check)
    return f"SELECT *{', ' + checks if checks else ''} FROM ({_values_sql(relation, fields)})"


def _values_sql(relation: str, fields: list[CompiledField]) -> str:
    inner = ", ".join(
        f"{f.value} AS {quote(f.name)}"
        + (f", {f.raw} AS {f.raw_column}" if f.raw != f.value else "")
        for f in fields
    )
    sql = f"SELECT _row, {inner} FROM {relation}"
    same = ", ".join(f"{quote(f.name)} AS {f.raw_column}" for f in fields if f.raw == f.value)
    return f"SELECT *, {same} FROM ({sql})" if same else sql


def _bad_condition(fields: list[CompiledField]) -> str:
    """Over `_checked_sql`: whether any check of the row failed (its reason is not NULL)."""
    names = [quote("_chk_" + f.name) for f in fields if f.check]
    if not names:
        return "false"
    return f"coalesce({', '.join(names)}) IS NOT NULL"


def _good_rows(relation: str, fields: list[CompiledField]) -> str:
    """The rows of `relation` that pass every check, with their values: what the insert takes.

    The same checks as `_checked_sql`, as one condition: a row is bad when any check holds
    (TRUE; NULL is not a failure, as in the CASE), and no reason string is made for rows
    that only need to be let through."""
    sql = _values_sql(relation, fields)
    failing = [f.failing for f in fields if f.failing]
    if not failing:
        return sql
    return f"SELECT * FROM ({sql}) WHERE ({' OR '.join(failing)}) IS NOT TRUE"


def _scan(
    con: duckdb.DuckDBPyConnection, checked: str, bad: str, fields: list[CompiledField]
) -> tuple[int, list[tuple[int, str, str | None, str]]]:
    """One pass: count the rows and list (record, field, raw value, reason) of the bad ones.

    Every column is touched: DuckDB decodes (and rejects) only the columns a query reads, and a
    row it rejects later, in the insert, would be lost without a trace."""
    touch = "max(hash(" + ", ".join(
        f"{quote(f.name)}, {f.raw_column}" for f in fields
    ) + "))"
    structs = ", ".join(
        f"struct_pack(f := {lit(f.name)}, v := {f.raw_column}::VARCHAR, "
        f"r := {quote('_chk_' + f.name)})"
        for f in fields
        if f.check
    )
    if not structs:
        row = con.execute(f"SELECT count(*), {touch} FROM ({checked})").fetchone()
        return (int(row[0]) if row else 0), []
    row = con.execute(
        f"SELECT count(*), list(struct_pack(n := _row, e := list_filter([{structs}], lambda x: "
        f"x.r IS NOT NULL))) FILTER (WHERE {bad}), {touch} FROM ({checked})"
    ).fetchone()
    assert row is not None
    bad_rows = []
    for item in row[1] or []:
        for err in item["e"]:
            bad_rows.append((int(item["n"]), err["f"], err["v"], err["r"]))
    return int(row[0]), bad_rows


def _quarantine_entries(
    con: duckdb.DuckDBPyConnection, src: Source, bad_rows: list[tuple[int, str, str | None, str]]
) -> list[tuple[int, str | None, str | None, str, str]]:
    """(line, field, value, reason, record JSON) for every bad row and every rejected line."""
    records: dict[int, str] = {}
    wanted = sorted({r[0] for r in bad_rows})
    for start in range(0, len(wanted), 50_000):
        chunk = wanted[start : start + 50_000]
        for n, rec in con.execute(
            f"SELECT _row, to_json(s)::VARCHAR FROM {src.relation} s "
            f"WHERE _row IN (SELECT unnest(?::BIGINT[]))",
            [chunk],
        ).fetchall():
            records[int(n)] = rec
    entries: list[tuple[int, str | None, str | None, str, str]] = [
        (src.line(n), fld, val, why, records.get(n, "{}")) for n, fld, val, why in bad_rows
    ]
    entries += [(r.line, r.column, r.text[:500], r.reason, json.dumps({"line": r.text[:2000]}))
                for r in src.rejects]
    entries.sort(key=lambda e: e[0])
    return entries


def _store_quarantine(
    con: duckdb.DuckDBPyConnection,
    batch_id: int,
    kind: str,
    source: str,
    path: Path,
    entries: list[tuple[int, str | None, str | None, str, str]],
) -> None:
    """Keep each bad row once: the same file loaded again adds nothing new."""
    if not entries:
        return
    file = str(path.resolve())
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _q (line BIGINT, field VARCHAR, value VARCHAR, "
        "reason VARCHAR, record VARCHAR)"
    )
    con.executemany("INSERT INTO _q VALUES (?, ?, ?, ?, ?)", [list(e) for e in entries])
    con.execute(
        "INSERT INTO quarantine (batch_id, kind, source, file, line, field, value, reason, record) "
        "SELECT ?, ?, ?, ?, q.line, q.field, q.value, q.reason, q.record FROM _q q "
        "WHERE NOT EXISTS (SELECT 1 FROM quarantine x WHERE x.kind = ? AND x.source = ? "
        "AND x.file = ? AND x.line = q.line AND x.field IS NOT DISTINCT FROM q.field "
        "AND x.reason = q.reason)",
        [batch_id, kind, source, file, kind, source, file],
    )
    con.execute("DROP TABLE _q")


def _repeated_examples(con: duckdb.DuckDBPyConnection, src: Source, rows_sql: str,
                       keys: list[tuple[str, str]]) -> list[str]:
    """Where the file gives one id to records that differ, for the first few such ids."""
    shown = keys[:_EXAMPLES]
    found = con.execute(
        f"SELECT source, external_id, list(_row ORDER BY _row) FROM ({rows_sql}) r SEMI JOIN "
        "(SELECT unnest(?::VARCHAR[]) AS source, unnest(?::VARCHAR[]) AS external_id) k "
        "USING (source, external_id) GROUP BY ALL",
        [[k[0] for k in shown], [k[1] for k in shown]],
    ).fetchall()
    rows = {(s, e): r for s, e, r in found}
    out = []
    for key in shown:
        lines = [src.line(int(n)) for n in rows.get(key, [])]
        if lines:
            also = ", ".join(str(n) for n in lines[1:6]) + (" ..." if len(lines) > 6 else "")
            out.append(f"{src.path}:{lines[0]} id={_short(key[1])} (source {key[0]}): the same "
                       f"id with different values on line{'s' if len(lines) > 2 else ''} {also}; "
                       f"only line {lines[0]} loaded")
    return out


def _sources_in_batch(
    con: duckdb.DuckDBPyConnection, table: str, batch_id: int, src_name: str | None
) -> list[str]:
    if src_name:
        return [src_name]
    return [r[0] for r in con.execute(
        f"SELECT DISTINCT source FROM {table} WHERE batch_id = ?", [batch_id]
    ).fetchall()]


def _short(value: str | None) -> str:
    if value is None:
        return "(empty)"
    return value if len(value) <= 40 else value[:37] + "..."
