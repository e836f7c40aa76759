"""The shifted-beta-geometric (sBG) model of contract retention (Fader & Hardie 2007, "How to
project customer retention"), fitted by maximum likelihood, and the discounted expected
residual lifetime (DERL) of a subscriber (Fader & Hardie 2010, "Customer-base valuation in a
contractual setting: the perils of ignoring heterogeneity").

At the end of every period a customer renews or leaves for good. Each customer leaves with
their own probability theta per renewal (geometric lifetimes), and theta ~ Beta(alpha, beta)
across customers, so the churn rate of a cohort falls as the customers likeliest to leave go
first. With T the period in which a customer leaves (T = 1: never renewed):

    P(T = t) = B(alpha + 1, beta + t - 1) / B(alpha, beta)
    S(t) = P(T > t) = B(alpha, beta + t) / B(alpha, beta)   (share left after t renewals)
    retention at renewal t: S(t) / S(t - 1) = (beta + t - 1) / (alpha + beta + t - 1)

The fit takes each customer's lifetime, censored when still a customer, and left-truncated
when the customer was only observed from some renewal on (customers who had left before the
data starts are missing, so the others' likelihood is conditioned on having survived to it).
Survivor counts of one cohort (the paper's data) are the special case with no truncation.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np
from scipy.special import betaln, digamma, hyp2f1

from cxhub.analytics.segments.mle import FitError, fit_positive

# alpha + beta of a model with no spread of churn between customers (the geometric limit).
GEOMETRIC_SCALE = 1e9


@dataclass(frozen=True)
class SbgParams:
    alpha: float
    beta: float

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


@dataclass(frozen=True)
class SbgFit:
    params: SbgParams
    log_likelihood: float
    customers: float  # weighted count of customers in the fit
    churned: float  # of whom this many left within the data


def survival_ratio(alpha: np.ndarray | float, beta: np.ndarray | float,
                   n: np.ndarray | float, k: np.ndarray | float) -> np.ndarray:
    """S(n + k) / S(n), the chance that a customer who has renewed n times renews k more, as
    the product of the retention rates (beta + n + i) / (alpha + beta + n + i), i < k. Taken
    term by term, not as a difference of log-beta functions: a cohort fitted near the
    geometric limit has alpha and beta in the billions, where that difference loses every
    digit."""
    alpha, beta, n, k = np.broadcast_arrays(*(np.asarray(v, dtype=float)
                                              for v in (alpha, beta, n, k)))
    log_ratio = np.zeros(alpha.shape)
    for i in range(int(k.max(initial=0))):
        step = np.log1p(-alpha / (alpha + beta + n + i))
        log_ratio += np.where(i < k, step, 0.0)
    return np.exp(log_ratio)


def survival(params: SbgParams, t: np.ndarray | float) -> np.ndarray:
    """S(t): the share of a new cohort still customers after t renewals."""
    return survival_ratio(params.alpha, params.beta, 0.0, t)


def churn_probability(params: SbgParams, t: np.ndarray | float) -> np.ndarray:
    """P(T = t): the share of a new cohort that leaves at renewal t (t >= 1)."""
    t = np.asarray(t, dtype=float)
    leaving: np.ndarray = survival(params, t - 1.0) * churn_next(params, t - 1.0)
    return leaving


def churn_next(params: SbgParams, renewals: np.ndarray | float) -> np.ndarray:
    """The probability that a customer who has renewed `renewals` times leaves at the next
    renewal: alpha / (alpha + beta + renewals)."""
    n = np.asarray(renewals, dtype=float)
    return params.alpha / (params.alpha + params.beta + n)


def project(params: SbgParams, start: float, periods: int, from_period: int = 0) -> np.ndarray:
    """Expected customers left at each of `periods` further periods of a cohort that had
    `start` customers after `from_period` renewals."""
    k = np.arange(1, periods + 1)
    return start * survival_ratio(params.alpha, params.beta, from_period, k)


def expected_renewals(params: SbgParams, renewals: np.ndarray | float,
                      horizon: int) -> np.ndarray:
    """Expected further renewals within `horizon` periods of a customer who has renewed
    `renewals` times: sum over j = 1..horizon of S(n + j) / S(n). (Unbounded, the mean is
    infinite when alpha <= 1, as in both of the paper's segments; a horizon keeps it a number.)
    """
    n = np.asarray(renewals, dtype=float)
    values, inverse = np.unique(n, return_inverse=True)
    j = np.arange(1, horizon + 1, dtype=float)
    a, b = params.alpha, params.beta
    steps = np.log1p(-a / (a + b + values[:, None] + j[None, :] - 1.0))
    per_value = np.exp(np.cumsum(steps, axis=1)).sum(axis=1)
    expected: np.ndarray = per_value[inverse.reshape(n.shape)]
    return expected


def derl(params: SbgParams, renewals: np.ndarray | float, discount: float) -> np.ndarray:
    """Discounted expected residual lifetime, in units of one period's cash flow, of a customer
    who has renewed `renewals` times (n - 1 in the 2010 paper) and is about to decide on the
    next renewal; the payment of that renewal is not discounted, each later one by a further
    period at rate `discount`:

        DERL = S(n) / S(n - 1) x 2F1(1, beta + n; alpha + beta + n; 1 / (1 + d)).
    """
    if discount <= 0:
        raise ValueError("DERL needs a positive discount rate per period")
    n = np.asarray(renewals, dtype=float) + 1.0
    a, b = params.alpha, params.beta
    x = 1.0 / (1.0 + discount)
    out = np.asarray((b + n - 1.0) / (a + b + n - 1.0) * hyp2f1(1.0, b + n, a + b + n, x))
    # SciPy's 2F1 is not to be trusted with very large parameters either.
    bad = ~np.isfinite(out) | (a + b > 1e6)
    if bad.any():
        # SciPy's 2F1 gives up on very large parameters (a cohort that fits with no spread of
        # churn, alpha and beta in the millions): sum the series itself there.
        out = np.array(out, dtype=float)
        for value in np.unique(n[bad] if n.ndim else n):
            out[bad & (n == value)] = _derl_series(a, b, float(value), x)
    return out


def _derl_series(a: float, b: float, n: float, x: float) -> float:
    """sum over j >= 0 of S(n + j) / S(n - 1) x^j, term by term: each term is the one before
    times x (b + n + j - 1) / (a + b + n + j - 1), which falls at least as fast as x^j."""
    total, term, j = 0.0, 1.0, 0
    while True:
        term *= (b + n + j - 1.0) / (a + b + n + j - 1.0) * (x if j else 1.0)
        total += term
        j += 1
        if term < 1e-13 * total or j > 1_000_000:
            return total


def _neg_ll_and_grad(
    churned_at: np.ndarray, churned_w: np.ndarray,
    alive_at: np.ndarray, alive_w: np.ndarray,
    entered_at: np.ndarray, entered_w: np.ndarray, total: float,
) -> Callable[[np.ndarray], tuple[float, np.ndarray]]:
    def objective(params: np.ndarray) -> tuple[float, np.ndarray]:
        a, b = params
        # Left now: B(a + 1, b + t - 1); still a customer after c renewals: B(a, b + c);
        # observed only from renewal t0 on: divided by B(a, b + t0) (B(a, b) when t0 = 0).
        ll = (churned_w @ betaln(a + 1.0, b + churned_at - 1.0)
              + alive_w @ betaln(a, b + alive_at) - entered_w @ betaln(a, b + entered_at))
        dab_c = digamma(a + b + churned_at)
        dab_a = digamma(a + b + alive_at)
        dab_e = digamma(a + b + entered_at)
        g_a = (churned_w @ (digamma(a + 1.0) - dab_c) + alive_w @ (digamma(a) - dab_a)
               - entered_w @ (digamma(a) - dab_e))
        g_b = (churned_w @ (digamma(b + churned_at - 1.0) - dab_c)
               + alive_w @ (digamma(b + alive_at) - dab_a)
               - entered_w @ (digamma(b + entered_at) - dab_e))
        return -float(ll) / total, -np.array([g_a, g_b]) / total

    return objective


def fit_lifetimes(
    renewals: np.ndarray, churned: np.ndarray, entered: np.ndarray | None = None,
    weights: np.ndarray | None = None, *, pool: bool = True,
) -> SbgFit:
    """Fit the sBG on individual lifetimes.

    renewals: for a customer who left, the period they left in (T >= 1, so T - 1 renewals);
    for one still a customer, the renewals made so far (T > renewals). entered: the renewals
    a customer had already made when the data starts (0 when seen from the start), which must
    be at most `renewals` (and below it for a customer who left). weights: customers per row.
    pool: add up rows with the same lifetime first (False only to measure what that saves).
    """
    renewals = np.asarray(renewals, dtype=float)
    churned = np.asarray(churned, dtype=bool)
    entered = np.zeros_like(renewals) if entered is None else np.asarray(entered, dtype=float)
    w = np.ones_like(renewals) if weights is None else np.asarray(weights, dtype=float)
    if renewals.size == 0 or w.sum() <= 0:
        raise FitError("sBG: no customers to fit")
    if np.any(churned & (renewals < 1)):
        raise FitError("sBG: a customer who left must have left in period 1 or later")
    if np.any(entered > renewals) or np.any(churned & (entered >= renewals)):
        raise FitError("sBG: a customer entered the data after their last period")
    if not np.any(churned & (w > 0)):
        raise FitError("sBG: nobody left, so retention cannot be estimated")
    if not np.any(~churned & (w > 0)) and np.all(renewals[churned] == renewals[churned][0]):
        raise FitError("sBG: everyone left in the same period; the spread of churn is unknown")
    # Customers with the same (renewals, churned, entered) share a likelihood term: a million
    # subscribers collapse to a few thousand rows.
    if pool:
        rows, inverse = np.unique(np.column_stack([renewals, churned, entered]), axis=0,
                                  return_inverse=True)
        w = np.bincount(inverse.ravel(), weights=w, minlength=len(rows))
        renewals, churned, entered = rows[:, 0], rows[:, 1] > 0, rows[:, 2]
    c = churned & (w > 0)
    a = ~churned & (w > 0)
    objective = _neg_ll_and_grad(renewals[c], w[c], renewals[a], w[a], entered[w > 0],
                                 w[w > 0], float(w.sum()))
    try:
        result = fit_positive(objective, np.array([1.0, 1.0]), name="sBG")
        params = SbgParams(*(float(v) for v in result.params))
        value = result.objective
    except FitError:
        # With no sign that the likeliest to leave go first (churn as high at long tenures as
        # at short), the likelihood rises forever towards the geometric model: alpha and beta
        # grow without end at a fixed ratio. Take that limit: everyone leaves with the same
        # probability, churned renewals over renewals at risk.
        at_risk = w[c] @ (renewals[c] - entered[c]) + w[a] @ (renewals[a] - entered[a])
        p = float(w[c].sum() / at_risk)
        params = SbgParams(p * GEOMETRIC_SCALE, (1.0 - p) * GEOMETRIC_SCALE)
        value = objective(np.array([params.alpha, params.beta]))[0]
    return SbgFit(params, -value * float(w.sum()), float(w.sum()), float(w[c].sum()))


def fit_survivors(active: np.ndarray) -> SbgFit:
    """Fit the sBG on one cohort's customers left after 0, 1, 2, ... renewals (the paper's
    survivor counts: 1000, 631, 468, ...)."""
    n = np.asarray(active, dtype=float)
    if n.size < 2:
        raise FitError("sBG: at least two periods are needed")
    if n[0] <= 0 or np.any(n < 0) or np.any(np.diff(n) > 0):
        raise FitError("sBG: the active customers must start above 0 and never rise")
    lost = n[:-1] - n[1:]
    periods = np.arange(1, n.size, dtype=float)
    renewals = np.append(periods, float(n.size - 1))
    churned = np.append(np.ones(periods.size, dtype=bool), False)
    return fit_lifetimes(renewals, churned, weights=np.append(lost, n[-1]))
