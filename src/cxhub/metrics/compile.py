"""A request -> one Ibis expression with the columns `period` (with a grain), one per
dimension, `value` and `n` (how many contacts or answers the value is built from).

Each kind of metric has one way in: backlog and the per-customer rate are running counts over
a grid of periods (running_counts.py); counts, shares, means and quantiles are answered from
the hourly and daily sums where they can be (from_sums.py), else by a plain query over the
records (plain.py).
"""

from __future__ import annotations

import ibis.expr.types as ir

from cxhub.metrics import from_sums, running_counts
from cxhub.metrics.plain import plain
from cxhub.metrics.request import Request
from cxhub.metrics.source import TableSource


def compile_metric(con: TableSource, req: Request) -> ir.Table:
    if req.metric.kind == "backlog":
        return running_counts.backlog(con, req)
    if req.metric.kind == "per_customer":
        return running_counts.per_customer(con, req)
    ready = from_sums.answer(con, req)
    return ready if ready is not None else plain(con, req)
