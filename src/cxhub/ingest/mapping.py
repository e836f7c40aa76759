"""Declarative mappings: one YAML per source format, from source columns to canonical fields.

A mapping names the record kind it fills, how to read the file, and for each canonical field
where its value comes from. See `docs/mappings.md` for the full reference; the built-in formats
in `mappings/` are the examples.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from cxhub.domain.canonical import RECORD_KINDS, FieldType, RecordKind, record_kind
from cxhub.domain.errors import MappingError

READER_TYPES = ("csv", "whitespace", "parquet", "jsonl")
_FIELD_KEYS = {
    "column", "columns", "separator", "value", "type", "format", "time_column", "rollover_after",
    "map", "default", "only_if", "null_values", "occurrence_of", "prefix", "required",
    "if_invalid",
}
IF_INVALID = ("quarantine", "empty")


@dataclass(frozen=True)
class FieldSpec:
    """Where one canonical field's value comes from, and how it is parsed."""

    name: str
    type: FieldType
    required: bool
    column: str | None = None
    columns: tuple[str, ...] = ()
    separator: str = " "
    value: Any = None
    format: str | None = None
    time_column: str | None = None
    # More time-of-day columns, each used where those before it are empty (`time_column` given
    # as a list: a hang-up's time is when it left the queue, or the voice menu if it never queued).
    time_fallbacks: tuple[str, ...] = ()
    rollover_after: str | None = None
    map: dict[str, str] | None = None
    default: str | None = None
    only_if: tuple[str, tuple[str, ...]] | None = None
    null_values: tuple[str, ...] = ()
    occurrence_of: tuple[str, ...] = ()
    prefix: str = ""
    # "quarantine" (the row waits in quarantine) or "empty" (the row loads without this field).
    if_invalid: str = "quarantine"
    planned: bool = False  # a time known in advance (canonical Field.planned): may be future

    @property
    def source_columns(self) -> tuple[str, ...]:
        cols = list(self.columns)
        for c in (self.column, self.time_column, *self.time_fallbacks):
            if c:
                cols.append(c)
        cols += list(self.occurrence_of)
        if self.only_if:
            cols.append(self.only_if[0])
        return tuple(dict.fromkeys(cols))


