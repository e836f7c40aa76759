"""The SQL that makes the tables kept ready for the metrics, from the same Ibis code as a plain
query: the winning labels (`facts.best_labels`), each contact's customer key and repeat gap
(`facts.contacts`, `facts.repeat_gaps`), customer tenures (`facts.customer_tenures`) and the
hourly and daily sums (`sums.fine_sums`).

Nothing here runs a query: each function compiles an expression over unbound tables to DuckDB
SQL, run by `services.metrics.ready_tables` on the writer's connection. A table can be read under
another name (`Unbound(rename=...)`), so that the same SQL sums every contact or only those in
a temporary view of the changed ones.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import ibis
import ibis.expr.types as ir
from ibis.expr.schema import Schema

from cxhub.metrics import facts, sums
from cxhub.metrics.definitions import Metric
from cxhub.metrics.facts import LABEL_DIMENSIONS
from cxhub.metrics.source import Ready


class Unbound:
    """A TableSource of unbound tables: the schemas of the real ones, some renamed."""

    def __init__(self, schemas: Callable[[str], Schema], *,
                 rename: Mapping[str, str] | None = None, ready: Ready | None = None) -> None:
        self._schemas = schemas
        self.renamed = dict(rename or {})
        self.ready = ready or Ready()

    def table(self, name: str) -> ir.Table:
        return ibis.table(self._schemas(name), name=self.renamed.get(name, name))


def sql(expr: ir.Table) -> str:
    return str(ibis.to_sql(expr, dialect="duckdb"))


def current_labels(src: Unbound) -> str:
    """(target, target_id, category, cause, sentiment) of every record in `labels`."""
    labels = src.table("labels")
    labels = labels.filter(labels.dimension.isin(LABEL_DIMENSIONS))
    best = facts.best_labels(labels, LABEL_DIMENSIONS, keys=("target", "target_id"))
    return sql(best.select("target", "target_id", *LABEL_DIMENSIONS))


def customer_keys(src: Unbound) -> str:
    """(contact_id, customer_key) of the contacts with a customer."""
    c = facts.contacts(src, {"contact_id", "customer_key"})
    return sql(c.filter(c.customer_key.notnull()).select("contact_id", "customer_key"))


def contact_repeats(src: Unbound) -> str:
    """(contact_id, customer_key, repeat_gap_seconds) of the contacts with a customer; `src`
    must read every contact of those customers (the gap looks at their next contact)."""
    c = facts.contacts(src, {"contact_id", "customer_key", "repeat_gap_seconds"})
    return sql(c.filter(c.customer_key.notnull()).select(
        "contact_id", "customer_key", "repeat_gap_seconds"))


def customer_tenures(src: Unbound) -> str:
    t = facts.customer_tenures(src, segments=("segment",))
    return sql(t.select("customer_key", "segment", "first_at", "last_at"))


# The sums' SQL depends only on the definitions and on which tables are read under which
# name: compiled once per process (compiling takes tens of milliseconds, a refresh of a few
# changed days not much more).
_COMPILED: dict[tuple[object, ...], str] = {}


def _kept(key: tuple[object, ...], make: Callable[[], str]) -> str:
    found = _COMPILED.get(key)
    if found is None:
        if len(_COMPILED) > 256:
            _COMPILED.clear()
        found = _COMPILED[key] = make()
    return found


def fine_sums(src: Unbound, fact: str, time: str, items: list[sums.Entry]) -> str:
    key = ("sums", fact, time, tuple((e.key, sums.fingerprint(e.metric)) for e in items),
           tuple(sorted(src.renamed.items())), src.ready)
    return _kept(key, lambda: sql(sums.fine_sums(src, fact, time, items)))


def values(src: Unbound, m: Metric) -> str:
    key = ("values", sums.fingerprint(m), tuple(sorted(src.renamed.items())), src.ready)
    return _kept(key, lambda: sql(sums.values(src, m)))
