"""Records posted to the API: validated rows in, ids out, each key written once.

The writing itself is the one write path of `cxhub.ingest` (`ingest.sink.RecordSink` collects
the requests of a moment into one writer job; `ingest.upsert.write_rows` inserts them with the
same policy as files). What is left here is the API's own: reading a record back by id.
"""

from __future__ import annotations

from typing import Any

import orjson

from cxhub.domain.canonical import RecordKind
from cxhub.ingest.sink import RecordSink
from cxhub.ingest.upsert import Written, write_rows
from cxhub.warehouse import Warehouse

__all__ = ["RecordSink", "Written", "read_record", "write_rows"]


def read_record(wh: Warehouse, kind: RecordKind, record_id: int) -> dict[str, Any] | None:
    record = wh.read_dict(f"SELECT * FROM {kind.table} WHERE {kind.id_column} = ?", [record_id])
    if record is None:
        return None
    if isinstance(record.get("attributes"), str):
        record["attributes"] = orjson.loads(record["attributes"])
    return record
