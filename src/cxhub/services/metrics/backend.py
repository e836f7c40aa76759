"""The Ibis backend every metric query on a warehouse runs on: one per thread and warehouse.

    tables = backend(wh)      # cxhub.metrics.source.Tables over DuckDB

Kept for the thread's later calls, so that table schemas are looked up once (about 10 ms each),
until the warehouse is renewed (`Warehouse.renew`: its cursors then belong to a closed instance).
It runs on a DuckDB connection of its own, made from the thread's read cursor: a result left
half-read on that cursor (a `fetchone`) makes DuckDB refuse further work on it, and web
requests share pooled threads, so a metric must not depend on how the last caller read.
"""

from __future__ import annotations

import threading
import weakref

from cxhub.metrics.source import Tables
from cxhub.warehouse import Warehouse
from cxhub.warehouse.engines import connect

_PER_THREAD = threading.local()


def backend(wh: Warehouse) -> Tables:
    """The calling thread's Ibis backend over `wh` (made on first use)."""
    kept: weakref.WeakKeyDictionary[Warehouse, tuple[int, Tables]] | None = getattr(
        _PER_THREAD, "backends", None)
    if kept is None:
        kept = _PER_THREAD.backends = weakref.WeakKeyDictionary()
    generation, found = kept.get(wh, (-1, None))
    if found is None or generation != wh.generation:  # made before the warehouse's renewal
        found = Tables(connect(duckdb_connection=wh.new_cursor()))
        kept[wh] = (wh.generation, found)
    return found
