"""Subscribers: their contracts read from `holdings`, their lifetimes in monthly periods, the
sBG retention model fitted per cohort, and each subscriber's expected future with the company.

A customer's subscription runs from the start of their first holding to the end of their last;
they are a subscriber at a date while any holding is open (no end, or an end after the date).
A period is a month of 365.25 / 12 days from the start: a customer pays at the start of each,
so one who leaves 1.8 months in has renewed once and left at the second renewal (T = 2).

Data rarely goes back to the first customer: a customer who started before the data begins is
only there because they had not left by then, so their lifetime is left-truncated at the
renewals they had made when the data starts (`entered`); those who left earlier are missing
and the fit is conditioned on that (see `sbg.fit_lifetimes`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from ibis.backends import BaseBackend

from cxhub.analytics.segments import sbg
from cxhub.analytics.segments.features import frame, keyed
from cxhub.analytics.segments.mle import FitError

MONTH = pd.Timedelta(days=365.25 / 12)
# A cohort with fewer customers who left than this borrows the fit of all subscribers: the
# spread of churn (alpha against beta) needs some departures at several tenures.
MIN_CHURNED = 30
POOLED = "all"


def subscriptions(con: BaseBackend, *, until: dt.datetime) -> pd.DataFrame:
    """Per customer with a holding started before `until`: customer_key, customer_id, started,
    ended (NaT while any holding is open at `until`), monthly_amount (of the open ones) and
    plan (the product they started with)."""
    h = keyed(con, "holdings")
    h = h.filter(h.started_at.notnull(), h.started_at < until)
    is_open = h.ended_at.isnull() | (h.ended_at >= until)
    per = h.group_by("customer_key", "customer_id").agg(
        started=h.started_at.min(), last_end=h.ended_at.max(),
        open_holdings=h.count(where=is_open),
        monthly_amount=h.monthly_amount.sum(where=is_open),
        plan=h.product.argmin(h.started_at))
    # In a stable order (a GROUP BY's is not), so that every fit and check reads the same rows.
    df = frame(per).sort_values("customer_key", kind="stable", ignore_index=True)
    df["customer_id"] = df["customer_id"].astype("Int64")
    df["started"] = pd.to_datetime(df["started"])
    df["ended"] = pd.to_datetime(df["last_end"]).where(df["open_holdings"] == 0)
    df["monthly_amount"] = df["monthly_amount"].astype(float).fillna(0.0)
    return df.drop(columns=["last_end", "open_holdings"])


def data_start(con: BaseBackend) -> pd.Timestamp | None:
    """The first moment the data covers: the earliest transaction (None without any)."""
    t = con.table("transactions")
    first = t.occurred_at.min().execute()
    return None if first is None or pd.isna(first) else pd.Timestamp(first)


def cohort_of(started: pd.Series) -> pd.Series:
    """A subscriber's cohort: the year their subscription started."""
    return started.dt.year.astype("Int64").astype(str)


# What the sBG is fitted per: the cohort, or the cohort and the plan a customer started on.
FIT_BY = ("cohort", "cohort and plan")
SEP = " / "


def groups_of(subs: pd.DataFrame, fit_by: str = FIT_BY[0]) -> np.ndarray:
    """Each subscriber's group: "2019", or "2019 / BB-FIBRE-100" by cohort and plan."""
    if fit_by not in FIT_BY:
        raise ValueError(f"fit_by must be one of {', '.join(FIT_BY)}")
    cohort = cohort_of(subs["started"])
    if fit_by == "cohort":
        groups: np.ndarray = cohort.to_numpy()
    else:
        groups = (cohort + SEP + subs["plan"].fillna("?").astype(str)).to_numpy()
    return groups


@dataclass(frozen=True)
class Lifetimes:
    """Per subscriber, in periods: renewals (T for one who left, renewals so far for one still
    subscribed), churned, entered (renewals made before the data starts)."""

    renewals: np.ndarray
    churned: np.ndarray
    entered: np.ndarray


def lifetimes(started: pd.Series, ended: pd.Series, at: pd.Timestamp,
              observed_from: pd.Timestamp | None) -> Lifetimes:
    """Lifetimes as seen at `at` (an end after `at` is not known yet)."""
    gone = ended.notna() & (ended <= at)
    stop = ended.where(gone, at)
    months = ((stop - started) / MONTH).to_numpy(dtype=float)
    churned = gone.to_numpy()
    renewals = np.where(churned, np.maximum(1.0, np.ceil(months)), np.floor(months))
    if observed_from is None:
        entered = np.zeros_like(renewals)
    else:
        before = ((observed_from - started) / MONTH).to_numpy(dtype=float)
        entered = np.floor(np.clip(before, 0.0, None))
    entered = np.minimum(entered, renewals - churned)
    return Lifetimes(renewals, churned, entered)


# The clock a model counts renewals on. "tenure": from each customer's start, customers seen
# only from the data start being left-truncated there (the sBG as published: the longer a
# customer has stayed, the likelier they are of the loyal kind). "data start": customers
# already there when the data starts are followed from then, as a cohort that begins there
# (Beta(alpha, beta) conditioned on surviving t0 renewals is Beta(alpha, beta + t0), so per
# cohort this is the same family, free of the constraint beta + t0 >= t0).
CLOCKS = ("data start", "tenure")


