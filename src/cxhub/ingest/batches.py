"""The API's batches: one `ingest_batches` row for a second of a kind's writes, not one a flush.

A file load is one batch. The API's writes come as flushes of whatever requests are pending
(`sink.RecordSink`), a few milliseconds apart under load, and a row in a second table costs
each flush's transaction what its records cost (a one-row insert into `ingest_batches` and the
larger commit: 1.1 of a 2.6 ms single-contact flush, BENCHMARKS.md). So the flushes of one
kind within `WINDOW_SECONDS` share a batch:

- the first flush allocates the batch id and inserts the batch's row with its own counts, in
  its own transaction: every stored record has its batch's row, whatever happens next;
- the next flushes of the window write their records with that id and add their counts here,
  as long as no other writer job ran in between (a file load, the classifier's labels: then
  the batch closes, so that batch ids still follow the order of the writes);
- the row gets the window's counts and the time of its last flush when the window closes:
  in the transaction of the first flush after it, or in a job of its own that the sink
  schedules for when the window ends (`close_open`), or when the server stops.

If a flush fails, the writer rolls its transaction back and the sink forgets every open
window (`Known.forget`): what the window counted in memory is dropped, and the row keeps the
counts last written (the flush that opened it). A crash does the same. The records are safe
either way: they are written, or rolled back, with their own flush; only the row's counts can
fall short of them, and only after a failure.

Kinds whose load runs derive steps (`derive.BY_KIND`: contact events, mentions) keep a batch
a flush: their steps read the batch's rows again at each flush, and the ready-made tables find
the contacts that events changed by the events' batch ids (`ready_steps`).
"""

from __future__ import annotations

import time
from datetime import datetime

import duckdb

from cxhub.domain.canonical import RecordKind
from cxhub.ingest.derive import BY_KIND
from cxhub.ingest.keys import Known, OpenBatch

WINDOW_SECONDS = 1.0


def batch_for(con: duckdb.DuckDBPyConnection, state: Known, kind: RecordKind, origin: str, *,
              trusted: bool, read: int, loaded: int, now: datetime, window: float) -> int:
    """The batch id a flush writes its records with (in the flush's transaction). `window`
    seconds: how long a batch stays open to the next flushes (0: a batch for this one)."""
    key = (kind.table, origin)
    opened = time.monotonic()
    if not trusted:  # another job wrote since: a batch is consecutive writes
        close_open(con, state)
    current = state.open_batches.get(key) if window > 0 else None
    if current is not None:
        if opened - current.opened < window:
            current.read += read
            current.loaded += loaded
            current.last_at = now
            current.flushes += 1
            return current.batch_id
        _close(con, state, key)
    batch_id = state.batch_ids.next(con, trusted=trusted)
    con.execute(
        "INSERT INTO ingest_batches VALUES (?, ?, ?, NULL, NULL, ?, ?, 'loaded', ?, ?, ?, 0)",
        [batch_id, origin, kind.table, now, now, read, loaded, read - loaded],
    )
    if window > 0 and not BY_KIND.get(kind.table):
        state.open_batches[key] = OpenBatch(batch_id, opened, now, read, loaded)
    return batch_id


def close_open(con: duckdb.DuckDBPyConnection, state: Known, *, older_than: float = 0.0) -> int:
    """Write the counts of the open batches opened at least `older_than` seconds ago and close
    them (a writer job). Returns how many are still open."""
    now = time.monotonic()
    for key in [k for k, b in state.open_batches.items() if now - b.opened >= older_than]:
        _close(con, state, key)
    return len(state.open_batches)


def _close(con: duckdb.DuckDBPyConnection, state: Known, key: tuple[str, str]) -> None:
    batch = state.open_batches.pop(key)
    if batch.flushes > 1:
        con.execute(
            "UPDATE ingest_batches SET finished_at = ?, rows_read = ?, rows_loaded = ?, "
            "rows_existing = ? WHERE batch_id = ?",
            [batch.last_at, batch.read, batch.loaded, batch.read - batch.loaded,
             batch.batch_id])
