"""What personas are made of: per-customer features a marketer would recognise.

`persona_inputs` reads what the segment profile (`profile.py`) does not hold: age from the
resolved customer's date of birth, the product families held at the as-of date, and complaints
among the categorised contacts of the last 12 months. `feature_table` turns a customer frame
(the profile, the inputs and `contacts_per_month`) into one column per feature, in the units
a reader understands (years, money a month, contacts a month, shares); `personas.py` scales
and clusters them. The definitions are in docs/segments.md ("Personas").
"""

from __future__ import annotations

from dataclasses import dataclass

import ibis
import numpy as np
import pandas as pd
from ibis.backends import BaseBackend

from cxhub.analytics.segments.features import Window, frame, keyed

# A product belongs to the first family whose pattern its name matches (case-insensitive);
# names matching none count as "other", which is not a feature.
PRODUCT_FAMILIES: dict[str, str] = {
    "broadband": r"broadband|fibre|fiber|adsl|dsl|internet|wi-?fi|^bb\b|^bb-",
    "mobile": r"mobile|\bsim\b|^mob\b|^mob-|cell|\b[45]g\b",
    "tv": r"\btv\b|^tv-|television|streaming",
    "landline": r"landline|home ?phone|fixed ?line|voip",
}
# Channel shares: phone, email and chat each, the rest (web forms, social, community,
# letters, referrals) together.
SHARE_CHANNELS = ("phone", "email", "chat")
# Shares are shrunk towards the population's mix by this many pseudo-contacts, so that one
# call does not make a customer "100 % phone" and customers who never got in touch sit at
# the population's mix (no evidence either way).
PRIOR_CONTACTS = 2.0
# Complaint share is a feature only when at least this share of the window's contacts has a
# category (a classifier's or a person's label, else the source's own): with agents' wrap-up
# codes on a fifth of the calls alone it would mostly measure who calls.
MIN_CATEGORISED = 0.5
DAYS_PER_YEAR = 365.25
MAX_AGE = 110.0


@dataclass(frozen=True)
class Feature:
    name: str
    group: str  # features of one group share one unit of weight in the clustering
    log: bool  # clustered and compared as log(1 + x): counts and money
    binary: bool = False
    # A basis of the clustering (who the customers are, what they buy, how they get in
    # touch), or only a descriptor (states that change with the service they get lately).
    basis: bool = True


FEATURES: tuple[Feature, ...] = (
    Feature("age", "age", False),
    Feature("tenure_years", "tenure", True, basis=False),
    Feature("monthly_spend", "spend", True),
    Feature("contacts_per_month", "intensity", True),
    *(Feature(f"share_{c}", "channels", False) for c in (*SHARE_CHANNELS, "other")),
    Feature("complaint_share", "complaints", False, basis=False),
    Feature("satisfaction", "satisfaction", False, basis=False),
    *(Feature(f"has_{f}", "products", False, binary=True) for f in PRODUCT_FAMILIES),
    Feature("digital_per_month", "digital", True),
)
BY_NAME = {f.name: f for f in FEATURES}


