"""The fact tables the metrics are computed from, as Ibis expressions over the warehouse.

Each fact is a canonical table with what a metric needs joined on: the category and cause a
contact was classified under (a human label beats a model label, a newer label an older one,
and a contact's own category or cause is used when nobody labelled it), the customer's
segment, and lifecycle figures such as the wait or the handling time. Joins and windows are
added only for the columns a query reads, so counting contacts by channel never touches the
labels. The column lists below are the vocabulary of the catalogue's formulas.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import ibis
import ibis.expr.types as ir
from ibis import _

from cxhub.metrics import source
from cxhub.metrics.source import TableSource

_CONTACT_BASE = {
    "contact_id": "the contact's id",
    "source": "the system the contact came from",
    "external_id": "the contact's id in its source",
    "channel": "phone, email, chat, web, social, community, letter, referral, other",
    "created_at": "when the customer made contact",
    "queued_at": "when it joined an agent queue",
    "answered_at": "when an agent answered (phone, chat)",
    "first_response_at": "the first agent reply (written channels)",
    "resolved_at": "when it was resolved",
    "abandoned_at": "when the customer gave up waiting",
    "wait_seconds": "the wait as given by the source",
    "talk_seconds": "talk time", "hold_seconds": "hold time", "wrap_seconds": "after-call work",
    "outcome": "answered, abandoned, phantom, responded ...",
    "queue": "the queue", "team": "the team that handled it", "agent": "the agent",
    "product": "the product concerned", "issue": "the issue as given by the source",
    "company": "the company complained about", "region": "the customer's region",
    "resolution": "what the company did", "timely": "answered within the promised time",
    "disputed": "the customer disputed the response",
}
_CONTACT_COMPUTED = {
    "category": "labelled category (human, then newest model label), else the contact's own",
    "cause": "labelled cause (human, then newest model label), else the contact's own",
    "segment": "the customer's lifetime-value band (customer_segments, through "
               "customer_links): top, high, medium, low value, no purchases",
    "persona": "the customer's persona (customer_segments)",
    "portfolio": "the customer's portfolio quadrant (customer_segments)",
    "rfm_segment": "the customer's RFM segment (customer_segments)",
    "customer_key": "the resolved customer id, else the customer's id in its source system",
    "live": "phone or chat",
    "answered": "an agent answered it",
    "abandoned": "the customer gave up waiting (never answered; phantom calls excluded)",
    "queued": "it reached an agent queue (answered or abandoned counts; phantom calls do not)",
    "wait": "seconds in the queue: wait_seconds, else from queued_at to answer or abandonment",
    "handled": "an agent worked on it (talk time recorded)",
    "handle_seconds": "talk + hold + wrap, a missing part counted as 0",
    "first_response_seconds": "seconds from creation to the first agent reply",
    "resolution_seconds": "seconds from creation to resolution",
    "first_response_business_seconds": "open seconds of the channel's business calendar "
                                       "from creation to the first agent reply "
                                       "(business_days; its clock seconds without a calendar)",
    "resolution_business_seconds": "open seconds of the channel's business calendar from "
                                   "creation to resolution",
    "closed_at": "resolved or abandoned (never before creation); missing while open",
    "reached_at": "answered or first responded",
    "arrived_at": "queued_at, else created_at",
    "repeat_gap_seconds": "seconds from resolution to the same customer's next contact on the "
                          "same cause (negative when it came before the resolution)",
}
_SURVEY = {
    "survey_id": "the answer's id", "source": "the survey system",
    "survey_type": "csat (1-5), nps (0-10) or ces (1-7)", "score": "the score",
    "answered_at": "when the customer answered",
    "segment": "the customer's lifetime-value band", "persona": "the customer's persona",
    "portfolio": "the customer's portfolio quadrant", "rfm_segment": "the customer's RFM segment",
    "channel": "the surveyed contact's channel", "team": "the surveyed contact's team",
    "queue": "the surveyed contact's queue", "agent": "the surveyed contact's agent",
    "category": "the surveyed contact's category", "cause": "the surveyed contact's cause",
}
_MENTION = {
    "mention_id": "the post's id", "source": "the listening source",
    "platform": "twitter, facebook, forum ...", "author": "who wrote it",
    "brand": "the company account addressed", "inbound": "written by a customer",
    "created_at": "when it was posted", "first_response_at": "the brand's first reply",
    "first_response_seconds": "seconds to the brand's first reply",
    "channel": "always social", "category": "labelled category", "cause": "labelled cause",
    "segment": "the author's lifetime-value band, when the author is a known customer",
    "persona": "the author's persona", "portfolio": "the author's portfolio quadrant",
    "rfm_segment": "the author's RFM segment",
}
_SERVICE_CONTACT = {
    "incremental_revenue": "what the offers decided in the contact added (offer_decisions "
                           "with an outcome): each accepted offer's revenue per acceptance "
                           "(its offer's mean among offered), over the offer's share offered "
                           "when offered, minus over its share held out when in control; 0 "
                           "without a decision",
}
_FORECAST = {
    "channel": "the channel forecast",
    "interval_start": "the interval's start (UTC)",
    "interval_minutes": "the interval's length",
    "run_id": "the forecast run: the newest made before the interval's day began",
    "model": "the model the run chose for the channel",
    "forecast": "contacts forecast for the interval (the point forecast)",
    "low": "the 95% interval's lower end", "high": "the 95% interval's upper end",
    "arrived": "contacts created in the interval on the channel",
    "matched": "the smaller of forecast and arrived", "larger": "the larger of the two",
    "abs_error": "the absolute difference of arrived and forecast",
}
_TIME_DIMENSIONS = ("hour_of_day", "weekday")
# The customer's segments, each a column of customer_segments reached through the record's
# customer (customer_links): every metric can be cut by each of them.
_SEGMENT_DIMENSIONS = ("segment", "persona", "portfolio", "rfm_segment")


LABEL_DIMENSIONS = ("category", "cause", "sentiment")  # the columns of current_labels


@dataclass(frozen=True)
class Fact:
    name: str
    description: str
    columns: dict[str, str]  # name -> description: what formulas may read
    dimensions: tuple[str, ...]  # what `by` and filters may use


FACTS: dict[str, Fact] = {
    "contacts": Fact(
        "contacts", "every contact, with its classification, customer segment and lifecycle",
        _CONTACT_BASE | _CONTACT_COMPUTED,
        ("channel", "category", "cause", "team", *_SEGMENT_DIMENSIONS, "queue", "agent",
         "source", "product", "region", "company", *_TIME_DIMENSIONS)),
    "surveys": Fact(
        "surveys", "survey answers, with the surveyed contact's channel, team and cause",
        _SURVEY, ("channel", "category", "cause", "team", *_SEGMENT_DIMENSIONS, "queue",
                  "agent", "source", *_TIME_DIMENSIONS)),
    "mentions": Fact(
        "mentions", "social media posts, with their classification",
        _MENTION, ("channel", "category", "cause", *_SEGMENT_DIMENSIONS, "platform", "brand",
                   "source", *_TIME_DIMENSIONS)),
}
# Contacts as the service channel of marketing (issue 14): the same rows and dimensions, with
# what the offers decided in each added. Not summed ahead (sums.FACTS): an offer's figures
# change with every outcome recorded, on any day.
FACTS["service_contacts"] = Fact(
    "service_contacts", "every contact, with the incremental revenue of the offers decided in it",
    FACTS["contacts"].columns | _SERVICE_CONTACT, FACTS["contacts"].dimensions)
# The stored forecasts against what arrived (issue 15): one row per channel and interval, from
# the newest run made before the interval's day began (what was known in advance).
FACTS["forecasts"] = Fact(
    "forecasts", "each forecast interval of each channel, with the contacts that arrived in it",
    _FORECAST, ("channel", *_TIME_DIMENSIONS))
TIME_DIMENSIONS = _TIME_DIMENSIONS
# A clock column -> the same time counted in business hours: what a definition's
# `business_hours: true` swaps in its formulas (definitions.business_twin).
_CONTACT_CLOCKS = {"first_response_seconds": "first_response_business_seconds",
                   "resolution_seconds": "resolution_business_seconds"}
BUSINESS_CLOCKS: dict[str, dict[str, str]] = {"contacts": _CONTACT_CLOCKS,
                                              "service_contacts": _CONTACT_CLOCKS}
# A business-time column -> the time its span ends at (it starts at created_at).
_BUSINESS_ENDS = {"first_response_business_seconds": "first_response_at",
                  "resolution_business_seconds": "resolved_at"}
SEGMENT_DIMENSIONS = _SEGMENT_DIMENSIONS


def build(con: TableSource, fact: str, needed: Collection[str], *,
          created_since: datetime | None = None,
          created_before: datetime | None = None,
          times_in: Mapping[str, Sequence[tuple[Any, Any]]] | None = None) -> ir.Table:
    """The fact table with at least the `needed` columns; for contacts, only those created in
    [created_since, created_before) when given, and (`times_in`, a time column -> [start,
    end) spans) only those that may have one of these times in one of its spans: a row
    without is dropped, a row kept may still lie outside, for the caller to filter."""
    needed = set(needed)
    if fact == "contacts":
        return contacts(con, needed, created_since=created_since,
                        created_before=created_before, times_in=times_in)
    if fact == "surveys":
        return surveys(con, needed)
    if fact == "mentions":
        return mentions(con, needed)
    if fact == "service_contacts":
        return service_contacts(con, needed, created_since=created_since,
                                created_before=created_before, times_in=times_in)
    if fact == "forecasts":
        return forecasts(con)
    raise KeyError(f"unknown fact {fact!r}; facts: {', '.join(FACTS)}")


def _seconds(later: ir.TimestampValue, earlier: ir.TimestampValue) -> ir.IntegerValue:
    return later.epoch_seconds() - earlier.epoch_seconds()


def _labelled(con: TableSource, t: ir.Table, target: str, id_column: str,
              dimensions: tuple[str, ...], *, only_these: bool = False) -> ir.Table:
    """`t` with each dimension taken from the best label, else kept as it was.

    With `only_these`, only the labels of the rows of `t` are read (a semi-join): when `t` is
    a few weeks of contacts, that spares reading and grouping every label ever written."""
    if source.ready(con).labels:
        current = con.table("current_labels")
        best = current.filter(current.target == target).select(
            label_target_id=current.target_id, **{f"label_{d}": current[d] for d in dimensions})
    else:
        labels = con.table("labels").filter(_.target == target, _.dimension.isin(dimensions))
        if only_these:
            ids = t.select(labelled_id=t[id_column])
            labels = labels.semi_join(ids, labels.target_id == ids.labelled_id)
        best = best_labels(labels, dimensions).rename(label_target_id="target_id", **{
            f"label_{d}": d for d in dimensions})
    joined = t.left_join(best, t[id_column] == best.label_target_id)
    own = {d: ibis.coalesce(joined[f"label_{d}"], joined[d]) if d in t.columns
           else joined[f"label_{d}"] for d in dimensions}
    return joined.mutate(**own).drop("label_target_id", *(f"label_{d}" for d in dimensions))


def best_labels(labels: ir.Table, dimensions: tuple[str, ...],
                keys: tuple[str, ...] = ("target_id",)) -> ir.Table:
    """One row per target_id (per `keys`) with the winning label of each dimension: a human
    label beats a model label, then the newest wins (the rule current_labels is kept by)."""
    # One sort key: human labels above model labels, then the newest.
    rank = (labels.is_human.fill_null(False).cast("int64") * 10_000_000_000
            + labels.labelled_at.epoch_seconds().cast("int64").fill_null(0))
    return labels.group_by(list(keys)).agg(**{
        d: labels.label.argmax(rank, where=labels.dimension == d) for d in dimensions})


def segments_in(needed: Collection[str]) -> tuple[str, ...]:
    """The segment columns among `needed`, in a fixed order."""
    return tuple(d for d in _SEGMENT_DIMENSIONS if d in needed)


def _with_customer(con: TableSource, t: ir.Table, *,
                   segments: Collection[str] = ()) -> ir.Table:
    """`t` (with customer_source/customer_external_id) plus customer_key and the segment
    columns asked for.

    customer_links holds one row per source record and customer_segments one row per
    customer: the identity run and the segments refresh each replace their whole table."""
    links = con.table("customer_links")
    link = links.select(link_source=links.source, link_external_id=links.external_id,
                        link_customer_id=links.customer_id)
    if segments:
        segs = con.table("customer_segments")
        seg = segs.select(seg_customer_id=segs.customer_id,
                          **{d: segs[d] for d in segments_in(segments)})
        link = link.left_join(seg, link.link_customer_id == seg.seg_customer_id).drop(
            "seg_customer_id")
    t = t.mutate(customer_system=ibis.coalesce(t.customer_source, t.source))
    joined = t.left_join(link, (t.customer_system == link.link_source)
                         & (t.customer_external_id == link.link_external_id))
    key = ibis.ifelse(
        joined.link_customer_id.notnull(),
        ibis.literal("id:") + joined.link_customer_id.cast("string"),
        joined.customer_system + ":" + joined.customer_external_id)
    return joined.mutate(customer_key=key).drop(
        "link_source", "link_external_id", "link_customer_id", "customer_system")


def _answered(c: ir.Table) -> ir.BooleanValue:
    return c.answered_at.notnull()


def _phantom(c: ir.Table) -> ir.BooleanValue:
    return c.outcome.fill_null("") == "phantom"


def _abandoned(c: ir.Table) -> ir.BooleanValue:
    gave_up = c.abandoned_at.notnull() | (c.outcome.fill_null("") == "abandoned")
    return gave_up & ~_answered(c) & ~_phantom(c)


def _closed(c: ir.Table) -> ir.Value:
    closed = ibis.coalesce(c.resolved_at, c.abandoned_at)
    return ibis.ifelse(closed.isnull(), None, ibis.greatest(closed, c.created_at))


def _handle(c: ir.Table) -> ir.Value:
    parts = (c.talk_seconds, c.hold_seconds, c.wrap_seconds)
    missing = parts[0].isnull() & parts[1].isnull() & parts[2].isnull()
    return ibis.ifelse(missing, None, sum((p.fill_null(0) for p in parts[1:]),
                                          parts[0].fill_null(0)))


_LIFECYCLE = ("queued_at", "answered_at", "abandoned_at", "outcome")
# Computed columns: the base columns each reads, and how it is made from them.
_COMPUTED: dict[str, tuple[tuple[str, ...], Any]] = {
    "live": (("channel",), lambda c: c.channel.isin(["phone", "chat"]).fill_null(False)),
    "answered": (("answered_at",), _answered),
    "abandoned": (_LIFECYCLE, _abandoned),
    "queued": (_LIFECYCLE, lambda c: (c.queued_at.notnull() | _answered(c) | _abandoned(c))
               & ~_phantom(c)),
    "wait": (("wait_seconds", "queued_at", "answered_at", "abandoned_at"), lambda c: ibis.coalesce(
        c.wait_seconds, _seconds(ibis.coalesce(c.answered_at, c.abandoned_at), c.queued_at))),
    "handled": (("talk_seconds",), lambda c: c.talk_seconds.notnull()),
    "handle_seconds": (("talk_seconds", "hold_seconds", "wrap_seconds"), _handle),
    "first_response_seconds": (("first_response_at", "created_at"),
                               lambda c: _seconds(c.first_response_at, c.created_at)),
    "resolution_seconds": (("resolved_at", "created_at"),
                           lambda c: _seconds(c.resolved_at, c.created_at)),
    "closed_at": (("resolved_at", "abandoned_at", "created_at"), _closed),
    "reached_at": (("answered_at", "first_response_at"),
                   lambda c: ibis.coalesce(c.answered_at, c.first_response_at)),
    "arrived_at": (("queued_at", "created_at"),
                   lambda c: ibis.coalesce(c.queued_at, c.created_at)),
}
_CUSTOMER = ("source", "customer_source", "customer_external_id")
# The stored times a computed time is one of: a contact closed in a span was resolved,
# abandoned or (closed before it was made) created in it.
_TIME_SOURCES = {"closed_at": ("resolved_at", "abandoned_at", "created_at"),
                 "reached_at": ("answered_at", "first_response_at"),
                 "arrived_at": ("queued_at", "created_at")}


def _times_in(c: ir.Table,
              times_in: Mapping[str, Sequence[tuple[Any, Any]]]) -> ir.BooleanValue:
    """The contact has a stored time that one of the `times_in` may be in one of its spans:
    plain ranges on the stored columns, which DuckDB checks against each row group's minimum
    and maximum, so that the groups of older contacts are not read at all."""
    tests = []
    for name, spans in times_in.items():
        for column in _TIME_SOURCES.get(name, (name,)):
            if column not in _CONTACT_BASE or not column.endswith("_at"):
                raise ValueError(f"{name!r} is not a time of a contact")
            tests += [(c[column] >= a) & (c[column] < b) for a, b in spans]
    return functools.reduce(operator.or_, tests)


def _base_columns(needed: set[str]) -> set[str]:
    """The columns of the contacts table that the needed fact columns are made from."""
    cols = needed & set(_CONTACT_BASE)
    for name, (deps, _make) in _COMPUTED.items():
        if name in needed:
            cols |= set(deps)
    if needed & {"category", "cause"}:
        cols |= {"contact_id"} | (needed & {"category", "cause"})
    if needed & {*_SEGMENT_DIMENSIONS, "customer_key"}:
        cols |= set(_CUSTOMER)
    if "repeat_gap_seconds" in needed:
        cols |= {"contact_id", "cause", "created_at", "resolved_at", *_CUSTOMER}
    for name, end in _BUSINESS_ENDS.items():
        if name in needed:
            cols |= {"channel", "created_at", end}
    return cols


def _open_seconds(con: TableSource, c: ir.Table, column: str, tag: str) -> ir.Table:
    """`c` with `tag`: F(column), the open seconds of the channel's business calendar from
    its first day up to the time (business_days: the open seconds before the day plus the
    open part of the day before the time); missing without a calendar row."""
    d = con.table("business_days")
    d = d.select(**{f"{tag}_channel": d.channel, f"{tag}_day": d.day,
                    f"{tag}_a": d.open_start_s, f"{tag}_b": d.open_end_s,
                    f"{tag}_before": d.open_before_s})
    t = c[column]
    j = c.left_join(d, [c.channel == d[f"{tag}_channel"], t.date() == d[f"{tag}_day"]])
    second = t.epoch_seconds() - t.truncate("D").epoch_seconds()
    a, b = j[f"{tag}_a"], j[f"{tag}_b"]
    inside = ibis.greatest(ibis.least(second, b), a) - a
    return j.mutate(**{tag: j[f"{tag}_before"] + inside}).drop(
        f"{tag}_channel", f"{tag}_day", f"{tag}_a", f"{tag}_b", f"{tag}_before")


def _business_times(con: TableSource, c: ir.Table, names: list[str]) -> ir.Table:
    """`c` with each business-time column of `names`: F(end) - F(created_at), F looked up in
    business_days at both ends (warehouse.business_days); the clock seconds where the
    channel has no calendar (or a day lies outside it), so both figures agree there."""
    c = _open_seconds(con, c, "created_at", "_f_start")
    made = {}
    for i, name in enumerate(names):
        end = _BUSINESS_ENDS[name]
        c = _open_seconds(con, c, end, f"_f_end{i}")
        business = c[f"_f_end{i}"] - c["_f_start"]
        made[name] = ibis.ifelse(c["_f_start"].notnull() & c[f"_f_end{i}"].notnull(), business,
                                 _seconds(c[end], c.created_at))
    c = c.mutate(**made)
    return c.drop("_f_start", *(f"_f_end{i}" for i in range(len(names))))


def contacts(con: TableSource, needed: set[str], *, created_since: datetime | None = None,
             created_before: datetime | None = None,
             times_in: Mapping[str, Sequence[tuple[Any, Any]]] | None = None) -> ir.Table:
    """Contacts with the needed columns, created in [created_since, created_before), and
    only those that may have a time of `times_in` in its spans (see `build`).

    The range is applied before any join. The repeat-contact window looks forward, so it
    sees contacts created after `created_before` as well (only the start bounds it).
    Only the columns asked for are carried: the Ibis graph, and so the time it takes to
    compile it to SQL, grows with every column."""
    ready = source.ready(con).repeats and "repeat_gap_seconds" in needed
    segs = segments_in(needed)
    c = con.table("contacts")
    narrowed = created_since is not None
    if times_in and ("repeat_gap_seconds" not in needed or ready):
        c = c.filter(_times_in(c, times_in))
        narrowed = True
    base = _base_columns(needed)
    if ready:  # the gap and the key come ready-made: no window, no links
        base = (base - {"cause", "resolved_at", *_CUSTOMER}) | (
            needed & {"cause", "resolved_at", *_CUSTOMER}) | {"contact_id"}
        if segs:
            base |= set(_CUSTOMER)
        # a business resolution time still needs its end
        base |= {end for name, end in _BUSINESS_ENDS.items() if name in needed}
    c = c.select(*sorted(base))
    if created_since is not None:
        c = c.filter(c.created_at >= created_since)
    if created_before is not None and ("repeat_gap_seconds" not in needed or ready):
        c = c.filter(c.created_at < created_before)
    labelled = tuple(d for d in ("category", "cause") if d in needed or (
        d == "cause" and "repeat_gap_seconds" in needed and not ready))
    if labelled:
        c = _labelled(con, c, "contacts", "contact_id", labelled,
                      only_these=narrowed)
    if ready:
        if segs:
            c = _with_customer(con, c, segments=segs).drop("customer_key")
        r = con.table("contact_repeats")
        r = r.select(repeat_contact_id=r.contact_id, customer_key=r.customer_key,
                     repeat_gap_seconds=r.repeat_gap_seconds)
        c = c.left_join(r, c.contact_id == r.repeat_contact_id).drop("repeat_contact_id")
    elif segs or needed & {"customer_key", "repeat_gap_seconds"}:
        c = _with_customer(con, c, segments=segs)
    business = [name for name in _BUSINESS_ENDS if name in needed]
    if business:
        c = _business_times(con, c, business)
    made = {name: make(c) for name, (_, make) in _COMPUTED.items() if name in needed}
    if made:
        c = c.mutate(**made)
    if "repeat_gap_seconds" in needed and not ready:
        c = c.mutate(repeat_gap_seconds=repeat_gaps(c))
    return c


def service_contacts(con: TableSource, needed: set[str], **window: Any) -> ir.Table:
    """Contacts with `incremental_revenue`: the sum over the contact's decided offers of a
    transformed outcome whose mean over an offer's decisions is exactly its incremental
    acceptance times its revenue per acceptance (the offers report's figure): acceptance x
    revenue x (1 / share offered when offered, -1 / share held out when in control). An
    offer with no control group (or no offered decision) adds 0: nothing to measure it by."""
    if "incremental_revenue" not in needed:
        return contacts(con, needed, **window)
    c = contacts(con, (needed - {"incremental_revenue"}) | {"source", "external_id"}, **window)
    d = con.table("offer_decisions")
    d = d.filter(d.contact_external_id.notnull()
                 & d.outcome.isin(["accepted", "declined", "ignored"]))
    d = d.mutate(held=d.control.fill_null(False), took=d.outcome == "accepted")
    per = d.group_by(per_offer=d.offer_code).agg(
        held_share=d.held.cast("float64").mean(),
        per_accept=d.revenue.fill_null(0.0).mean(where=d.took & ~d.held))
    d = d.inner_join(per, d.offer_code == per.per_offer)
    weight = ibis.ifelse(d.held, -1.0 / d.held_share, 1.0 / (1.0 - d.held_share))
    measurable = (d.held_share > 0) & (d.held_share < 1) & d.per_accept.notnull()
    z = ibis.ifelse(measurable & d.took, d.per_accept * weight, 0.0)
    # A decision made through the API (cxhub-nba) names the contact by its id alone.
    own = ibis.ifelse(d.source == "cxhub-nba", ibis.null("string"), d.source)
    per_contact = d.mutate(z=z, d_source=own).group_by(
        ["d_source", "contact_external_id"]).agg(incremental_revenue=_.z.sum())
    per_contact = per_contact.rename(d_external_id="contact_external_id")
    joined = c.left_join(per_contact, (c.external_id == per_contact.d_external_id) & (
        (c.source == per_contact.d_source) | per_contact.d_source.isnull()))
    joined = joined.mutate(incremental_revenue=joined.incremental_revenue.fill_null(0.0))
    drop = [x for x in ("d_source", "d_external_id") if x in joined.columns]
    drop += [x for x in ("source", "external_id") if x not in needed and x in joined.columns]
    return joined.drop(*drop)


def repeat_gaps(c: ir.Table) -> ir.Value:
    """Seconds from each contact's resolution to its customer's next contact on the same
    cause (`c` has customer_key, cause, created_at, contact_id and resolved_at)."""
    window = ibis.window(group_by=[c.customer_key, c.cause],
                         order_by=[c.created_at, c.contact_id])
    following = c.created_at.lead().over(window)
    return ibis.ifelse(c.customer_key.isnull(), None, _seconds(following, c.resolved_at))


def surveys(con: TableSource, needed: set[str]) -> ir.Table:
    """Survey answers; the contact's channel, team and cause come through contact_external_id
    (a contact of the same source)."""
    s = con.table("surveys")
    from_contact = sorted(needed & {"channel", "team", "queue", "agent", "category", "cause"})
    segs = segments_in(needed)
    keep = (needed - set(segs)) & set(s.columns)
    if from_contact:
        keep |= {"source", "contact_external_id"}
    if segs:
        keep |= set(_CUSTOMER)
    s = s.select(*sorted(keep))
    if segs:
        s = _with_customer(con, s, segments=segs).drop("customer_key")
    if from_contact:
        c = contacts(con, {*from_contact, "source", "external_id"})
        c = c.select(contact_source=c.source, contact_id_in_source=c.external_id,
                     **{d: c[d] for d in from_contact})
        s = s.left_join(c, (s.source == c.contact_source)
                        & (s.contact_external_id == c.contact_id_in_source)).drop(
            "contact_source", "contact_id_in_source")
    return s


def mentions(con: TableSource, needed: set[str]) -> ir.Table:
    m = con.table("mentions")
    labelled = tuple(d for d in ("category", "cause") if d in needed)
    segs = segments_in(needed)
    keep = (needed - set(segs)) & set(m.columns)
    if labelled:
        keep.add("mention_id")
    if segs:
        keep |= set(_CUSTOMER)
    if "first_response_seconds" in needed:
        keep |= {"first_response_seconds", "first_response_at", "created_at"}
    m = m.select(*sorted(keep))
    if labelled:
        m = _labelled(con, m, "mentions", "mention_id", labelled)
    if segs:
        m = _with_customer(con, m, segments=segs).drop("customer_key")
    made: dict[str, ir.Value] = {}
    if "channel" in needed:
        made["channel"] = ibis.literal("social")
    if "first_response_seconds" in needed:
        made["first_response_seconds"] = ibis.coalesce(
            m.first_response_seconds, _seconds(m.first_response_at, m.created_at))
    return m.mutate(**made) if made else m


def forecasts(con: TableSource) -> ir.Table:
    """Each channel's forecast intervals (channel-level series, not a team's) from the newest
    run whose origin is at or before the start of the interval's day, with the contacts created
    on the channel in each interval."""
    f = con.table("forecasts")
    f = f.filter(f.team.isnull() & f.channel.notnull())
    r = con.table("forecast_runs")
    r = r.select(r_run_id=r.run_id, origin=r.origin)
    f = f.inner_join(r, f.run_id == r.r_run_id)
    f = f.filter(_.origin <= _.interval_start.truncate("D"))
    newest = f.group_by(n_channel=_.channel, n_start=_.interval_start).agg(n_run=_.run_id.max())
    f = f.inner_join(newest, [f.channel == newest.n_channel, f.interval_start == newest.n_start,
                              f.run_id == newest.n_run])
    f = f.select("channel", "interval_start", "interval_minutes", "run_id", "model",
                 forecast=_.point, low=_.lo, high=_.hi,
                 interval_end=_.interval_start + _.interval_minutes.as_interval("m")).view()
    c = con.table("contacts")
    c = c.select(c_channel=c.channel, c_at=c.created_at)
    j = f.left_join(c, [f.channel == c.c_channel, c.c_at >= f.interval_start,
                        c.c_at < f.interval_end])
    g = j.group_by(["channel", "interval_start", "interval_minutes", "run_id", "model",
                    "forecast", "low", "high"]).agg(arrived=_.c_at.count())
    arrived = g.arrived.cast("float64")
    return g.mutate(matched=ibis.least(g.forecast, arrived),
                    larger=ibis.greatest(g.forecast, arrived),
                    abs_error=(arrived - g.forecast).abs())


def customer_tenures(con: TableSource, *, segments: Collection[str] = ()) -> ir.Table:
    """One row per customer holding a product: the first start and the last end of their
    holdings (missing while one is still held), and the segment columns asked for.
    Gaps between two holdings are ignored: a customer who comes back counts as active."""
    segs = segments_in(segments)
    if source.ready(con).tenures:
        # Kept one row per customer (customer_segments holds one segment per customer), with
        # the value band; the other segment columns come from customer_segments by the key.
        ready = con.table("customer_tenures")
        ready = ready.select("customer_key", *(["segment"] if "segment" in segs else []),
                             "first_at", "last_at")
        others = [d for d in segs if d != "segment"]
        if not others:
            return ready
        seg = con.table("customer_segments")
        seg = seg.select(seg_key=ibis.literal("id:") + seg.customer_id.cast("string"),
                         **{d: seg[d] for d in others})
        joined = ready.left_join(seg, ready.customer_key == seg.seg_key).drop("seg_key")
        return joined.select("customer_key", *segs, "first_at", "last_at")
    h = con.table("holdings").select(*_CUSTOMER, "started_at", "ended_at")
    h = _with_customer(con, h, segments=segs)
    h = h.filter(h.customer_key.notnull())
    keys = ["customer_key", *segs]
    g = h.group_by(keys).agg(first_at=h.started_at.min(), still_held=h.ended_at.isnull().any(),
                             last_end=h.ended_at.max())
    return g.mutate(last_at=ibis.ifelse(g.still_held, None, g.last_end)).drop(
        "still_held", "last_end")
