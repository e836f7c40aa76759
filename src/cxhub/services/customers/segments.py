"""Segments use cases: fit lifetime value, compute every segment, store them, read them back.

Behind `cxhub segments`. The analytics live in `cxhub.analytics.segments`; this module picks the
customers, runs the steps in order and writes `customer_segments` through the single writer.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from ibis.backends import BaseBackend

from cxhub.analytics.segments import (
    bgnbd,
    contracts,
    features,
    gamma_gamma,
    intensity,
    persona_features,
)
from cxhub.analytics.segments import personas as persona_model
from cxhub.analytics.segments.clv import ClvSettings, customer_value
from cxhub.analytics.segments.mle import FitError
from cxhub.analytics.segments.portfolio import (
    DEFAULT_COST_PER_CONTACT,
    PortfolioRules,
    portfolio,
)
from cxhub.analytics.segments.profile import PERSONA_CHANNELS, customer_profile
from cxhub.analytics.segments.rfm import RfmRules, rfm
from cxhub.warehouse import Warehouse
from cxhub.warehouse.engines import connect
from cxhub.warehouse.schema import edge_sql

__all__ = ["DEFAULT_COST_PER_CONTACT", "ClvSettings", "PortfolioRules", "SegmentSettings",
           "compute_rfm", "compute_segments", "fit_clv", "refresh_segments", "stored_summary"]

# The value tier stored in `segment`, by CLV rank among customers with a CLV: share of the
# customers from the top, and the tier's name.
VALUE_TIERS = ((0.10, "top value"), (0.30, "high value"), (0.60, "medium value"),
               (1.00, "low value"))
NO_VALUE = "no purchases"

STORED_COLUMNS = ("customer_id", "computed_at", "recency_days", "frequency", "monetary",
                  "rfm_score", "rfm_segment", "expected_purchases", "p_alive", "clv",
                  "portfolio", "contact_intensity", "persona", "segment", "subscriber",
                  "paying_days", "retention_12m", "expected_months", "subscription_value",
                  "purchase_value")


def _con(wh: Warehouse) -> BaseBackend:
    # A connection of its own: a half-read result on the shared thread cursor (after
    # `read_one`) makes DuckDB refuse the relation calls Ibis makes.
    return connect(None, duckdb_connection=wh.new_cursor())


@dataclass
class ClvFit:
    calibration_end: dt.date
    source: str | None
    bgnbd: bgnbd.BgNbdFit
    gamma_gamma: gamma_gamma.GammaGammaFit | None
    gamma_gamma_error: str | None
    summary: pd.DataFrame  # per customer: customer_key, customer_id, x, t_x, T, m

    def parameters(self) -> dict[str, Any]:
        """The shape `cxhub segments clv --json` prints."""
        gg = self.gamma_gamma.params.as_dict() if self.gamma_gamma else None
        return {"bgnbd": self.bgnbd.params.as_dict(), "gamma_gamma": gg}

    def expected_purchases(self, x: float, t_x: float, T: float, t: float) -> float:
        return float(bgnbd.expected_purchases(self.bgnbd.params, t, x, t_x, T))


def fit_clv(wh: Warehouse, calibration_end: dt.date, *, source: str | None = None) -> ClvFit:
    """Fit the BG/NBD on every customer whose first purchase is before `calibration_end`
    (time in weeks, purchases counted by day) and the Gamma-Gamma on the repeat buyers."""
    summary = features.clv_summary(_con(wh), calibration_end, source=source)
    fitted = summary[summary["T"] > 0]
    if fitted.empty:
        where = f" from source {source!r}" if source else ""
        raise FitError(f"no purchases{where} before {calibration_end}: nothing to fit")
    bg = bgnbd.fit(fitted["x"], fitted["t_x"], fitted["T"])
    gg, gg_error = None, None
    try:
        gg = gamma_gamma.fit(fitted["x"], fitted["m"])
    except FitError as exc:
        gg_error = str(exc)
    return ClvFit(calibration_end, source, bg, gg, gg_error, summary)


def latest_activity(wh: Warehouse) -> dt.date:
    """The default as-of date: the last day with a transaction or a contact (today if none),
    so that segments of historical data are not all "lost"."""
    (latest,), = wh.read(
        f"SELECT greatest({edge_sql('transactions', 'occurred_at', 'max')}, "
        f"{edge_sql('contacts', 'created_at', 'max')})")
    return latest.date() if latest is not None else dt.date.today()


@dataclass(frozen=True)
class SegmentSettings:
    as_of: dt.date | None = None
    clv: ClvSettings = field(default_factory=ClvSettings)
    portfolio: PortfolioRules = field(default_factory=PortfolioRules)
    intensity_quantiles: tuple[float, ...] = intensity.DEFAULT_QUANTILES
    persona_k: range = persona_model.DEFAULT_K
    seed: int = 0
    rfm: RfmRules = field(default_factory=RfmRules)
    retention_fit_by: str = contracts.FIT_BY[0]


@dataclass
class Segments:
    """Every customer's figures and segments, with the fitted models and cut-offs used."""

    as_of: dt.date
    customers: pd.DataFrame
    resolved: bool  # True when the customers are resolved customer ids (customer_links)
    clv: ClvFit | None
    clv_error: str | None
    retention: contracts.RetentionModel | None
    retention_error: str | None
    portfolio_thresholds: dict[str, float]
    intensity_cutoffs: list[float]
    personas: persona_model.Personas

    def summary(self) -> dict[str, Any]:
        c = self.customers
        return {
            "as_of": self.as_of.isoformat(),
            "customers": len(c),
            "resolved": self.resolved,
            "clv": self.clv.parameters() if self.clv else None,
            "clv_error": self.clv_error,
            "retention": self.retention.as_dict() if self.retention else None,
            "retention_error": self.retention_error,
            "rfm_segment": _counts(c["rfm_segment"]),
            "portfolio": _counts(c["portfolio"]),
            "portfolio_thresholds": self.portfolio_thresholds,
            "contact_intensity": _counts(c["contact_intensity"]),
            "contact_intensity_cutoffs": self.intensity_cutoffs,
            "segment": _counts(c["segment"]),
            "personas": {
                "k": self.personas.k,
                "silhouette": self.personas.silhouette,
                "silhouette_by_k": self.personas.scores,
                "clusters": _records(self.personas.profiles.reset_index(drop=True).round(3)),
            },
            "contacts_per_1000": {
                by: intensity.contact_rate_by(c, by).round(1).to_dict(orient="records")
                for by in ("persona", "portfolio", "rfm_segment", "segment")
            },
        }