def persona_inputs(con: BaseBackend, window: Window) -> pd.DataFrame:
    """Per customer_key: date_of_birth (resolved customers), has_<family> (0/1) for the
    products held at the as-of date, complaints_12m and categorised_12m."""
    end, start = window.end, window.months_before(12)

    hold = keyed(con, "holdings")
    hold = hold.filter(hold.started_at < end, hold.ended_at.isnull() | (hold.ended_at >= end))
    name = hold["product"].lower()
    family = ibis.cases(*((name.re_search(p), f) for f, p in PRODUCT_FAMILIES.items()),
                        else_="other")
    held = hold.group_by("customer_key").agg(**{
        f"has_{f}": (family == f).any().cast("int8") for f in PRODUCT_FAMILIES})

    c = keyed(con, "contacts")
    c = c.filter(c.created_at >= start, c.created_at < end)
    labels = con.table("labels")
    labels = labels.filter(labels.target == "contacts", labels.dimension == "category")
    # The best label: a person's above a model's, then the newest (as the metrics do).
    rank = (labels.is_human.fill_null(False).cast("int64") * 10_000_000_000
            + labels.labelled_at.epoch_seconds().cast("int64").fill_null(0))
    best = labels.group_by(label_id=labels.target_id).agg(
        best_category=labels.label.argmax(rank))
    c = c.left_join(best, c.contact_id == best.label_id)
    category = ibis.coalesce(c.best_category, c.category)
    complaints = c.group_by("customer_key").agg(
        complaints_12m=category.isin(["complaint"]).sum(),
        categorised_12m=category.notnull().sum())

    born = con.table("customers")
    born = born.filter(born.date_of_birth.notnull()).select(
        customer_key=born.customer_id.cast("string"), date_of_birth=born.date_of_birth)

    parts = (held, complaints, born)
    out = ibis.union(*(p.select("customer_key") for p in parts), distinct=True)
    for part in parts:
        out = out.left_join(part, "customer_key")
        out = out.drop(*(col for col in out.columns if col.endswith("_right")))
    return frame(out)


def feature_table(c: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    """One column per feature of `FEATURES` that the frame can give, in reader's units; NaN
    where a customer's value is unknown (no date of birth, no survey answer). Complaint share
    is left out until enough contacts are categorised (`MIN_CATEGORISED`)."""
    out = pd.DataFrame(index=c.index)
    days = _num(c, "tenure_days")
    months = np.clip(days / (DAYS_PER_YEAR / 12), 1.0, 12.0).fillna(12.0)
    if "date_of_birth" in c:
        born = pd.to_datetime(c["date_of_birth"])
        age = (as_of - born).dt.days / DAYS_PER_YEAR
        out["age"] = age.where((age >= 0) & (age <= MAX_AGE))
    out["tenure_years"] = days.clip(lower=0) / DAYS_PER_YEAR
    out["monthly_spend"] = (_num(c, "revenue_12m") / months).clip(lower=0)
    out["contacts_per_month"] = _num(c, "contacts_per_month")
    total = _num(c, "contacts_12m").fillna(0.0)
    counts = pd.DataFrame({ch: _num(c, f"contacts_{ch}").fillna(0.0) for ch in SHARE_CHANNELS})
    counts["other"] = (total - counts.sum(axis=1)).clip(lower=0)
    out = out.join(_shrunk_shares(counts, total))
    if "categorised_12m" in c:
        categorised = _num(c, "categorised_12m").fillna(0.0)
        if total.sum() > 0 and categorised.sum() >= MIN_CATEGORISED * total.sum():
            complaints = _num(c, "complaints_12m").fillna(0.0)
            rate = complaints.sum() / max(categorised.sum(), 1.0)
            out["complaint_share"] = ((complaints + PRIOR_CONTACTS * rate)
                                      / (categorised + PRIOR_CONTACTS))
    if "satisfaction" in c:
        out["satisfaction"] = _num(c, "satisfaction")
    for family in PRODUCT_FAMILIES:
        if f"has_{family}" in c:
            out[f"has_{family}"] = _num(c, f"has_{family}").fillna(0.0).clip(0, 1)
    if "digital_touchpoints" in c:
        out["digital_per_month"] = _num(c, "digital_touchpoints").fillna(0.0) / months
    return out


def _num(c: pd.DataFrame, column: str) -> pd.Series:
    if column not in c:
        return pd.Series(np.nan, index=c.index)
    return pd.to_numeric(c[column], errors="coerce").astype(float)


def _shrunk_shares(counts: pd.DataFrame, total: pd.Series) -> pd.DataFrame:
    """Each channel's share of a customer's contacts, shrunk towards the population's mix."""
    overall = counts.sum()
    if overall.sum() <= 0:
        return pd.DataFrame(index=counts.index)
    mix = overall / overall.sum()
    shares = (counts + PRIOR_CONTACTS * mix) / (total.to_numpy()[:, None] + PRIOR_CONTACTS)
    return shares.add_prefix("share_")
