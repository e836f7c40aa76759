"""Compile a mapping into SQL: for each canonical field, a value expression and a check.

The value expression parses the raw column into the canonical type; the check yields NULL when
the value is good and otherwise a short reason ("not a valid date (expected %Y/%m/%d)",
"in the future", "negative duration" ...). Both run inside DuckDB, so validation costs one
vectorised pass over the file, not a Python loop per row.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cxhub.domain import plausibility as plausible
from cxhub.domain.canonical import FieldType
from cxhub.ingest.mapping import FieldSpec, Mapping
from cxhub.warehouse.schema import SQL_TYPES, quote
from cxhub.warehouse.schema import literal as lit

_TRUE = ("yes", "y", "true", "t", "1")
_FALSE = ("no", "n", "false", "f", "0")
# Scores per survey type: a CSAT of 9 is an error, an NPS of 9 is not.
_SURVEY_RANGES = {"csat": (1, 5), "nps": (0, 10), "ces": (1, 7)}
_ISO_FORMATS = "['%Y-%m-%d %H:%M:%S', '%Y-%m-%dT%H:%M:%S']"
_LIFECYCLE = ("queued_at", "answered_at", "first_response_at", "resolved_at", "abandoned_at")


@dataclass
class CompiledField:
    """`value` and `raw` are SQL over the file's relation; `checks` are (condition, reason)
    pairs of SQL over the compiled columns (`"name"` and its raw text `"_raw_name"`): the
    first condition that holds gives the reason."""

    name: str
    value: str
    raw: str
    checks: list[tuple[str, str]] = field(default_factory=list)
    ordered: bool = False  # the value depends on the records' order (`_row`)

    @property
    def raw_column(self) -> str:
        return quote("_raw_" + self.name)

    @property
    def check(self) -> str | None:
        if not self.checks:
            return None
        return "(CASE " + " ".join(f"WHEN {c} THEN {r}" for c, r in self.checks) + " END)"

    @property
    def failing(self) -> str | None:
        """True when a check fails, NULL or false otherwise: cheaper than `check` where only
        that matters (no reason strings, no CASE)."""
        if not self.checks:
            return None
        return " OR ".join(f"({c})" for c, _ in self.checks)


def compile_fields(
    mapping: Mapping, columns: dict[str, str], *, source: str | None
) -> list[CompiledField]:
    out: list[CompiledField] = []
    values: dict[str, str] = {}
    for spec in mapping.fields:
        if spec.name == "source" and source:
            out.append(CompiledField("source", lit(source), lit(source)))
            continue
        cf = _field(spec, mapping, columns, values)
        values[spec.name] = cf.value
        out.append(cf)
    names = {f.name for f in out}
    if "source" not in names:
        out.insert(0, CompiledField("source", lit(source or ""), lit(source or "")))
    attrs = _attributes(mapping, columns)
    if attrs and "attributes" not in names:
        out.append(CompiledField("attributes", attrs, "NULL"))
    _add_record_checks(mapping, out)
    return out


def cleaned(relation: str, columns: dict[str, str], *, numbered: bool = True) -> str:
    """`relation` with each text column trimmed and '' made NULL: the fields' expressions read
    these columns, so a column that several expressions use is trimmed once.

    `numbered`: the relation has `_row`; without it (the parallel CSV scan) `_row` is 0."""
    cols = ", ".join(
        f"{_trimmed(quote(c))} AS {quote(c)}" if t == "VARCHAR" else quote(c)
        for c, t in columns.items()
    )
    return f"(SELECT {'_row' if numbered else '0::BIGINT AS _row'}, {cols} FROM {relation})"


def _trimmed(c: str) -> str:
    # DuckDB's trim() copies every string; most values have nothing to trim. It removes spaces
    # and Unicode spaces only (never tabs), so a value that neither starts nor ends with a
    # space and holds no non-ASCII character is kept as it is.
    return (
        f"nullif(CASE WHEN prefix({c}, ' ') OR suffix({c}, ' ') OR strlen({c}) <> length({c}) "
        f"THEN trim({c}) ELSE {c} END, '')"
    )


def _one_of(value: str, listed: str) -> str:
    """`value IN (listed)`, NULL for a NULL value as IN gives. Not written as IN: DuckDB turns
    a longer IN list (and list_contains) into a join, which in an insert loses the order of
    the records (see upsert.insert_new); list_position it leaves alone."""
    found = f"list_position([{listed}], {value}) IS NOT NULL"
    return f"(CASE WHEN {value} IS NULL THEN NULL ELSE {found} END)"


def _raw(col: str, columns: dict[str, str], nulls: tuple[str, ...]) -> str:
    """The column's value as the file gives it: over `cleaned()`, so already trimmed."""
    c = quote(col)
    if columns.get(col, "VARCHAR") != "VARCHAR":
        return c
    listed = ", ".join(lit(v) for v in nulls if v != "")
    if listed:
        return f"(CASE WHEN {_one_of(c, listed)} THEN NULL ELSE {c} END)"
    return c


