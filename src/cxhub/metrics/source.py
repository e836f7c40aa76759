"""Where the metrics read their tables from, and which ready-made tables they may read.

A metric is an Ibis expression over tables looked up by name (`TableSource`): a backend
wrapped in `Tables` for queries, or unbound tables (ready_sql.Unbound) when compiling the SQL
that fills the ready-made tables. `Ready` says which ready-made tables are up to date; nothing
is read ready-made unless the caller says so (services.metrics.ready_tables does).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import ibis.expr.types as ir
from ibis.backends import BaseBackend


class TableSource(Protocol):
    def table(self, name: str) -> ir.Table: ...


@dataclass(frozen=True)
class Ready:
    """The ready-made tables a query may read instead of computing the same thing from the
    records, each set only while it is up to date with them. Without it (PySpark, a bare
    backend) everything is computed from the records."""

    labels: bool = False  # current_labels: the winning label per record and dimension
    repeats: bool = False  # contact_repeats: customer key and repeat gap per contact
    tenures: bool = False  # customer_tenures: first and last holding per customer
    # "name:fingerprint" of the definitions whose hourly and daily sums (metric_hours,
    # metric_days) or stored values (metric_values) are up to date.
    sums: frozenset[str] = frozenset()


def ready(con: TableSource) -> Ready:
    """What `con` may read ready-made (nothing unless the caller said so)."""
    found = getattr(con, "ready", None)
    return found if isinstance(found, Ready) else Ready()


class Tables:
    """An Ibis backend whose table lookups are remembered. Each lookup is a schema query (about
    10 ms on DuckDB), and one metric with its comparisons reads the same tables many times.
    Everything else is the backend's."""

    ready: Ready | None = None  # set per call by cxhub.services.metrics.compute

    def __init__(self, backend: BaseBackend) -> None:
        self.backend = backend
        self._tables: dict[str, ir.Table] = {}

    def table(self, name: str) -> ir.Table:
        found = self._tables.get(name)
        if found is None:
            found = self._tables[name] = self.backend.table(name)
        return found

    def __getattr__(self, name: str) -> Any:
        return getattr(self.backend, name)