@dataclass(frozen=True)
class ReaderSpec:
    type: str = "csv"
    delimiter: str = ","
    header: bool = True
    encoding: str = "utf-8"
    layouts: dict[int, tuple[str, ...]] = field(default_factory=dict)
    layout_sources: dict[int, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Mapping:
    format: str
    kind: RecordKind
    source: str | None
    description: str
    reader: ReaderSpec
    fields: tuple[FieldSpec, ...]
    null_values: tuple[str, ...] = ("",)
    extra_columns_to_attributes: bool = False
    derive: tuple[str, ...] = ()
    source_from_column: bool = False

    @property
    def required_columns(self) -> tuple[str, ...]:
        cols: list[str] = []
        for f in self.fields:
            if f.required:
                cols += f.source_columns
        return tuple(dict.fromkeys(cols))

    @property
    def used_columns(self) -> tuple[str, ...]:
        cols: list[str] = []
        for f in self.fields:
            cols += f.source_columns
        return tuple(dict.fromkeys(cols))


def builtin_formats() -> list[str]:
    names = [p.name[:-5] for p in resources.files("cxhub.ingest.mappings").iterdir()]
    return sorted(n for n in names if not n.startswith("_")) + ["generic"]


def load_mapping(name_or_path: str, *, kind: str | None = None) -> Mapping:
    """A built-in format by name, `generic` (with `kind`), or a user's mapping YAML by path."""
    if name_or_path == "generic":
        if not kind:
            raise MappingError(
                "the generic format needs --kind (one of " + ", ".join(RECORD_KINDS) + ")"
            )
        try:
            return generic_mapping(record_kind(kind))
        except KeyError as exc:
            raise MappingError(f"{exc.args[0]} (give --kind, or name the file after it)") from None
    path = Path(name_or_path)
    if path.suffix in (".yaml", ".yml"):
        if not path.exists():
            raise MappingError(f"mapping file {path} does not exist")
        return parse_mapping(yaml.safe_load(path.read_text(encoding="utf-8")), str(path))
    res = resources.files("cxhub.ingest.mappings").joinpath(f"{name_or_path}.yaml")
    if not res.is_file():
        raise MappingError(
            f"unknown format {name_or_path!r}; built-in formats: {', '.join(builtin_formats())}; "
            "or give the path of your own mapping .yaml"
        )
    return parse_mapping(yaml.safe_load(res.read_text(encoding="utf-8")), f"{name_or_path}.yaml")


def generic_mapping(kind: RecordKind) -> Mapping:
    """Columns named like the canonical fields; any other column is kept in `attributes`."""
    specs = tuple(
        FieldSpec(f.name, f.type, f.required, column=f.name, planned=f.planned)
        for f in kind.fields
        if f.name != "attributes"
    )
    return Mapping(
        format="generic",
        kind=kind,
        source=None,
        description=f"generic {kind.table}: columns named as the canonical fields",
        reader=ReaderSpec(),
        fields=specs,
        extra_columns_to_attributes=True,
        source_from_column=True,
    )


def parse_mapping(doc: Any, where: str) -> Mapping:
    if not isinstance(doc, dict):
        raise MappingError(f"{where}: a mapping must be a YAML object")
    try:
        kind = record_kind(str(doc["kind"]))
    except KeyError as exc:
        raise MappingError(f"{where}: {exc.args[0] if exc.args else 'kind is required'}") from None
    reader = _parse_reader(doc.get("reader") or {}, where)
    raw_fields = doc.get("fields")
    if not isinstance(raw_fields, dict) or not raw_fields:
        raise MappingError(f"{where}: `fields` must map canonical field names to specs")
    specs = []
    for name, spec in raw_fields.items():
        specs.append(_parse_field(kind, str(name), spec, where))
    names = {s.name for s in specs}
    source_from_column = "source" in names
    missing = [
        f.name for f in kind.fields if f.required and f.name not in names and f.name != "source"
    ]
    if missing:
        raise MappingError(f"{where}: required fields of {kind.table} not mapped: {missing}")
    if not source_from_column and not doc.get("source"):
        raise MappingError(f"{where}: give `source:` or map the `source` field")
    return Mapping(
        format=str(doc.get("format") or Path(where).stem),
        kind=kind,
        source=doc.get("source"),
        description=str(doc.get("description", "")),
        reader=reader,
        fields=tuple(specs),
        null_values=tuple(str(v) for v in doc.get("null_values", [""])),
        extra_columns_to_attributes=bool(doc.get("extra_columns_to_attributes", False)),
        derive=tuple(doc.get("derive", [])),
        source_from_column=source_from_column,
    )


def _parse_reader(doc: dict[str, Any], where: str) -> ReaderSpec:
    rtype = doc.get("type", "csv")
    if rtype not in READER_TYPES:
        raise MappingError(f"{where}: reader.type must be one of {READER_TYPES}, not {rtype!r}")
    layouts = {int(k): tuple(v) for k, v in (doc.get("layouts") or {}).items()}
    sources = {int(k): str(v) for k, v in (doc.get("layout_sources") or {}).items()}
    delim = doc.get("delimiter", ",")
    return ReaderSpec(
        type=rtype,
        delimiter="\t" if delim in ("tab", "\\t") else delim,
        header=bool(doc.get("header", True)),
        encoding=doc.get("encoding", "utf-8"),
        layouts=layouts,
        layout_sources=sources,
    )


def _parse_field(kind: RecordKind, name: str, spec: Any, where: str) -> FieldSpec:
    try:
        canon = kind.field(name)
    except KeyError as exc:
        raise MappingError(f"{where}: {exc.args[0]}") from None
    if isinstance(spec, str):
        spec = {"column": spec}
    if not isinstance(spec, dict):
        raise MappingError(f"{where}: field {name}: expected a column name or an object")
    unknown = set(spec) - _FIELD_KEYS
    if unknown:
        raise MappingError(f"{where}: field {name}: unknown keys {sorted(unknown)}")
    if not any(k in spec for k in ("column", "columns", "value", "occurrence_of")):
        raise MappingError(f"{where}: field {name}: give column, columns, value or occurrence_of")
    only_if = None
    if "only_if" in spec:
        cond = spec["only_if"]
        only_if = (str(cond["column"]), tuple(str(v) for v in cond["in"]))
    mapped = spec.get("map")
    times = spec.get("time_column") or []
    times = [str(t) for t in times] if isinstance(times, list) else [str(times)]
    if_invalid = str(spec.get("if_invalid", "quarantine"))
    if if_invalid not in IF_INVALID:
        raise MappingError(
            f"{where}: field {name}: if_invalid must be one of {', '.join(IF_INVALID)}"
        )
    return FieldSpec(
        name=name,
        type=FieldType(spec.get("type", canon.type)),
        required=bool(spec.get("required", canon.required)),
        column=spec.get("column"),
        columns=tuple(spec.get("columns", ())),
        separator=str(spec.get("separator", " ")),
        value=spec.get("value"),
        format=spec.get("format"),
        time_column=times[0] if times else None,
        time_fallbacks=tuple(times[1:]),
        rollover_after=spec.get("rollover_after"),
        map={str(k).lower(): v for k, v in mapped.items()} if mapped else None,
        default=spec.get("default"),
        only_if=only_if,
        null_values=tuple(str(v) for v in spec.get("null_values", ())),
        occurrence_of=tuple(spec.get("occurrence_of", ())),
        prefix=str(spec.get("prefix", "")),
        if_invalid=if_invalid,
        planned=canon.planned,
    )
