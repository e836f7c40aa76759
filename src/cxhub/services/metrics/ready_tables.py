"""Keep the metrics' ready-made tables up to date, and tell each query which ones it may use.

    refresh(wh)          # bring every ready-made table up to date (cheap when little changed)
    available(wh)        # what a metric query may read now; refreshes first when that is quick

The tables (schema v6): `current_labels`, `contact_repeats`, `customer_tenures`, `metric_hours`
and `metric_days` (cxhub.metrics.ready_sql and sums). A table is used only while it is up to
date with the records, judged from a few row counts and marks read at every call (about a
millisecond): anything it was made from that changed since, and the query reads the records
instead, so a figure is never stale. `available` then refreshes in place when the change is
small (new contacts, events, labels: a few days to sum again), and leaves a large one (the
first build of a big warehouse, a new identity run) to `refresh`, which `cxhub serve` runs in
the background at start and whenever a query finds the tables far behind.

Contacts must change through cxhub (files, the API, events): a contact changed by hand with
SQL is not noticed until `refresh(wh, full=True)`.

In a server (`start_background`), a query never waits for a refresh: right after a write, a
refresh of 10 million contacts took 1.3-3 s. When the tables were complete when last made
and only new records arrived since, `available` answers `Behind`: the tables as they are,
with `as_of`, the time they were made, while a background refresh catches up.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

from cxhub.metrics import default_catalogue, sums
from cxhub.metrics.source import Ready
from cxhub.services import heap
from cxhub.services.backoff import Backoff, GiveWay
from cxhub.services.metrics import ready_steps as steps
from cxhub.services.metrics.backend import backend
from cxhub.warehouse import Warehouse

log = logging.getLogger(__name__)

# A change is refreshed in place, before the query, when it adds at most this many rows; and
# a first build or full rebuild when the warehouse holds at most this many contacts and labels.
QUICK_ROWS = 200_000
QUICK_BUILD_ROWS = 500_000
WAIT_SECONDS = 5.0
# In a server, no refresh starts while API requests are writing (a request in the last
# BUSY_SECONDS): its writer jobs and its Python work made every connection wait together (p99
# of 1,000-contact batches 0.7-1.1 s). Queries read the tables as last made meanwhile; after
# MAX_DEFER_SECONDS of constant writes the refresh runs anyway.
BUSY_SECONDS = 1.0
MAX_DEFER_SECONDS = 10.0

# One row per figure (a UNION: nine scalar subqueries in one SELECT take DuckDB 40 ms to plan).
_SNAPSHOT = {
    "contacts": ("count(*)", "contacts"), "labels": ("count(*)", "labels"),
    "surveys": ("count(*)", "surveys"), "holdings": ("count(*)", "holdings"),
    "batch": ("coalesce(max(batch_id), 0)", "ingest_batches"),
    "links_rows": ("count(*)", "customer_links"), "links_run": ("max(run_id)", "identity_runs"),
    "segments_rows": ("count(*)", "customer_segments"),
    "segments_at": ("max(computed_at)", "customer_segments"),
}
_SNAPSHOT_SQL = " UNION ALL ".join(f"SELECT '{k}', ({v})::VARCHAR FROM {t}"
                                   for k, (v, t) in _SNAPSHOT.items())


@dataclass(frozen=True)
class Behind(Ready):
    """The ready-made tables as they were last made, read while a refresh catches up: the
    figures are as of `as_of` (UTC), without the records that arrived since."""

    as_of: datetime | None = None


class _Keeper:
    """Per warehouse: one refresh at a time, the background one, and when to try again after
    a failed one (a read-only or full disk: one line, not a traceback per query)."""

    def __init__(self, wh: Warehouse) -> None:
        self.lock = threading.Lock()
        self.background = False
        self.thread: threading.Thread | None = None
        self.backoff = Backoff("refreshing the ready-made tables", log, path=wh.path)
        self.give_way = GiveWay()

    @property
    def deferred(self) -> int:
        return self.give_way.deferred

    def defer(self, wh: Warehouse) -> bool:
        """Whether to put a refresh off now: requests are writing and the tables have not
        waited MAX_DEFER_SECONDS."""
        return self.give_way.defer(wh.writer.busy(BUSY_SECONDS), time.monotonic(),
                                   MAX_DEFER_SECONDS)


_KEEPERS: weakref.WeakKeyDictionary[Warehouse, _Keeper] = weakref.WeakKeyDictionary()
_KEEPERS_LOCK = threading.Lock()


def _keeper(wh: Warehouse) -> _Keeper:
    with _KEEPERS_LOCK:
        found = _KEEPERS.get(wh)
        if found is None:
            found = _KEEPERS[wh] = _Keeper(wh)
        return found


def _schemas(wh: Warehouse) -> Any:
    tables = backend(wh)
    return lambda name: tables.table(name).schema()


def refresh(wh: Warehouse, *, full: bool = False,
            only: tuple[str, ...] = steps.STEPS) -> list[dict[str, Any]]:
    """Bring the ready-made tables up to date (each step its own transaction, in order: labels,
    repeat gaps, tenures, sums); `full` rebuilds them. Returns what each step did."""
    schemas = _schemas(wh)
    metrics = list(default_catalogue())
    jobs: dict[str, Callable[[Any], dict[str, Any]]] = {
        "labels": lambda con: steps.refresh_labels(con, schemas, full=full),
        "repeats": lambda con: steps.refresh_repeats(con, schemas, full=full),
        "tenures": lambda con: steps.refresh_tenures(con, schemas, full=full),
        "sums": lambda con: steps.refresh_sums(con, schemas, metrics, full=full)}
    with _keeper(wh).lock:
        done = [wh.write(steps.scratch_dropped(jobs[name]), groupable=False)
                for name in steps.STEPS if name in only]
        pending = done[-1].pop("pending", None) if done else None
        if pending is not None:  # a rebuild of the sums: one transaction per family
            for fact, time in sums.families(sums.entries(metrics)):
                wh.write(partial(steps.sum_all, schemas=schemas, metrics=metrics, fact=fact,
                                 time=time), groupable=False)
            for key in sums.value_series(metrics):
                wh.write(partial(steps.store_all_values, schemas=schemas, metrics=metrics,
                                 key=key), groupable=False)
            wh.write(lambda con: steps.save(con, "sums", pending), groupable=False)
    log.info("ready-made tables refreshed: %s", done)
    return done


def _snapshot(wh: Warehouse) -> dict[str, Any]:
    found = dict(wh.read(_SNAPSHOT_SQL))
    number = {k: None if found[k] is None else int(found[k]) for k in found if k != "segments_at"}
    return {"contacts": number["contacts"], "labels": number["labels"],
            "surveys": number["surveys"], "holdings": number["holdings"],
            "batch": number["batch"], "links": [number["links_rows"], number["links_run"]],
            "segments": [number["segments_rows"], str(found["segments_at"])]}


def _states(wh: Warehouse) -> dict[str, dict[str, Any]]:
    return {name: json.loads(state) for name, state in
            wh.read("SELECT name, state FROM derived_state")}


def _fresh(snap: dict[str, Any], st: dict[str, dict[str, Any]]) -> Ready:
    labels, repeats = st.get("labels"), st.get("repeats")
    tenures, summed = st.get("tenures"), st.get("sums")
    labels_ok = labels is not None and labels["labels_rows"] == snap["labels"]

    def contacts_ok(s: dict[str, Any]) -> bool:
        return (s["contacts_rows"] == snap["contacts"] and s["batch"] == snap["batch"]
                and labels_ok and s["labels_version"] == labels["version"])  # type: ignore[index]

    repeats_ok = (repeats is not None and contacts_ok(repeats)
                  and repeats["links"] == snap["links"])
    tenures_ok = tenures is not None and tenures == {
        "holdings": snap["holdings"], "links": snap["links"], "segments": snap["segments"]}
    sums_ok = (summed is not None and repeats_ok and contacts_ok(summed)
               and summed["surveys_rows"] == snap["surveys"]
               and summed["repeats_version"] == repeats["version"])  # type: ignore[index]
    stored = frozenset(f"{k}:{v}" for k, v in summed["metrics"].items()) \
        if sums_ok and summed is not None else frozenset()
    return Ready(labels=labels_ok, repeats=repeats_ok, tenures=tenures_ok, sums=stored)


def _quick(snap: dict[str, Any], st: dict[str, dict[str, Any]]) -> bool:
    """Whether bringing everything up to date is quick enough to do before a query."""
    if snap["contacts"] + snap["labels"] <= QUICK_BUILD_ROWS:
        return True
    if any(name not in st for name in steps.STEPS):
        return False
    repeats, tenures, summed = st["repeats"], st["tenures"], st["sums"]
    if repeats["links"] != snap["links"] or tenures["links"] != snap["links"] \
            or tenures["segments"] != snap["segments"]:
        return False  # a new identity run or segments: rebuilds
    if tenures["holdings"] != snap["holdings"]:
        return False
    if summed["metrics"] != sums.fingerprints(default_catalogue()):
        return False
    added = (snap["contacts"] - min(repeats["contacts_rows"], summed["contacts_rows"])
             + snap["labels"] - st["labels"]["labels_rows"]
             + snap["surveys"] - summed["surveys_rows"])
    return bool(0 <= added <= QUICK_ROWS)


def available(wh: Warehouse, *, refresh_if_quick: bool = True) -> Ready:
    """What a metric query may read ready-made now. When something is out of date and
    bringing it up to date is quick, do it first (one refresh at a time: a query that finds
    another one running waits for it up to WAIT_SECONDS, then reads the records)."""
    snap, st = _snapshot(wh), _states(wh)
    found = _fresh(snap, st)
    if _complete(found) or not refresh_if_quick:
        return found
    keeper = _keeper(wh)
    if keeper.background and keeper.defer(wh):
        return _as_made(wh, st) or found  # the API is writing: refresh later
    if _quick(snap, st):
        if keeper.background and (behind := _as_made(wh, st)) is not None:
            start_background(wh)  # catches up; this query does not wait for it
            return behind
        if keeper.lock.locked():
            if not keeper.lock.acquire(timeout=WAIT_SECONDS):
                return found  # a long refresh (a first build): the records answer meanwhile
            keeper.lock.release()
            snap, st = _snapshot(wh), _states(wh)
            found = _fresh(snap, st)
            if _complete(found) or not _quick(snap, st):
                return found
        if not keeper.backoff.due():
            return found  # failed a moment ago (a full disk?): the records answer meanwhile
        try:
            refresh(wh)
        except Exception as exc:  # a failed refresh leaves the records to answer
            keeper.backoff.failed(exc)
            return found
        keeper.backoff.succeeded()
        return _fresh(_snapshot(wh), _states(wh))
    if keeper.background:
        start_background(wh)
    return found


def _as_made(wh: Warehouse, st: dict[str, dict[str, Any]]) -> Behind | None:
    """The tables as they were last made, when every step was then up to date with the same
    records (else None: the caller refreshes first)."""
    if any(name not in st for name in steps.STEPS):
        return None
    summed, tenures, repeats = st["sums"], st["tenures"], st["repeats"]
    then = {"contacts": summed["contacts_rows"], "labels": st["labels"]["labels_rows"],
            "surveys": summed["surveys_rows"], "batch": summed["batch"], **tenures}
    if repeats["contacts_rows"] <= summed["contacts_rows"]:
        # Each step is its own transaction, and the API writes between them: the sums may
        # have seen contacts the repeat gaps had not (100 at 1,000 a second). They were made
        # from those gaps (`repeats_version`); the newest contacts' gaps follow with the next
        # refresh. Judged by the sums' count alone, a server under constant writes never had
        # its tables "as made", and every figure read every contact (the soak's live backlog:
        # five columns of each, kept by DuckDB, more with every contact).
        marks = {k: summed[k] for k in ("contacts_rows", "contacts_rowid", "batch")}
        st = {**st, "repeats": {**repeats, **marks}}
    made = _fresh(then, st)
    if not _complete(made):
        return None
    at = wh.read_one("SELECT refreshed_at FROM derived_state WHERE name = 'sums'")
    return Behind(labels=made.labels, repeats=made.repeats, tenures=made.tenures,
                  sums=made.sums, as_of=at[0] if at else None)


def _complete(d: Ready) -> bool:
    return d.labels and d.repeats and d.tenures and bool(d.sums)


def start_background(wh: Warehouse) -> None:
    """Refresh in a thread of its own now, and again whenever a query finds the tables far
    behind (for `cxhub serve`: a first build of a large warehouse takes a while)."""
    keeper = _keeper(wh)
    keeper.background = True
    with _KEEPERS_LOCK:
        if keeper.thread is not None and keeper.thread.is_alive():
            return
        if not keeper.backoff.due():
            return  # the last one failed a moment ago: a later query tries again

        def run() -> None:
            try:
                with wh.gate.reading():  # not while the warehouse is renewed
                    refresh(wh)
                heap.give_back()  # the refresh's working memory, freed but kept by malloc
            except Exception as exc:
                if keeper.background:  # the next query that finds the tables behind tries again
                    keeper.backoff.failed(exc)
                else:  # stopped: the server is shutting down and its warehouse closing
                    log.info("background refresh of the ready-made tables stopped")
                return
            keeper.backoff.succeeded()

        keeper.thread = threading.Thread(target=run, name="cxhub-ready-tables", daemon=True)
        keeper.thread.start()


def stop_background(wh: Warehouse, timeout: float | None = None) -> None:
    keeper = _keeper(wh)
    keeper.background = False
    if keeper.thread is not None:
        keeper.thread.join(timeout)
