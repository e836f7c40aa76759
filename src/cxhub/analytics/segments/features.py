"""Per-customer figures read from the warehouse, as Ibis expressions (DuckDB or Spark).

Which customer a row belongs to: its (customer_source or source, customer_external_id), mapped
to a resolved `customer_id` through `customer_links` when identity resolution has linked it.
`customer_key` is the resolved id as text when there is one, else "source|external id", so
unresolved data still has one key per customer and resolved customers merge their systems.
Rows with no customer_external_id belong to no customer and are left out.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd
from ibis.backends import BaseBackend
from ibis.expr.types import Table

# Kinds that count as a purchase (a repeat-buying event) and kinds that count towards net
# revenue. An invoice bills a subscription: revenue, but not a decision to buy again (the
# subscription's renewals are modelled by the sBG, see `contracts`), so it is no purchase.
# Payments settle invoices, so counting both would count the money twice; a row with no kind
# is taken as a purchase.
PURCHASE_KINDS = ("purchase", "order")
REVENUE_KINDS = PURCHASE_KINDS + ("invoice", "refund")


@dataclass(frozen=True)
class Window:
    """The dates the segments look at: everything up to `as_of` (inclusive), with the last
    12 months split into two halves for growth."""

    as_of: dt.date

    @property
    def end(self) -> dt.datetime:  # exclusive upper bound on timestamps
        return dt.datetime.combine(self.as_of + dt.timedelta(days=1), dt.time())

    def months_before(self, months: int) -> dt.datetime:
        y, m = divmod(self.as_of.year * 12 + self.as_of.month - 1 - months, 12)
        day = min(self.as_of.day, _days_in_month(y, m + 1))
        return dt.datetime.combine(dt.date(y, m + 1, day) + dt.timedelta(days=1), dt.time())


def _days_in_month(year: int, month: int) -> int:
    nxt = dt.date(year + month // 12, month % 12 + 1, 1)
    return (nxt - dt.timedelta(days=1)).day


def frame(expr: Table) -> pd.DataFrame:
    """The result as pandas, by way of Arrow: Ibis's own `to_pandas` on DuckDB builds Python
    objects per value and took 30 s of a 90 s refresh of a million customers. Dates come back
    as datetime64, not Python dates."""
    return expr.to_pyarrow().to_pandas(date_as_object=False)


def has_links(con: BaseBackend) -> bool:
    return int(con.table("customer_links").count().execute()) > 0


def _links(con: BaseBackend) -> Table:
    links = con.table("customer_links")
    # Identity resolution writes one row per source record; max() only guards against a
    # duplicate so that the join can never multiply a customer's rows.
    return links.group_by(
        link_source=links.source, link_external_id=links.external_id
    ).agg(customer_id=links.customer_id.max())


def keyed(con: BaseBackend, table: str) -> Table:
    """`table` with `customer_id` (nullable) and `customer_key` added."""
    t = con.table(table)
    t = t.filter(t.customer_external_id.notnull()).mutate(
        key_source=t.customer_source.fill_null(t.source)
    )
    links = _links(con)
    j = t.left_join(
        links,
        [t.key_source == links.link_source, t.customer_external_id == links.link_external_id],
    )
    key = j.customer_id.cast("string").fill_null(j.key_source.concat("|", j.customer_external_id))
    return j.mutate(customer_key=key).drop("link_source", "link_external_id")


def purchase_days(con: BaseBackend, *, until: dt.datetime, source: str | None = None) -> Table:
    """One row per customer and day with at least one purchase before `until`: several
    purchases on one day are one purchase, their amounts summed (as in the CDNOW analyses)."""
    t = keyed(con, "transactions")
    t = t.filter(t.kind.isnull() | t.kind.isin(PURCHASE_KINDS), t.amount >= 0,
                 t.occurred_at < until)
    if source is not None:
        t = t.filter(t.source == source)
    return t.group_by("customer_key", "customer_id", day=t.occurred_at.date()).agg(
        amount=t.amount.sum()
    )


def clv_summary(
    con: BaseBackend, calibration_end: dt.date, *, source: str | None = None
) -> pd.DataFrame:
    """Per customer: x (repeat purchase days), t_x and T in weeks, and m, the mean value of the
    repeat purchases (the first purchase left out), as the BG/NBD and Gamma-Gamma need them."""
    end = dt.datetime.combine(calibration_end + dt.timedelta(days=1), dt.time())
    days = purchase_days(con, until=end, source=source)
    per = days.group_by("customer_key", "customer_id").agg(
        first_day=days.day.min(),
        last_day=days.day.max(),
        purchases=days.count(),
        total=days.amount.sum(),
        first_amount=days.amount.argmin(days.day),
    )
    df = frame(per)
    first = pd.to_datetime(df["first_day"])
    last = pd.to_datetime(df["last_day"])
    cal_end = pd.Timestamp(calibration_end)
    x = df["purchases"].astype(float) - 1.0
    repeat_total = df["total"].astype(float) - df["first_amount"].astype(float)
    return pd.DataFrame({
        "customer_key": df["customer_key"],
        "customer_id": df["customer_id"].astype("Int64"),
        "x": x,
        "t_x": (last - first).dt.days / 7.0,
        "T": (cal_end - first).dt.days / 7.0,
        "m": (repeat_total / x.where(x > 0)).fillna(0.0),
    })


def segment_dimension(con: BaseBackend) -> Table:
    """(source, external_id) of every linked customer record with its customer's stored
    segments: join any record table on (coalesce(customer_source, source),
    customer_external_id) to use a segment as a dimension of a metric."""
    links = _links(con)
    seg = con.table("customer_segments")
    j = links.join(seg, links.customer_id == seg.customer_id)
    return j.select(
        source=j.link_source, external_id=j.link_external_id, customer_id=links.customer_id,
        rfm_segment=j.rfm_segment, portfolio=j.portfolio,
        contact_intensity=j.contact_intensity, persona=j.persona, segment=j.segment,
    )
