"""Per-customer profile for RFM, the portfolio, contact intensity and personas.

One row per `customer_key` (see `features`), every figure taken up to the window's `as_of` date.
Each source table is aggregated on its own as an Ibis expression (so the work runs inside the
engine) and the small per-customer results are joined in pandas.
"""

from __future__ import annotations

import ibis
import pandas as pd
from ibis.backends import BaseBackend
from ibis.expr.types import Table

from cxhub.analytics.segments.features import (
    REVENUE_KINDS,
    Window,
    frame,
    keyed,
    purchase_days,
)
from cxhub.domain.canonical import CHANNELS

# Channels that get their own persona feature; the rest are pooled as "other" so that a rare
# channel cannot become a cluster of its own.
PERSONA_CHANNELS = ("phone", "email", "chat")
# Touchpoints that happen on a screen. Deliveries, branch visits and the like are journey
# events too, but not digital ones.
DIGITAL_CHANNELS = ("web", "app", "mobile", "email", "chat", "social", "sms", "push")
DIGITAL_TYPE_PREFIXES = ("web_", "app_", "email_", "online_", "mobile_")

_KEYS = ("customer_key", "customer_id")


def customer_profile(con: BaseBackend, window: Window) -> pd.DataFrame:
    """Columns: customer_key, customer_id, net_revenue, revenue_recent, revenue_prior,
    first_purchase, last_purchase, frequency, contacts_12m, contacts_<channel> (12 months, each
    channel), satisfaction, surveys, digital_touchpoints, products_held, first_seen,
    customer_since, and last_activity: the last purchase, contact, survey answer or digital
    touchpoint (what the customer did, not what was sent or billed to them)."""
    end = window.end
    recent_start, prior_start = window.months_before(6), window.months_before(12)
    parts: list[Table] = []

    tx = keyed(con, "transactions")
    tx = tx.filter(tx.occurred_at < end, tx.kind.isnull() | tx.kind.isin(REVENUE_KINDS))
    parts.append(tx.group_by(*_KEYS).agg(
        net_revenue=tx.amount.sum(),
        revenue_recent=tx.amount.sum(where=tx.occurred_at >= recent_start),
        revenue_prior=tx.amount.sum(
            where=(tx.occurred_at >= prior_start) & (tx.occurred_at < recent_start)),
        first_transaction=tx.occurred_at.min(),
    ))

    days = purchase_days(con, until=end)
    parts.append(days.group_by(*_KEYS).agg(first_purchase=days.day.min(),
                                           last_purchase=days.day.max(),
                                           frequency=days.count()))

    contacts = keyed(con, "contacts")
    contacts = contacts.filter(contacts.created_at < end)
    recent = contacts.created_at >= prior_start
    # Channels outside the vocabulary count as "other", so that their cost is not lost.
    channel = contacts.channel.cases(*((c, c) for c in CHANNELS if c != "other"),
                                     else_="other")
    parts.append(contacts.group_by(*_KEYS).agg(
        first_contact=contacts.created_at.min(), last_contact=contacts.created_at.max(),
        **{f"contacts_{c}": contacts.count(where=recent & (channel == c)) for c in CHANNELS},
    ))

    parts.append(_satisfaction(con, end))

    tp = keyed(con, "touchpoints")
    tp = tp.filter(tp.occurred_at < end)
    digital = tp.channel.isin(DIGITAL_CHANNELS)
    for prefix in DIGITAL_TYPE_PREFIXES:
        digital = digital | tp.touchpoint_type.startswith(prefix)
    parts.append(tp.group_by(*_KEYS).agg(
        digital_touchpoints=tp.count(where=digital & (tp.occurred_at >= prior_start)),
        first_touchpoint=tp.occurred_at.min(),
        last_digital=tp.occurred_at.max(where=digital),
    ))

    hold = keyed(con, "holdings")
    hold = hold.filter(hold.started_at < end)
    held = hold.ended_at.isnull() | (hold.ended_at >= end)
    parts.append(hold.group_by(*_KEYS).agg(
        products_held=hold.product.nunique(where=held),
        first_holding=hold.started_at.min(),
    ))

    # Every customer seen in any part, then each part joined on: one query, run by the
    # engine (pandas merges of a million rows took longer than all the aggregations).
    profile = ibis.union(*(p.select(*_KEYS) for p in parts), distinct=True)
    for part in parts:
        profile = profile.left_join(part.drop("customer_id"), "customer_key")
        profile = profile.drop(*(c for c in profile.columns if c.endswith("_right")))
    customers = con.table("customers").select("customer_id", "customer_since")
    profile = profile.left_join(customers, "customer_id")
    profile = profile.drop(*(c for c in profile.columns if c.endswith("_right")))
    return _finish(frame(profile))


def _satisfaction(con: BaseBackend, end: object) -> Table:
    """Mean survey answer on a 0-1 scale: CSAT 1-5, NPS 0-10 and CES 1-7 (7 = easiest), so
    that customers answering different surveys can be compared."""
    s = keyed(con, "surveys")
    s = s.filter(s.answered_at < end)
    scaled = ibis.cases(
        (s.survey_type == "csat", (s.score - 1) / 4),
        (s.survey_type == "nps", s.score / 10),
        (s.survey_type == "ces", (s.score - 1) / 6),
        else_=ibis.null("float64"),
    )
    return s.group_by(*_KEYS).agg(satisfaction=scaled.mean(), surveys=s.count(),
                                  last_survey=s.answered_at.max())


def _finish(df: pd.DataFrame) -> pd.DataFrame:
    df["customer_id"] = df["customer_id"].astype("Int64")
    contacts = [f"contacts_{c}" for c in CHANNELS]
    counts = ["frequency", "surveys", "digital_touchpoints", "products_held", *contacts]
    df[counts] = df[counts].astype("float64").fillna(0.0).astype("int64")
    df["contacts_12m"] = df[contacts].sum(axis=1)
    money = ["net_revenue", "revenue_recent", "revenue_prior"]
    df[money] = df[money].astype("float64").fillna(0.0)
    firsts = ["first_transaction", "first_contact", "first_touchpoint", "first_holding",
              "customer_since"]
    df["first_seen"] = pd.concat([pd.to_datetime(df[c]) for c in firsts], axis=1).min(axis=1)
    df["first_purchase"] = pd.to_datetime(df["first_purchase"])
    df["last_purchase"] = pd.to_datetime(df["last_purchase"])
    lasts = ["last_purchase", "last_contact", "last_survey", "last_digital"]
    df["last_activity"] = pd.concat([pd.to_datetime(df[c]) for c in lasts], axis=1).max(axis=1)
    drop = [c for c in firsts if c != "customer_since"] + lasts[1:]
    return df.drop(columns=drop)