def _field(
    spec: FieldSpec, mapping: Mapping, columns: dict[str, str], values: dict[str, str]
) -> CompiledField:
    nulls = mapping.null_values + spec.null_values
    if spec.value is not None:
        v = spec.value
        value = lit(str(v).lower() if isinstance(v, bool) else v)
        return CompiledField(spec.name, _cast_const(value, spec.type), value)
    if spec.occurrence_of:
        keys = ", ".join(_raw(c, columns, nulls) for c in spec.occurrence_of)
        value = (
            f"concat_ws('|', {keys}, row_number() OVER "
            f"(PARTITION BY {keys} ORDER BY _row)::VARCHAR)"
        )
        return CompiledField(spec.name, value, value, ordered=True)
    data_columns = (spec.column,) if spec.column else spec.columns
    if data_columns and not any(c in columns for c in data_columns):
        # An optional column the file does not have (required ones were checked on opening):
        # the field stays empty rather than failing the file.
        return CompiledField(spec.name, f"CAST(NULL AS {SQL_TYPES[spec.type]})", "NULL")
    if spec.columns and spec.type == FieldType.JSON:
        pairs = ", ".join(f"{lit(c)}, {_raw(c, columns, nulls)}" for c in spec.columns)
        return CompiledField(spec.name, f"json_object({pairs})", "NULL")
    if spec.columns:
        parts = ", ".join(_raw(c, columns, nulls) for c in spec.columns)
        raw = f"nullif(concat_ws({lit(spec.separator)}, {parts}), '')"
        src_type = "VARCHAR"
    else:
        assert spec.column is not None
        raw = _raw(spec.column, columns, nulls)
        src_type = columns.get(spec.column, "VARCHAR")
    if spec.time_column:
        times = [_raw(c, columns, nulls) for c in (spec.time_column, *spec.time_fallbacks)
                 if c in columns or c == spec.time_column]
        time = times[0] if len(times) == 1 else f"coalesce({', '.join(times)})"
        raw = f"({raw} || ' ' || {time})"
    value = _convert(spec, raw, src_type)
    if spec.rollover_after and spec.rollover_after in values:
        other = values[spec.rollover_after]
        # Next day only when that is nearer: clocks of two systems (VRU and queue) disagree by
        # a minute or so, and that must not move a call by a day.
        value = (
            f"(CASE WHEN {value} < {other} - INTERVAL 12 HOUR "
            f"THEN {value} + INTERVAL 1 DAY ELSE {value} END)"
        )
    # A typed column (Parquet, JSON) stays typed: the checks only ask whether it is empty, and
    # the validation pass turns it into text for quarantine messages. Casting every value of a
    # dozen typed columns to text, row after row, cost a third of a Parquet load.
    raw_text = raw
    if spec.only_if:
        col, allowed = spec.only_if
        cond = _one_of(_raw(col, columns, nulls), ", ".join(lit(a) for a in allowed))
        value = f"(CASE WHEN {cond} THEN {value} END)"
        raw_text = f"(CASE WHEN {cond} THEN {raw_text} END)"
    if spec.if_invalid == "empty":
        # A value that does not parse, or a date out of the plausible range, is left empty and
        # the rest of the row loads (a birth date of 31 February says nothing about the name).
        if spec.type in (FieldType.DATE, FieldType.TIMESTAMP):
            value = (
                f"(CASE WHEN {value} > current_timestamp::TIMESTAMP + INTERVAL 1 DAY "
                f"OR {value} < DATE '{plausible.EARLIEST_DATE}' THEN NULL ELSE {value} END)"
            )
        cf = CompiledField(spec.name, value, raw_text)
        if spec.required:
            cf.checks.append((f"{cf.raw_column} IS NULL", "'missing value'"))
        return cf
    cf = CompiledField(spec.name, value, raw_text)
    cf.checks = _checks(spec, cf)
    return cf



def _cast_const(value: str, ftype: FieldType) -> str:
    if ftype in (FieldType.TEXT, FieldType.JSON):
        return value
    return f"CAST({value} AS {SQL_TYPES[ftype]})"