@dataclass
class RetentionModel:
    """sBG fits per cohort, and the fit of all subscribers for cohorts too small for their own."""

    pooled: sbg.SbgFit
    cohorts: dict[str, sbg.SbgFit] = field(default_factory=dict)
    clock: str = CLOCKS[0]

    def on_clock(self, renewals: np.ndarray, entered: np.ndarray) -> np.ndarray:
        """Renewals as the model counts them."""
        return renewals - entered if self.clock == "data start" else renewals

    def params(self, group: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """alpha and beta for each customer's group: the group's own fit, else its cohort's
        (a "2019 / plan" group too small for a fit of its own), else the pooled fit."""
        group = np.asarray(group, dtype=object)
        cohort = np.array([str(g).split(SEP)[0] for g in group], dtype=object)
        alpha = np.full(len(group), self.pooled.params.alpha)
        beta = np.full(len(group), self.pooled.params.beta)
        for labels in (cohort, group):
            for name, fit in self.cohorts.items():
                mine = labels == name
                alpha[mine], beta[mine] = fit.params.alpha, fit.params.beta
        return alpha, beta

    def as_dict(self) -> dict[str, object]:
        def one(fit: sbg.SbgFit) -> dict[str, float]:
            return {**fit.params.as_dict(), "customers": fit.customers, "churned": fit.churned}

        return {"clock": self.clock, POOLED: one(self.pooled),
                "cohorts": {name: one(fit) for name, fit in sorted(self.cohorts.items())}}


def fit_retention(life: Lifetimes, cohort: np.ndarray, *, min_churned: int = MIN_CHURNED,
                  clock: str = CLOCKS[0]) -> RetentionModel:
    """The pooled fit, and a fit per cohort with at least `min_churned` departures (one that
    fails falls back to the pooled fit, as a small cohort does). `cohort` may hold groups
    "cohort / plan" (`groups_of`): each cohort and each group is then fitted on its own."""
    if clock not in CLOCKS:
        raise ValueError(f"clock must be one of {', '.join(CLOCKS)}")
    if clock == "data start":
        renewals, entered = life.renewals - life.entered, np.zeros_like(life.entered)
    else:
        renewals, entered = life.renewals, life.entered
    pooled = sbg.fit_lifetimes(renewals, life.churned, entered)
    model = RetentionModel(pooled, clock=clock)
    group = np.asarray(cohort, dtype=object)
    cohorts = np.array([str(g).split(SEP)[0] for g in group], dtype=object)
    for name in sorted(set(cohorts) | set(group)):
        mine = (cohorts == name) if SEP not in name else (group == name)
        if int(life.churned[mine].sum()) < min_churned:
            continue
        try:
            model.cohorts[str(name)] = sbg.fit_lifetimes(
                renewals[mine], life.churned[mine], entered[mine])
        except FitError:
            continue
    return model


def _ratio(alpha: np.ndarray, beta: np.ndarray, n: np.ndarray, k: np.ndarray) -> np.ndarray:
    """S(n + k) / S(n) with each customer's own parameters."""
    return sbg.survival_ratio(alpha, beta, n, k)


def churn_between(model: RetentionModel, cohort: np.ndarray, renewals_now: np.ndarray,
                  renewals_then: np.ndarray, entered: np.ndarray) -> np.ndarray:
    """The probability that a subscriber who has renewed `renewals_now` times leaves before
    making renewal `renewals_then` + 1 (i.e. at one of the renewals in between)."""
    alpha, beta = model.params(cohort)
    now = model.on_clock(np.asarray(renewals_now, dtype=float), entered)
    return 1.0 - _ratio(alpha, beta, now, np.asarray(renewals_then) - renewals_now)


@dataclass(frozen=True)
class SubscriberOutlook:
    retention_12m: np.ndarray  # P(still a subscriber after 12 more renewals)
    expected_months: np.ndarray  # expected further paid months within LIFETIME_CAP
    derl: np.ndarray  # DERL in months of payments (Fader & Hardie 2010)


LIFETIME_CAP = 120  # months; the sBG's mean lifetime is infinite when alpha <= 1


def outlook(model: RetentionModel, cohort: np.ndarray, renewals: np.ndarray,
            entered: np.ndarray, monthly_discount: float) -> SubscriberOutlook:
    """Each active subscriber's outlook from their cohort's fit and renewals so far."""
    alpha, beta = model.params(cohort)
    n = model.on_clock(np.asarray(renewals, dtype=float), entered)
    retention = _ratio(alpha, beta, n, np.full_like(n, 12.0))
    months = np.zeros_like(n)
    derl = np.zeros_like(n)
    for a, b in set(zip(alpha.tolist(), beta.tolist(), strict=True)):
        mine = (alpha == a) & (beta == b)
        params = sbg.SbgParams(a, b)
        months[mine] = sbg.expected_renewals(params, n[mine], LIFETIME_CAP)
        derl[mine] = sbg.derl(params, n[mine], monthly_discount)
    return SubscriberOutlook(retention, months, derl)
