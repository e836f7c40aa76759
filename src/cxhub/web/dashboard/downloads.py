"""A dashboard table as a file: CSV or Parquet, the whole table as filtered on its page.

Every download route hands this module what its page's own service call returned: a list of
dicts (tables that fit on a page: alerts, problems, offers, users, a metric's periods) or
Arrow batches read in turn (the contacts of a list, which may run to millions). Both end as
Arrow batches with one schema, written as:

- CSV: streamed batch by batch, UTF-8 with a byte-order mark (so a spreadsheet reads accents
  right), every text cell through `csv_cell` (a cell starting with = + - @ cannot run as a
  formula); numbers stay numbers, times are ISO, nested values JSON.
- Parquet: one row group per batch into a temporary file (in memory up to 32 MB, then on
  disk), streamed once complete. Types are the warehouse's.

A table longer than `MAX_ROWS` is refused before anything is read (413, saying how many rows
it has and what to do), so one click cannot tie up the server for minutes.
"""

from __future__ import annotations

import csv
import io
import json
import re
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from fastapi.responses import StreamingResponse

from cxhub.domain.csv_cells import csv_cell
from cxhub.web.dashboard.auth import Forbidden
from cxhub.web.dashboard.pages import SECURITY_HEADERS, qs

FORMATS = {"csv": "text/csv; charset=utf-8", "parquet": "application/vnd.apache.parquet"}
MAX_ROWS = 1_000_000
_CHUNK = 1 << 20  # bytes sent at a time from a finished Parquet file
_SPOOL = 32 << 20  # a Parquet file stays in memory up to this size


def check_format(fmt: str) -> str:
    """The format named in the URL (`.csv`, `.parquet`), checked before any work is done."""
    if fmt not in FORMATS:
        raise Forbidden(f"There is no download as {fmt!r}: use .csv or .parquet.", 404)
    return fmt


def check_size(rows: int, what: str = "rows") -> None:
    if rows > MAX_ROWS:
        raise Forbidden(f"This table has {rows:,} {what}; a download holds at most "
                        f"{MAX_ROWS:,}. Narrow the dates or the filters and try again.", 413)


def table(rows: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> pa.Table:
    """Rows as a page lists them, in `columns` order; a nested value (a dict or list) becomes
    its JSON text, as a CSV cell and a Parquet column both hold it alike."""
    check_size(len(rows))
    return pa.table({c: _column([_plain(r.get(c)) for r in rows]) for c in columns})


def _plain(value: Any) -> Any:
    if isinstance(value, dict | list | tuple):
        return json.dumps(value, default=str, ensure_ascii=False)
    return value


def _column(values: list[Any]) -> pa.Array:
    """Typed as its values are (numbers, times, text); a column with no value, or with values
    of mixed kinds, as text."""
    if all(v is None for v in values):
        return pa.array(values, pa.string())
    try:
        return pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return pa.array([None if v is None else str(v) for v in values], pa.string())


def respond(fmt: str, name: str, data: pa.Table | Iterable[pa.Table | pa.RecordBatch],
            schema: pa.Schema | None = None) -> StreamingResponse:
    """The download of `data` (a table, or batches sharing `schema` or the first's) as
    `<name>.<fmt>`."""
    batches: Iterable[pa.Table | pa.RecordBatch]
    if isinstance(data, pa.Table):
        batches, schema = [data], data.schema
    else:
        batches = data
    body = _csv(batches, schema) if check_format(fmt) == "csv" else _parquet(batches, schema)
    safe = re.sub(r"[^\w.-]+", "-", name).strip("-") or "table"
    headers = {**SECURITY_HEADERS,
               "Content-Disposition": f'attachment; filename="{safe}.{fmt}"'}
    return StreamingResponse(body, media_type=FORMATS[fmt], headers=headers)


def _cells(batch: pa.Table | pa.RecordBatch) -> Iterator[tuple[Any, ...]]:
    """A batch's rows as CSV cells, a column at a time: text through `csv_cell`, times ISO."""
    columns = []
    for field, column in zip(batch.schema, batch.columns, strict=True):
        values = column.to_pylist()
        if pa.types.is_string(field.type) or pa.types.is_large_string(field.type):
            values = [csv_cell(v) for v in values]
        elif pa.types.is_timestamp(field.type):
            values = [None if v is None else v.isoformat(sep=" ") for v in values]
        elif pa.types.is_date(field.type):
            values = [None if v is None else v.isoformat() for v in values]
        elif not (pa.types.is_integer(field.type) or pa.types.is_floating(field.type)
                  or pa.types.is_boolean(field.type) or pa.types.is_null(field.type)):
            values = [csv_cell(_plain(v)) if isinstance(v, str | dict | list) else v
                      for v in values]
        columns.append(values)
    return zip(*columns, strict=True)


def _csv(batches: Iterable[pa.Table | pa.RecordBatch],
         schema: pa.Schema | None) -> Iterator[bytes]:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    header = False
    for batch in batches:
        if not header:
            buf.write("\ufeff")
            writer.writerow([csv_cell(n) for n in batch.schema.names])
            header = True
        writer.writerows(_cells(batch))
        yield buf.getvalue().encode()
        buf.seek(0)
        buf.truncate()
    if not header:  # no rows at all: the file still names the columns
        writer.writerow([csv_cell(n) for n in (schema.names if schema else [])])
        yield ("\ufeff" + buf.getvalue()).encode()


def _parquet(batches: Iterable[pa.Table | pa.RecordBatch],
             schema: pa.Schema | None) -> Iterator[bytes]:
    with tempfile.SpooledTemporaryFile(max_size=_SPOOL) as sink:
        writer: pq.ParquetWriter | None = None
        for batch in batches:
            part = batch if isinstance(batch, pa.Table) else pa.Table.from_batches([batch])
            if writer is None:
                schema = schema or part.schema
                writer = pq.ParquetWriter(sink, schema)
            writer.write_table(part.cast(schema))
        if writer is None:
            writer = pq.ParquetWriter(sink, schema or pa.schema([]))
        writer.close()
        sink.seek(0)
        while chunk := sink.read(_CHUNK):
            yield chunk


def link_params(params: Mapping[str, str], drop: Iterable[str] = ("cursor",)) -> str:
    """The page's query string for its download links: the same filters, without paging."""
    skip = set(drop)
    return qs({k: v for k, v in params.items() if k not in skip})