def _convert(spec: FieldSpec, raw: str, src_type: str) -> str:
    t = spec.type
    if spec.map is not None:
        whens = " ".join(f"WHEN {lit(k)} THEN {lit(v)}" for k, v in spec.map.items())
        default = lit(spec.default) if spec.default is not None else "NULL"
        return f"(CASE lower({raw}) {whens} ELSE {default} END)"
    if src_type != "VARCHAR":
        if t == FieldType.TEXT:
            return f"CAST({raw} AS VARCHAR)"
        return f"TRY_CAST({raw} AS {SQL_TYPES[t]})"
    if t == FieldType.TEXT:
        return f"({lit(spec.prefix)} || {raw})" if spec.prefix else raw
    if t == FieldType.INT:
        return f"TRY_CAST({raw} AS BIGINT)"
    if t in (FieldType.FLOAT, FieldType.DURATION):
        return f"TRY_CAST({raw} AS DOUBLE)"
    if t == FieldType.BOOL:
        # DuckDB's cast accepts exactly _TRUE and _FALSE, in any case (tests/warehouse check it).
        return f"TRY_CAST({raw} AS BOOLEAN)"
    if t == FieldType.JSON:
        return f"TRY_CAST({raw} AS JSON)"
    fmt = spec.format
    if spec.time_column and fmt:
        fmt = fmt + " %H:%M:%S"
    if t == FieldType.DATE:
        if fmt:
            return f"CAST(TRY_STRPTIME({raw}, {lit(fmt)}) AS DATE)"
        return f"TRY_CAST({raw} AS DATE)"
    if fmt:
        return f"CAST(TRY_STRPTIME({raw}, {lit(fmt)}) AS TIMESTAMP)"
    # Most files write times as ISO 8601 without an offset: parsed with that exact format they
    # cost a third of the general cast, which reads offsets and zone names (and converts them
    # to UTC). A value the fast formats do not match in full goes through the general cast.
    return (
        f"coalesce(TRY_STRPTIME({raw}, {_ISO_FORMATS}), "
        f"CAST(TRY_CAST({raw} AS TIMESTAMPTZ) AS TIMESTAMP))"
    )


def _checks(spec: FieldSpec, cf: CompiledField) -> list[tuple[str, str]]:
    t, v, r = spec.type, quote(spec.name), cf.raw_column
    whens = []
    if spec.required:
        whens.append((f"{r} IS NULL", "'missing value'"))
    if spec.map is not None and spec.default is None:
        allowed = ", ".join(sorted(set(spec.map)))
        reason = lit("unknown value; expected one of: " + allowed)
        whens.append((f"{r} IS NOT NULL AND {v} IS NULL", reason))
    elif t != FieldType.TEXT and spec.map is None:
        expected = f" (expected {spec.format})" if spec.format else ""
        reason = lit(f"not a valid {t.value}{expected}")
        whens.append((f"{r} IS NOT NULL AND {v} IS NULL", reason))
    if t in (FieldType.DATE, FieldType.TIMESTAMP):
        if not spec.planned:  # a time known in advance (a campaign's end) may be future
            whens.append((f"{v} > current_timestamp::TIMESTAMP + INTERVAL 1 DAY",
                          "'in the future'"))
        whens.append((f"{v} < DATE '{plausible.EARLIEST_DATE}'", lit(plausible.EARLIEST_TEXT)))
    if t in (FieldType.FLOAT, FieldType.DURATION):
        whens.append((f"NOT isfinite({v})", lit(plausible.NOT_FINITE_TEXT)))
    if t == FieldType.DURATION:
        whens.append((f"{v} < 0", lit(plausible.NEGATIVE_TEXT)))
        whens.append((f"{v} > {plausible.MAX_DURATION_SECONDS}", lit(plausible.TOO_LONG_TEXT)))
    return whens


def _attributes(mapping: Mapping, columns: dict[str, str]) -> str | None:
    if not mapping.extra_columns_to_attributes:
        return None
    used = set(mapping.used_columns) | {"source"}
    extra = [c for c in columns if c not in used and c != "attributes"]
    if not extra:
        if "attributes" in columns:
            return f"TRY_CAST({_raw('attributes', columns, ('',))} AS JSON)"
        return None
    pairs = ", ".join(f"{lit(c)}, {_raw(c, columns, ('',))}" for c in extra)
    return f"json_object({pairs})"


def _add_record_checks(mapping: Mapping, fields: list[CompiledField]) -> None:
    """Checks that involve two fields or the kind's vocabulary: score ranges by survey type,
    lifecycle times not before creation, channels and categories from the known lists."""
    by_name = {f.name: f for f in fields}
    kind = mapping.kind.table
    if kind == "surveys" and "score" in by_name and "survey_type" in by_name:
        for t, (lo, hi) in _SURVEY_RANGES.items():
            by_name["score"].checks.append((
                f"\"survey_type\" = {lit(t)} AND \"score\" NOT BETWEEN {lo} AND {hi}",
                lit(f"out of range for {t} ({lo}-{hi})"),
            ))
    if kind == "contacts" and "created_at" in by_name:
        for name in _LIFECYCLE:
            if name in by_name:
                by_name[name].checks.append((
                    # Tolerance for clock skew between systems (Anonymous Bank logs queue
                    # starts up to about 3 minutes before the VRU entry of the same call).
                    f"{quote(name)} < \"created_at\" - INTERVAL 5 MINUTE",
                    "'before created_at (negative duration)'",
                ))
    for name, f in by_name.items():
        if f.raw == "NULL" or name == "source":
            continue
        try:
            choices = mapping.kind.field(name).choices
        except KeyError:
            continue
        if choices:
            allowed = ", ".join(lit(c) for c in choices)
            f.checks.append(
                (f"NOT {_one_of(quote(name), allowed)}", lit("not one of: " + ", ".join(choices)))
            )
