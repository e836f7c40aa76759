"""Ibis plans over the warehouse tables that the problems use cases read."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import ibis
import ibis.expr.types as ir
from ibis.backends import BaseBackend

from cxhub.metrics.facts import best_labels

COLUMNS = ("contact_id", "created_at", "channel", "cause", "category", "text", "region",
           "customer_source", "customer_external_id", "source")


def labelled_contacts(con: BaseBackend, *, start: dt.datetime | None = None,
                      end: dt.datetime | None = None, after_id: int | None = None,
                      causes: Sequence[str] | None = None,
                      columns: Sequence[str] = COLUMNS, ready_labels: bool = True,
                      ids: ir.Table | None = None) -> ir.Table:
    """Contacts in [start, end) (or with an id above `after_id`, or whose id is in the
    `wanted_id` column of `ids`) with their current cause and category: the winning label
    (from current_labels when `ready_labels`, the table being up to date), else what the
    source said."""
    c = con.table("contacts")
    if ids is not None:
        # A join, not an IN list: a selection of 10,000 ids stays one small relation.
        c = c.inner_join(ids, c.contact_id == ids.wanted_id).drop("wanted_id")
    c = _window(c, "contact_id", start, end, after_id)
    labels = _winning_labels(con, "contacts", ready=ready_labels, after_id=after_id, ids=ids)
    j = c.left_join(labels, c.contact_id == labels.label_id)
    j = j.mutate(cause=ibis.coalesce(j.label_cause, j.cause),
                 category=ibis.coalesce(j.label_category, j.category))
    if causes is not None:
        j = j.filter(j.cause.isin(list(causes)))
    return j.select(*columns)


def daily_by_cause(con: BaseBackend, *, start: dt.datetime | None = None,
                   ready_labels: bool = True) -> ir.Table:
    t = labelled_contacts(con, start=start, columns=("created_at", "cause"),
                          ready_labels=ready_labels)
    t = t.mutate(day=t.created_at.truncate("D"))
    return t.group_by(["day", "cause"]).aggregate(n=lambda x: x.count())


MENTION_COLUMNS = ("mention_id", "created_at", "cause", "category", "text", "external_id",
                   "thread_id")


def labelled_mentions(con: BaseBackend, *, start: dt.datetime | None = None,
                      end: dt.datetime | None = None, after_id: int | None = None,
                      causes: Sequence[str] | None = None,
                      columns: Sequence[str] = MENTION_COLUMNS,
                      ready_labels: bool = True) -> ir.Table:
    """Customers' posts (not the brand's replies) in [start, end) or with an id above
    `after_id`, with the cause and category the classifier gave them (a post has no label of
    its own from the source): the same columns a problem's rule reads on contacts."""
    m = con.table("mentions")
    m = _window(m.filter(m.inbound.fill_null(True)), "mention_id", start, end, after_id)
    won = _winning_labels(con, "mentions", ready=ready_labels, after_id=after_id)
    labels = won.select("label_id", cause=won.label_cause, category=won.label_category)
    j = m.inner_join(labels, m.mention_id == labels.label_id)  # unlabelled: no cause to match
    if causes is not None and "*" not in causes:
        j = j.filter(j.cause.isin(list(causes)))
    return j.select(*columns)


def _window(t: ir.Table, id_column: str, start: dt.datetime | None,
            end: dt.datetime | None, after_id: int | None) -> ir.Table:
    """Rows created in [start, end), and with an id above `after_id`, where given."""
    if start is not None:
        t = t.filter(t.created_at >= start)
    if end is not None:
        t = t.filter(t.created_at < end)
    if after_id is not None:
        t = t.filter(t[id_column] > after_id)
    return t


def _winning_labels(con: BaseBackend, target: str, *, ready: bool, after_id: int | None,
                    ids: ir.Table | None = None) -> ir.Table:
    """label_id, label_cause, label_category of `target`'s rows: from current_labels when
    `ready` (the table being up to date), else the winning label computed here, only for the
    rows above `after_id` or in `ids` when given."""
    if ready:
        labels = con.table("current_labels")
        return labels.filter(labels.target == target).select(
            label_id=labels.target_id, label_cause=labels.cause,
            label_category=labels.category)
    raw = con.table("labels")
    raw = raw.filter(raw.target == target, raw.dimension.isin(["cause", "category"]))
    if after_id is not None:  # only the new rows' labels
        raw = raw.filter(raw.target_id > after_id)
    if ids is not None:  # only the selected rows' labels
        raw = raw.inner_join(ids, raw.target_id == ids.wanted_id).drop("wanted_id")
    best = best_labels(raw, ("cause", "category"))
    return best.select(label_id=best.target_id, label_cause=best.cause,
                       label_category=best.category)