def _records(df: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as dicts, with None where a value is unknown (JSON has no NaN)."""
    records: list[dict[str, Any]] = (
        df.astype(object).where(df.notna(), None).to_dict(orient="records"))
    return records


def _counts(values: pd.Series) -> dict[str, int]:
    return {str(k): int(v) for k, v in values.value_counts(dropna=False).items()}


def compute_segments(wh: Warehouse, settings: SegmentSettings | None = None) -> Segments:
    settings = settings or SegmentSettings()
    as_of = settings.as_of or latest_activity(wh)
    resolved, c = _profile_with_rfm(wh, as_of, settings.rfm)
    as_of_ts = pd.Timestamp(as_of)

    clv_fit, clv_error = None, None
    try:
        clv_fit = fit_clv(wh, as_of)
        c = _with_clv(c, clv_fit, settings.clv)
    except FitError as exc:
        clv_error = str(exc)
        c["expected_purchases"] = c["p_alive"] = c["purchase_value"] = np.nan
    retention, retention_error = None, None
    try:
        retention = _with_retention(wh, c, as_of, settings.clv, settings.retention_fit_by)
    except FitError as exc:
        retention_error = str(exc)
        c["retention_12m"] = c["expected_months"] = c["subscription_value"] = np.nan
    c["clv"] = _combined_value(c)
    c["segment"] = value_tiers(c["clv"].to_numpy(dtype=float))

    c["tenure_days"] = (as_of_ts - c["first_seen"]).dt.days.astype(float).fillna(0.0)
    c["revenue_12m"] = c["revenue_recent"] + c["revenue_prior"]
    c["contacts_elsewhere"] = c["contacts_12m"] - c[
        [f"contacts_{ch}" for ch in PERSONA_CHANNELS]].sum(axis=1)
    channel_columns = c.filter(like="contacts_").drop(columns=["contacts_12m"])
    quad = portfolio(c["revenue_recent"], c["revenue_prior"], channel_columns, settings.portfolio)
    c["value_growth"], c["cash_generated"], c["portfolio"] = quad.growth, quad.cash, quad.quadrant

    c["contacts_per_month"] = intensity.contacts_per_month(c["contacts_12m"], c["tenure_days"])
    bands, cutoffs = intensity.intensity_bands(c["contacts_per_month"],
                                               settings.intensity_quantiles)
    c["contact_intensity"] = bands

    inputs = persona_features.persona_inputs(_con(wh), features.Window(as_of))
    found = persona_model.personas(
        c.merge(inputs, on="customer_key", how="left", validate="many_to_one"), as_of_ts,
        k_range=settings.persona_k, seed=settings.seed)
    c["persona"] = found.labels
    return Segments(as_of, c, resolved, clv_fit, clv_error, retention, retention_error,
                    {"growth": quad.growth_threshold, "cash": quad.cash_threshold},
                    cutoffs, found)


def compute_rfm(wh: Warehouse, as_of: dt.date | None = None,
                rules: RfmRules | None = None) -> pd.DataFrame:
    """RFM alone (no model fits): customer_key, customer_id, subscriber, left, paying_days
    (since the first purchase or subscription), idle_days (since the last activity),
    recency_days, frequency, monetary, r, f, m, rfm_score, rfm_segment."""
    _, c = _profile_with_rfm(wh, as_of or latest_activity(wh), rules)
    return c[["customer_key", "customer_id", "subscriber", "left", "paying_days", "idle_days",
              "recency_days", "frequency", "monetary", "r", "f", "m", "rfm_score",
              "rfm_segment"]]


def _days_since(as_of: pd.Timestamp, when: pd.Series) -> pd.Series:
    return (as_of - pd.to_datetime(when).dt.normalize()).dt.days.astype(float)


def _profile_with_rfm(wh: Warehouse, as_of: dt.date,
                      rules: RfmRules | None = None) -> tuple[bool, pd.DataFrame]:
    """The profile with each customer's subscription (see `contracts`) and RFM. A subscriber's
    recency counts from their last activity or the start or end of the subscription, their
    frequency is the months paid; a buyer's are the last purchase and the purchase days."""
    con = _con(wh)
    resolved = features.has_links(con)
    window = features.Window(as_of)
    c = customer_profile(con, window)
    if resolved:
        c = _resolved_population(wh, c)
    subs = contracts.subscriptions(con, until=window.end)
    c = c.merge(subs.drop(columns="customer_id"), on="customer_key", how="left",
                validate="one_to_one")
    c = c.sort_values("customer_key", kind="stable").reset_index(drop=True)
    for column in ("started", "ended"):  # all missing (no holdings) comes back as objects
        c[column] = pd.to_datetime(c[column])
    at = pd.Timestamp(as_of)
    c["subscriber"] = c["started"].notna()
    c["left"] = c["subscriber"] & c["ended"].notna()
    life = contracts.lifetimes(c["started"], c["ended"], pd.Timestamp(window.end), None)
    c["renewals"] = life.renewals
    months_paid = life.renewals + ~life.churned
    engaged = pd.concat([c["last_activity"], c["started"], c["ended"]], axis=1).max(axis=1)
    sub = c["subscriber"].to_numpy()
    c["recency_days"] = np.where(sub, _days_since(at, engaged),
                                 _days_since(at, c["last_purchase"]))
    c["frequency"] = np.where(sub, months_paid, c["frequency"])
    c["monetary"] = c["net_revenue"]
    c["idle_days"] = _days_since(at, c["last_activity"])
    first = pd.concat([c["first_purchase"], c["started"]], axis=1).min(axis=1)
    c["paying_days"] = _days_since(at, first).clip(lower=0)
    scores = rfm(c["recency_days"], c["frequency"], c["monetary"], subscriber=sub,
                 left=(c["left"] & ~(c["last_purchase"] > c["ended"].dt.normalize())).to_numpy(),
                 tenure_days=c["paying_days"],
                 idle_days=c["idle_days"], rules=rules)
    return resolved, pd.concat([c, scores], axis=1)


def _resolved_population(wh: Warehouse, c: pd.DataFrame) -> pd.DataFrame:
    """Resolved customers only; those with no activity at all still get a row."""
    c = c[c["customer_id"].notna()]
    ids = {int(r[0]) for r in wh.read(
        "SELECT customer_id FROM customers UNION SELECT customer_id FROM customer_links")}
    missing = sorted(ids - set(c["customer_id"].astype(int)))
    if not missing:
        return c
    since = dict(wh.read("SELECT customer_id, customer_since FROM customers"))
    extra = pd.DataFrame({
        "customer_key": [str(i) for i in missing],
        "customer_id": pd.array(missing, dtype="Int64"),
        "first_seen": pd.to_datetime([since.get(i) for i in missing]),
    })
    # Typed like the profile, so that the concatenation never meets an all-missing column of
    # another type (which pandas is changing how it treats).
    # (Integer columns are counts: none.)
    for column in c.columns.difference(extra.columns):
        dtype = c[column].dtype
        extra[column] = (0 if isinstance(dtype, np.dtype) and dtype.kind in "iu"
                         else pd.Series(index=extra.index, dtype=dtype))
    extra = extra.astype({k: c[k].dtype for k in extra.columns})
    out = pd.concat([c, extra[c.columns]], ignore_index=True)
    counts = out.columns[out.columns.str.startswith("contacts_")].tolist() + [
        "frequency", "surveys", "digital_touchpoints", "products_held",
        "net_revenue", "revenue_recent", "revenue_prior"]
    out[counts] = out[counts].fillna(0)
    return out


def _with_clv(c: pd.DataFrame, fit: ClvFit, settings: ClvSettings) -> pd.DataFrame:
    s = fit.summary
    gg = fit.gamma_gamma.params if fit.gamma_gamma else None
    value = customer_value(fit.bgnbd.params, gg, s["x"], s["t_x"], s["T"], s["m"], settings)
    per = pd.DataFrame({"customer_key": s["customer_key"],
                        "expected_purchases": value.expected_purchases,
                        "p_alive": value.p_alive, "purchase_value": value.clv})
    return c.merge(per, on="customer_key", how="left")


def _with_retention(wh: Warehouse, c: pd.DataFrame, as_of: dt.date, settings: ClvSettings,
                    fit_by: str = contracts.FIT_BY[0]) -> contracts.RetentionModel:
    """Fit the sBG per cohort on every subscriber, and give each active subscriber their
    outlook: 12-month retention, expected further months, and the subscription's value
    (monthly amount x margin x DERL at the monthly rate of the yearly discount). A subscriber
    is alive (p_alive 1) until every subscription has ended (0), whatever the purchases say."""
    sub = c["subscriber"].to_numpy()
    if not sub.any():
        raise FitError("no subscriptions (holdings) before the as-of date: no retention model")
    end = pd.Timestamp(features.Window(as_of).end)
    life = contracts.lifetimes(c.loc[sub, "started"], c.loc[sub, "ended"], end,
                               contracts.data_start(_con(wh)))
    cohort = contracts.groups_of(c.loc[sub], fit_by)
    model = contracts.fit_retention(life, cohort)
    active = sub & ~c["left"].to_numpy()
    monthly = (1.0 + settings.yearly_discount) ** (1.0 / 12.0) - 1.0
    here = ~life.churned
    seen = contracts.outlook(model, cohort[here], life.renewals[here], life.entered[here],
                             monthly)
    for column in ("retention_12m", "expected_months", "subscription_value"):
        c[column] = np.where(sub, 0.0, np.nan)
    c.loc[active, "retention_12m"] = seen.retention_12m
    c.loc[active, "expected_months"] = seen.expected_months
    c.loc[active, "subscription_value"] = (
        c.loc[active, "monthly_amount"].to_numpy() * settings.margin * seen.derl)
    c["p_alive"] = np.where(sub, (~c["left"]).astype(float), c["p_alive"])
    return model


def _combined_value(c: pd.DataFrame) -> pd.Series:
    """CLV: the subscription's DERL value plus the purchases' BG/NBD + Gamma-Gamma value;
    missing only for a customer with neither (never bought, never subscribed)."""
    parts = c[["subscription_value", "purchase_value"]]
    return parts.sum(axis=1, min_count=1)


def value_tiers(clv: np.ndarray) -> np.ndarray:
    """Value tier by CLV rank: top 10%, next 20%, next 30%, the rest; no CLV -> no purchases."""
    tiers = np.full(clv.shape, NO_VALUE, dtype=object)
    valued = ~np.isnan(clv)
    n = int(valued.sum())
    if n == 0:
        return tiers
    # Share of valued customers with a strictly higher CLV: ties share a tier.
    ordered = np.sort(clv[valued])
    above = (n - np.searchsorted(ordered, clv[valued], side="right")) / n
    names = np.empty(n, dtype=object)
    for cut, name in reversed(VALUE_TIERS):
        names[above < cut] = name
    tiers[valued] = names
    return tiers


@dataclass
class RefreshReport:
    segments: Segments
    stored: int
    note: str | None = None


def refresh_segments(wh: Warehouse, settings: SegmentSettings | None = None) -> RefreshReport:
    """Compute every segment and replace `customer_segments` with the result (resolved
    customers only: the table is keyed by customer_id)."""
    seg = compute_segments(wh, settings)
    if not seg.resolved:
        return RefreshReport(seg, 0, "no resolved customers (customer_links is empty): "
                                     "nothing stored; run identity resolution first")
    rows = seg.customers.copy()
    rows["customer_id"] = rows["customer_id"].astype("int64")
    rows["computed_at"] = pd.Timestamp.now(tz="UTC").tz_localize(None)
    rows = rows[list(STORED_COLUMNS)]

    def replace(con: Any) -> int:
        # One transaction (the writer's): readers see the old segments or the new, never half.
        con.register("_new_customer_segments", rows)
        try:
            con.execute("DELETE FROM customer_segments")
            columns = ", ".join(STORED_COLUMNS)
            con.execute(f"INSERT INTO customer_segments ({columns}) "
                        f"SELECT {columns} FROM _new_customer_segments")
        finally:
            con.unregister("_new_customer_segments")
        return len(rows)

    return RefreshReport(seg, wh.write(replace, groupable=False))


GROUPINGS = ("rfm_segment", "portfolio", "contact_intensity", "persona", "segment")


def stored_summary(wh: Warehouse, *, by: str = "persona", months: int = 12) -> dict[str, Any]:
    """What `customer_segments` holds: customers per value of each segment column, and
    contacts and calls per 1,000 customers by `by` over the last `months` months."""
    if by not in GROUPINGS:
        raise ValueError(f"by must be one of {', '.join(GROUPINGS)}")
    (total, computed_at), = wh.read("SELECT count(*), max(computed_at) FROM customer_segments")
    counts = {
        col: {str(k): int(n) for k, n in wh.read(
            f"SELECT {col}, count(*) FROM customer_segments GROUP BY 1 ORDER BY 2 DESC")}
        for col in GROUPINGS
    }
    return {"customers": total, "computed_at": computed_at, **counts,
            "contacts_per_1000": _stored_contact_rates(wh, by, months)}


def _stored_contact_rates(wh: Warehouse, by: str, months: int) -> list[dict[str, Any]]:
    con = _con(wh)
    window = features.Window(latest_activity(wh))
    contacts = features.keyed(con, "contacts")
    contacts = contacts.filter(contacts.customer_id.notnull(),
                               contacts.created_at >= window.months_before(months),
                               contacts.created_at < window.end)
    per = contacts.group_by("customer_id").agg(
        contacts_12m=contacts.count(),
        contacts_phone=contacts.count(where=contacts.channel == "phone"))
    seg = con.table("customer_segments").select("customer_id", by)
    df = features.frame(
        seg.left_join(per, "customer_id").select(by, "contacts_12m", "contacts_phone"))
    df = df.fillna({"contacts_12m": 0, "contacts_phone": 0})
    rates: list[dict[str, Any]] = (
        intensity.contact_rate_by(df, by).round(1).to_dict(orient="records"))
    return rates


def rfm_summary(c: pd.DataFrame) -> pd.DataFrame:
    """Customers and their mean recency, frequency and monetary value per RFM segment."""
    out = c.groupby("rfm_segment").agg(
        customers=("customer_key", "size"), recency_days=("recency_days", "mean"),
        frequency=("frequency", "mean"), monetary=("monetary", "mean"))
    out["share"] = out["customers"] / max(len(c), 1)
    return out.sort_values("customers", ascending=False).reset_index()
