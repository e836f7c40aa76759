"""The Gamma-Gamma model of spend per transaction (Fader, Hardie & Lee 2005, "RFM and CLV:
using iso-value curves for customer base analysis"; Fader & Hardie's note on the model).

A customer's transaction values are Gamma(p, nu) with their own rate nu; across customers
nu ~ Gamma(q, gamma). Only the mean value of each repeat buyer's x repeat transactions, m, is
needed: the first purchase is left out, as in the paper, because it often differs in kind. The
model assumes spend is independent of how often a customer buys.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import digamma, gammaln

from cxhub.analytics.segments.mle import FitError, fit_positive


@dataclass(frozen=True)
class GammaGammaParams:
    p: float
    q: float
    v: float  # the paper's gamma; `v` avoids shadowing the gamma function

    def as_dict(self) -> dict[str, float]:
        return {"p": self.p, "q": self.q, "v": self.v}


@dataclass(frozen=True)
class GammaGammaFit:
    params: GammaGammaParams
    log_likelihood: float
    customers: int
    evaluations: int  # likelihood evaluations the optimiser needed


def log_likelihood(params: GammaGammaParams, x: np.ndarray, m: np.ndarray) -> np.ndarray:
    """log f(m | p, q, gamma; x) of each repeat buyer's mean transaction value m over x > 0
    transactions."""
    p, q, v = params.p, params.q, params.v
    x = np.asarray(x, dtype=float)
    m = np.asarray(m, dtype=float)
    px = p * x
    ll: np.ndarray = (gammaln(px + q) - gammaln(px) - gammaln(q) + q * np.log(v)
                      + (px - 1.0) * np.log(m) + px * np.log(x) - (px + q) * np.log(v + m * x))
    return ll


class _RepeatBuyers:
    """The fit's data: the gamma functions depend on x alone, so they are evaluated once per
    distinct x and looked up; log m and log x are taken once."""

    def __init__(self, x: np.ndarray, m: np.ndarray) -> None:
        self.x, self.m = x, m
        self.distinct_x, self.x_index = np.unique(x, return_inverse=True)
        self.log_m, self.log_x = np.log(m), np.log(x)
        self.n = float(x.size)

    def value_and_gradient(self, params: GammaGammaParams) -> tuple[float, np.ndarray]:
        """Mean log-likelihood and its gradient in (p, q, gamma)."""
        p, q, v = params.p, params.q, params.v
        x, m, ix = self.x, self.m, self.x_index
        pdx = p * self.distinct_x
        lg = (gammaln(pdx + q) - gammaln(pdx))[ix]
        psi_pxq = digamma(pdx + q)[ix]
        psi_px = digamma(pdx)[ix]
        px = p * x
        log_vmx = np.log(v + m * x)
        ll = (lg - gammaln(q) + q * np.log(v) + (px - 1.0) * self.log_m + px * self.log_x
              - (px + q) * log_vmx)
        d_p = x * (psi_pxq - psi_px + self.log_m + self.log_x - log_vmx)
        d_q = psi_pxq - digamma(q) + np.log(v) - log_vmx
        d_v = q / v - (px + q) / (v + m * x)
        grad = np.array([d_p.sum(), d_q.sum(), d_v.sum()]) / self.n
        return float(ll.sum()) / self.n, grad


def fit(x: np.ndarray, m: np.ndarray) -> GammaGammaFit:
    """Maximum-likelihood p, q, gamma from repeat buyers (x > 0) and their mean values m > 0.

    Customers with x = 0 or m <= 0 carry no information about spend here and are left out.
    """
    x = np.asarray(x, dtype=float)
    m = np.asarray(m, dtype=float)
    keep = (x > 0) & (m > 0)
    x, m = x[keep], m[keep]
    if x.size < 2:
        raise FitError("Gamma-Gamma: fewer than two repeat buyers with positive spend")
    data = _RepeatBuyers(x, m)

    def neg_ll_and_grad(params: np.ndarray) -> tuple[float, np.ndarray]:
        value, grad = data.value_and_gradient(GammaGammaParams(*params))
        return -value, -grad

    # With q = 2 and p = 1 the population mean spend is gamma * p / (q - 1) = gamma: start
    # gamma at the observed mean so the first steps are in the right currency scale.
    start = np.array([1.0, 2.0, float(m.mean())])
    result = fit_positive(neg_ll_and_grad, start, name="Gamma-Gamma")
    return GammaGammaFit(GammaGammaParams(*map(float, result.params)),
                         -result.objective * x.size, int(x.size), result.evaluations)


def expected_spend(params: GammaGammaParams, x: np.ndarray, m: np.ndarray) -> np.ndarray:
    """E[M | p, q, gamma, m, x]: a weighted mean of the population mean gamma*p/(q-1) and the
    customer's own mean m, the weight on m growing with x. Customers with no repeat purchase
    get the population mean. Needs q > 1 (otherwise the population mean is infinite)."""
    p, q, v = params.p, params.q, params.v
    x = np.asarray(x, dtype=float)
    m = np.nan_to_num(np.asarray(m, dtype=float))
    if q <= 1.0:
        raise FitError(f"Gamma-Gamma: q = {q:.3g} <= 1, the mean spend is not finite")
    spend: np.ndarray = p * (v + m * x) / (p * x + q - 1.0)
    return spend


def population_mean_spend(params: GammaGammaParams) -> float:
    if params.q <= 1.0:
        raise FitError(f"Gamma-Gamma: q = {params.q:.3g} <= 1, the mean spend is not finite")
    return params.v * params.p / (params.q - 1.0)
