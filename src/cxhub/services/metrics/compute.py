"""Metrics over a warehouse, for the CLI, the REST API and the pages: one call each.

    compute(wh, "service_level", start="2024-03-01", end="2024-03-31", by="day,channel",
            compare="previous,target", filters={"channel": "phone"})

Nothing here computes a figure: it takes the thread's Ibis backend over the warehouse
(services.metrics.backend), says which ready-made tables are up to date
(services.metrics.ready_tables) and asks the catalogue (cxhub.metrics).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from ibis.backends import BaseBackend

from cxhub.metrics import coverage, default_catalogue, periods, query
from cxhub.metrics.definitions import Metric
from cxhub.metrics.source import Tables
from cxhub.services.metrics import ready_tables
from cxhub.services.metrics.backend import backend
from cxhub.warehouse import Warehouse

DEFAULT_DAYS = 30

Times = str | date | datetime


def compute(wh: Warehouse, name: str, *, start: Times, end: Times,
            by: str | Sequence[str] = (), compare: str | Sequence[str] = (),
            filters: Mapping[str, Any] | None = None,
            engine: BaseBackend | Tables | None = None) -> list[dict[str, Any]]:
    """Rows of metric `name` over [start, end): see cxhub.metrics.query.compute.

    A date as `end` includes that whole day; a datetime is exclusive. Raises
    UnknownMetricError (a NotFoundError) for a name not in the catalogue and
    MetricQueryError, naming the parameter, for a bad range, grain, dimension or comparison.
    """
    tables = engine if engine is not None else backend(wh)
    if isinstance(tables, Tables) and tables.backend.name == "duckdb":
        # The ready-made tables (current labels, repeat gaps, hourly and daily sums) that are
        # up to date; the query reads the records for the rest (ready_tables).
        tables.ready = ready_tables.available(wh)
    return query.compute(tables, name, start=start, end=end, by=by, filters=filters,
                         compare=compare)


def coverage_note(cov: Mapping[str, Any] | None) -> str:
    """'no data for that period', 'partial: 3 of 30 days', or '' for a covered period."""
    return coverage.note(dict(cov) if cov else None)


def comparison_periods(start: datetime, end: datetime) -> list[dict[str, Any]]:
    """The periods a range without a grain is compared with: name (previous period, last
    year), start, end (exclusive), and whether it is a month so far (then `previous` is the
    same days of the month before)."""
    names = {"previous": "previous period", "last_year": "last year"}
    out = []
    for key, name in names.items():
        shift = periods.comparison_range(key, start, end, None)
        out.append({"comparison": key, "name": name, "start": shift.start, "end": shift.end,
                    "month_so_far": key == "previous" and periods.month_so_far(start, end)})
    return out


def catalogue() -> list[dict[str, Any]]:
    """Every definition, as plain data (name, label, description, unit, better, target ...)."""
    return [m.to_dict() for m in default_catalogue()]


def definition(name: str) -> Metric:
    return default_catalogue().get(name)


def default_range(start: Times | None, end: Times | None, *,
                  today: date | None = None) -> tuple[datetime, datetime]:
    """The range a person means when they leave it out: the 30 days up to and including
    today, or the 30 days before the end they gave."""
    stop = periods.parse_time(end if end is not None else (today or date.today()),
                              parameter="to", end=True)
    if start is None:
        return stop - timedelta(days=DEFAULT_DAYS), stop
    return periods.parse_time(start, parameter="from"), stop


def report(wh: Warehouse, name: str, *, start: Times | None = None, end: Times | None = None,
           by: str | Sequence[str] = (), compare: str | Sequence[str] = (),
           filters: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The definition, the range as computed (end exclusive) and the rows: what the API
    returns and the CLI prints. `as_of` is null when the figures hold every record; in a
    server, right after a write, it is the time (UTC) of the ready-made tables they were read
    from while those catch up (records that arrived since are not in them yet)."""
    metric = definition(name)
    t0, t1 = default_range(start, end)
    rows = compute(wh, name, start=t0, end=t1, by=by, compare=compare, filters=filters)
    used = backend(wh).ready  # what `compute` just read, on this thread's backend
    as_of = used.as_of if isinstance(used, ready_tables.Behind) else None
    req = query.request(metric, start=t0, end=t1, by=by, filters=filters)
    return {
        "metric": metric.to_dict(),
        "from": t0.isoformat(), "to": t1.isoformat(),
        "by": ([req.grain] if req.grain else []) + list(req.dimensions),
        "filters": {k: list(v) for k, v in req.filters.items()},
        "as_of": as_of.isoformat() if as_of else None,
        "rows": rows,
    }


# Waits are not one figure: a phone call waits seconds to be answered and an e-mail hours for
# its first reply, so a mean over every channel says nothing to anyone. Each group's wait is
# the expected_wait of its channels (answer for the live channels, first reply for the written
# ones), the channels' means weighted by how many contacts each is built from.
CHANNEL_GROUPS: tuple[tuple[str, str, str, tuple[str, ...]], ...] = (
    ("phone", "Phone", "time to answer", ("phone",)),
    ("chat", "Chat", "time to answer", ("chat",)),
    ("written", "Written", "time to first reply",
     ("email", "web", "letter", "social", "community", "referral", "other")),
)


def waits_by_channel_group(wh: Warehouse, *, start: Times, end: Times,
                           engine: BaseBackend | Tables | None = None) -> list[dict[str, Any]]:
    """The expected wait per channel group over [start, end): one dict per group with
    `group` (phone, chat, written), `label`, `measure` (time to answer, time to first reply),
    `channels`, `value` (seconds, None without any contact reached), `n` and `text`
    ("45 s", "5.2 h"). For the dashboard and the public page."""
    metric = definition("expected_wait")
    rows = compute(wh, metric.name, start=start, end=end, by="channel", engine=engine)
    out = []
    for key, label, measure, channels in CHANNEL_GROUPS:
        found = [r for r in rows if r.get("channel") in channels and r["value"] is not None
                 and r["n"]]
        n = sum(r["n"] for r in found)
        value = sum(r["value"] * r["n"] for r in found) / n if n else None
        out.append({"group": key, "label": label, "measure": measure,
                    "channels": list(channels), "value": value, "n": n,
                    "text": metric.format(value)})
    return out
