"""Hourly volumes per cause and category, as Ibis plans over the warehouse, and the dense
(series x hours) matrix the detector works on.

What an item's cause (or category) is: its best label in `labels` (a human label beats any
model label; among model labels the newest wins); without a label, the record's own column
when its table has one (contacts carry the cause and category their source gave, such as an
agent's wrap-up code); otherwise the item counts only in its target's total. Contacts made
from mentions by routing are left out of the contact volumes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import ibis
import numpy as np
import pandas as pd
from ibis.backends import BaseBackend
from ibis.expr.types import Table

from cxhub.analytics.listening.routing import ROUTED_SOURCE

DIMENSIONS = ("cause", "category")
TOTAL = ("total", "all")
_ID = {"contacts": "contact_id", "mentions": "mention_id"}


def best_labels(labels: Table, target: str, dimensions: Sequence[str]) -> Table:
    """(target_id, one column per dimension): each item's best label, human first, then the
    newest (ranked as `cxhub.metrics.facts` ranks them, so pages and alerts agree)."""
    t = labels.filter((labels.target == target) & labels.dimension.isin(list(dimensions))
                      & labels.label.notnull())
    rank = (t.is_human.fill_null(False).cast("int64") * 10_000_000_000
            + t.labelled_at.epoch_seconds().cast("int64").fill_null(0))
    return t.group_by("target_id").aggregate(**{
        f"best_{d}": t.label.argmax(rank, where=t.dimension == d) for d in dimensions
    })


def labelled_items(con: BaseBackend, target: str, *, since: dt.datetime | None = None,
                   text: bool = False) -> Table:
    """The target's items with their best cause and category: id, created_at, cause, category
    (and text). Mentions are the customers' posts only: the brand's replies are not listened to.
    """
    table = con.table(target)
    if target == "mentions":
        table = table.filter(table.inbound.fill_null(True))
    else:  # a contact made from a mention is that mention, already counted
        table = table.filter(table.source != ROUTED_SOURCE)
    if since is not None:
        table = table.filter(table.created_at >= since)
    own = {d: table[d] if d in table.columns else ibis.null("string") for d in DIMENSIONS}
    extra = {"text": table.text} if text else {}
    items = table.select(id=table[_ID[target]], created_at=table.created_at,
                         **{f"own_{d}": v for d, v in own.items()}, **extra)
    best = best_labels(con.table("labels"), target, DIMENSIONS)
    joined = items.left_join(best, items.id == best.target_id)
    return joined.select("id", "created_at", *extra, **{
        d: joined[f"best_{d}"].coalesce(joined[f"own_{d}"]) for d in DIMENSIONS})


def hourly_counts(items: Table, dimension: str | None) -> Table:
    """(hour, value, n): items per hour and value of the dimension (None: the total)."""
    items = items.mutate(hour=items.created_at.truncate("h"))
    if dimension is None:
        counted = items.group_by("hour").aggregate(n=lambda t: t.count())
        return counted.mutate(value=ibis.literal(TOTAL[1]))
    items = items.filter(items[dimension].notnull()).mutate(value=items[dimension])
    return items.group_by(["hour", "value"]).aggregate(n=lambda t: t.count())


@dataclass
class Volumes:
    """counts[i, h]: items of series keys[i] in hour h after `start` (a midnight)."""

    start: dt.datetime
    keys: list[tuple[str, str, str]]  # (target, dimension, value)
    counts: np.ndarray
    pool: np.ndarray  # index of the series whose shape each series borrows (its target's total)

    @property
    def hours(self) -> int:
        return int(self.counts.shape[1])

    def hour_start(self, h: int) -> dt.datetime:
        return self.start + dt.timedelta(hours=int(h))


def volume_matrix(frames: Sequence[tuple[str, str, pd.DataFrame]],
                  end: dt.datetime | None = None) -> Volumes | None:
    """Dense hourly counts from (target, dimension, frame[hour, value, n]) triples, over whole
    days from the first hour's midnight to the last hour's (or `end`'s) day. None when empty."""
    frames = [(t, d, f) for t, d, f in frames if len(f)]
    if not frames:
        return None
    first = min(pd.Timestamp(f["hour"].min()) for _, _, f in frames).normalize()
    last = max(pd.Timestamp(f["hour"].max()) for _, _, f in frames)
    if end is not None:
        last = max(last, pd.Timestamp(end))
    days = int((last.normalize() - first).days) + 1
    keys: list[tuple[str, str, str]] = []
    rows: list[np.ndarray] = []
    for target, dim, f in frames:
        idx = ((pd.to_datetime(f["hour"]) - first) // pd.Timedelta(hours=1)).to_numpy()
        for value, part in f.assign(_h=idx).groupby("value", sort=True):
            row = np.zeros(days * 24)
            np.add.at(row, part["_h"].to_numpy(), part["n"].to_numpy(dtype=np.float64))
            keys.append((target, dim, str(value)))
            rows.append(row)
    totals = {k[0]: i for i, k in enumerate(keys) if k[1] == TOTAL[0]}
    pool = np.array([totals.get(k[0], i) for i, k in enumerate(keys)])
    return Volumes(first.to_pydatetime(), keys, np.vstack(rows), pool)
