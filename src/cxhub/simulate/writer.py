"""Stream tables to CSV files chunk by chunk, formatted by the canonical field types.

Columns arrive as numpy arrays in the simulator's working form: timestamps as epoch seconds,
dates as days since 1970, durations and counts as integers (NONE = -1 for missing), text as
object arrays (None for missing). The canonical kind says how each column is written, so the
file contract lives in one place (`cxhub.domain.canonical`). Arrow writes the CSV: a million
rows a second, where the csv module would dominate the run time.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from cxhub.domain.canonical import FieldType, record_kind
from cxhub.simulate.identities import NO_DATE

LOAD_ORDER = (
    "source_records",
    "holdings",
    "transactions",
    "contacts",
    "contact_events",
    "surveys",
    "offer_decisions",
    "mentions",
    "touchpoints",
)


def _text(values: np.ndarray) -> pa.Array:
    return pa.array(values, type=pa.string(), from_pandas=True)


def _column(values: np.ndarray, kind: FieldType | None) -> pa.Array:
    if kind == FieldType.TIMESTAMP:
        v = np.asarray(values, dtype=np.int64)
        # Arrow's cast of whole seconds is exactly YYYY-MM-DD HH:MM:SS, and ten times faster
        # than strftime.
        return pa.array(v, mask=v < 0, type=pa.timestamp("s")).cast(pa.string())
    if kind == FieldType.DATE:
        v = np.asarray(values, dtype=np.int64)
        missing = v == NO_DATE
        return pa.array(np.where(missing, 0, v).astype(np.int32), mask=missing, type=pa.date32())
    if kind in (FieldType.DURATION, FieldType.INT):
        v = np.asarray(values, dtype=np.int64)
        return pa.array(v, mask=v < 0, type=pa.int64())
    if kind == FieldType.FLOAT:
        x = np.round(np.asarray(values, dtype=np.float64), 2)
        return pa.array(x, mask=np.isnan(x), type=pa.float64())
    if kind == FieldType.BOOL:
        v = np.asarray(values)
        if v.dtype == bool:
            return _text(np.where(v, "true", "false").astype(object))
        return _text(v)
    return _text(np.asarray(values, dtype=object))


class TableSink:
    """All the CSV files of one run; a file's columns are fixed by its first chunk."""

    def __init__(self, out_dir: Path) -> None:
        self.out_dir = out_dir
        self._writers: dict[tuple[str, str], tuple[Any, pacsv.CSVWriter, pa.Schema]] = {}
        self.rows: dict[tuple[str, str], int] = {}
        self.truth_rows: dict[str, int] = {}

    def write(self, source: str, kind: str, columns: dict[str, np.ndarray]) -> None:
        n = len(columns["external_id"])
        key = (source, kind)
        if n == 0 and key in self._writers:
            return  # an empty first chunk still writes the header
        types = {f.name: f.type for f in record_kind(kind).fields}
        table = pa.table({name: _column(v, types.get(name)) for name, v in columns.items()})
        self._append(key, self.out_dir / source / f"{kind}.csv", table)
        self.rows[key] = self.rows.get(key, 0) + n

    def write_truth(self, name: str, columns: dict[str, np.ndarray]) -> None:
        """A planted-truth table under truth/ (never loaded as data, so not in the manifest).
        Integer columns are written as numbers, everything else as text."""
        table = pa.table(
            {
                k: _column(v, FieldType.INT if np.asarray(v).dtype.kind == "i" else None)
                for k, v in columns.items()
            }
        )
        self._append(("truth", name), self.out_dir / "truth" / f"{name}.csv", table)
        self.truth_rows[name] = self.truth_rows.get(name, 0) + table.num_rows

    def _append(self, key: tuple[str, str], path: Path, table: pa.Table) -> None:
        if key not in self._writers:
            path.parent.mkdir(parents=True, exist_ok=True)
            sink = pa.OSFile(str(path), "wb")
            self._writers[key] = (sink, pacsv.CSVWriter(sink, table.schema), table.schema)
        _, writer, schema = self._writers[key]
        writer.write_table(table.cast(schema))

    def close(self) -> list[dict[str, object]]:
        """Close every file and return the manifest entries in load order."""
        for sink, writer, _ in self._writers.values():
            writer.close()
            sink.close()
        ordered = sorted(self.rows, key=lambda k: (LOAD_ORDER.index(k[1]), k[0]))
        return [
            {
                "kind": kind,
                "source": source,
                "path": f"{source}/{kind}.csv",
                "rows": self.rows[(source, kind)],
            }
            for source, kind in ordered
        ]


def write_table(path: Path, columns: dict[str, np.ndarray],
                types: dict[str, FieldType]) -> None:
    """One whole CSV file outside the canonical kinds' sink (planning files): each column
    formatted by its type in `types`, text otherwise."""
    table = pa.table({name: _column(v, types.get(name)) for name, v in columns.items()})
    path.parent.mkdir(parents=True, exist_ok=True)
    pacsv.write_csv(table, str(path))


def write_json(path: Path, payload: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=2, sort_keys=False) + "\n", encoding="utf-8")
