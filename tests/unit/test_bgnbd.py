"""BG/NBD and Gamma-Gamma: likelihoods and expectations against values worked out by hand or
by integrating the individual-level model numerically, and fits that recover known values."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate
from scipy.optimize import approx_fprime

from cxhub.analytics.segments import bgnbd, gamma_gamma
from cxhub.analytics.segments.clv import ClvSettings, customer_value

P = bgnbd.BgNbdParams(r=2.0, alpha=3.0, a=2.0, b=3.0)


def g(lam: float) -> float:
    """Gamma(r=2, alpha=3) density of the purchase rate: 9 lambda e^(-3 lambda)."""
    return 9.0 * lam * math.exp(-3.0 * lam)


def f(p: float) -> float:
    """Beta(2, 3) density of the dropout probability: p (1-p)^2 / B(2, 3), B(2, 3) = 1/12."""
    return 12.0 * p * (1.0 - p) ** 2


def test_a_customer_who_never_bought_again_is_alive() -> None:
    for params in (P, bgnbd.BgNbdParams(0.243, 4.414, 0.793, 2.426)):
        assert bgnbd.p_alive(params, [0, 0], [0.0, 0.0], [5.0, 40.0]).tolist() == [1.0, 1.0]


def test_p_alive_by_hand() -> None:
    # a = b = 1, x = 1: odds of having dropped out = a/(b+x-1) ((alpha+T)/(alpha+t_x))^(r+x)
    # = 1 x (2/1.5)^2 = 16/9, so P(alive) = 1 / (1 + 16/9) = 9/25.
    params = bgnbd.BgNbdParams(r=1.0, alpha=1.0, a=1.0, b=1.0)
    assert bgnbd.p_alive(params, 1, 0.5, 1.0) == pytest.approx(0.36)
    # A recent buyer is more likely alive than one whose last purchase was long ago.
    early, late = bgnbd.p_alive(P, [3, 3], [1.0, 9.0], [10.0, 10.0])
    assert early < late


def test_log_likelihood_by_hand() -> None:
    one = bgnbd.BgNbdParams(r=1.0, alpha=1.0, a=1.0, b=1.0)
    # x = 0: L = (alpha / (alpha + T))^r = 1/2 (no dropout term).
    assert bgnbd.log_likelihood(one, 0, 0.0, 1.0) == pytest.approx(math.log(0.5))
    half = bgnbd.BgNbdParams(r=0.5, alpha=2.0, a=1.0, b=1.0)
    assert bgnbd.log_likelihood(half, 0, 0.0, 3.0) == pytest.approx(0.5 * math.log(2 / 5))
    # x = 1, a = b = 1: B(1,2)/B(1,1) = B(2,1)/B(1,1) = 1/2 and Gamma(2)/Gamma(1) = 1, so
    # L = 0.5/(1+T)^2 + 0.5/(1+t_x)^2 = 0.125 + 0.5/2.25.
    assert bgnbd.log_likelihood(one, 1, 0.5, 1.0) == pytest.approx(math.log(0.125 + 0.5 / 2.25))


def _posterior_integral(x: int, t_x: float, T: float, t: float) -> float:
    """E[Y(t) | x, t_x, T] from the individual-level model: for a given (lambda, p) the
    customer is alive at T with likelihood (1-p)^x lambda^x e^(-lambda T) and then buys
    (1 - e^(-lambda p t)) / p times on average; average over the posterior of (lambda, p)."""
    def alive(p: float, lam: float) -> float:
        return (1 - p) ** x * lam**x * math.exp(-lam * T)

    def likelihood(p: float, lam: float) -> float:
        dropped = p * (1 - p) ** (x - 1) * lam**x * math.exp(-lam * t_x) if x > 0 else 0.0
        return (alive(p, lam) + dropped) * g(lam) * f(p)

    def future(p: float, lam: float) -> float:
        return alive(p, lam) * -math.expm1(-lam * p * t) / p * g(lam) * f(p)

    num, _ = integrate.dblquad(future, 0, 30, 0, 1, epsabs=1e-13, epsrel=1e-8)
    den, _ = integrate.dblquad(likelihood, 0, 30, 0, 1, epsabs=1e-13, epsrel=1e-8)
    return num / den


@pytest.mark.parametrize(("x", "t_x", "T", "t"), [(0, 0.0, 6.0, 4.0), (3, 5.0, 8.0, 10.0),
                                                  (5, 2.0, 12.0, 26.0)])
def test_conditional_expectation_matches_the_individual_model(
    x: int, t_x: float, T: float, t: float
) -> None:
    got = float(bgnbd.expected_purchases(P, t, x, t_x, T))
    assert got == pytest.approx(_posterior_integral(x, t_x, T, t), rel=1e-6)


def test_expected_purchases_of_a_new_customer() -> None:
    # E[X(t)] = E[(1 - e^(-lambda p t)) / p] over the mixing distributions.
    want, _ = integrate.dblquad(lambda p, lam: -math.expm1(-lam * p * 10) / p * g(lam) * f(p),
                                0, 30, 0, 1, epsabs=1e-13, epsrel=1e-8)
    assert float(bgnbd.expected_purchases_new_customer(P, 10.0)) == pytest.approx(want, rel=1e-6)


def _simulate(params: bgnbd.BgNbdParams, n: int, seed: int) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    lam = rng.gamma(params.r, 1 / params.alpha, n)
    p = rng.beta(params.a, params.b, n)
    T = rng.uniform(20, 52, n)
    x = np.zeros(n)
    t_x = np.zeros(n)
    now = np.zeros(n)
    active = np.ones(n, dtype=bool)
    while active.any():
        idx = np.flatnonzero(active)
        now[idx] += rng.exponential(1 / lam[idx])
        bought = now[idx] <= T[idx]
        got = idx[bought]
        x[got] += 1
        t_x[got] = now[got]
        # After each purchase the customer drops out with probability p.
        active[idx[~bought]] = False
        active[got[rng.random(got.size) < p[got]]] = False
    return x, t_x, T


def test_the_fit_uses_the_same_likelihood_and_its_exact_gradient() -> None:
    x, t_x, T = _simulate(bgnbd.BgNbdParams(0.8, 6.0, 1.5, 4.0), 3_000, seed=1)
    data = bgnbd._Customers(x, t_x, T)
    at = np.array([0.7, 5.0, 1.2, 3.0])
    value, grad = data.value_and_gradient(bgnbd.BgNbdParams(*at))
    assert value == pytest.approx(bgnbd.log_likelihood(bgnbd.BgNbdParams(*at), x, t_x, T).mean())
    numeric = approx_fprime(at, lambda q: data.value_and_gradient(bgnbd.BgNbdParams(*q))[0],
                            1e-7)
    assert grad == pytest.approx(numeric, rel=1e-4, abs=1e-7)


def test_fit_recovers_known_parameters() -> None:
    truth = bgnbd.BgNbdParams(r=0.8, alpha=6.0, a=1.5, b=4.0)
    x, t_x, T = _simulate(truth, 20_000, seed=3)
    fit = bgnbd.fit(x, t_x, T)
    for name, value in truth.as_dict().items():
        assert getattr(fit.params, name) == pytest.approx(value, rel=0.2), name
    # The fitted optimum is at least as likely as the truth.
    assert fit.log_likelihood >= bgnbd.log_likelihood(truth, x, t_x, T).sum()


def test_gamma_gamma_density_by_hand() -> None:
    # p = 1, q = 2, gamma = 1, one transaction: z | nu ~ Exp(nu), nu ~ Gamma(2, 1), so
    # f(z) = integral of nu e^(-nu z) nu e^(-nu) dnu = 2 / (1 + z)^3 = 1/4 at z = 1.
    params = gamma_gamma.GammaGammaParams(p=1.0, q=2.0, v=1.0)
    assert gamma_gamma.log_likelihood(params, 1, 1.0) == pytest.approx(math.log(0.25))
    # Posterior nu | m, x ~ Gamma(q + p x, gamma + m x); E[p / nu] = p (gamma + m x) /
    # (q + p x - 1): 1 x (1 + 4 x 3) / (2 + 4 - 1) = 13/5 for x = 4, m = 3.
    assert gamma_gamma.expected_spend(params, 4, 3.0) == pytest.approx(13 / 5)
    # With no repeat purchase the expectation is the population mean gamma p / (q - 1).
    assert gamma_gamma.expected_spend(params, 0, 0.0) == pytest.approx(
        gamma_gamma.population_mean_spend(params))


def test_gamma_gamma_gradient_is_exact() -> None:
    rng = np.random.default_rng(2)
    x = rng.integers(1, 6, 500).astype(float)
    m = rng.gamma(3.0, 10.0, 500)
    data = gamma_gamma._RepeatBuyers(x, m)
    at = np.array([5.0, 3.0, 12.0])
    value, grad = data.value_and_gradient(gamma_gamma.GammaGammaParams(*at))
    assert value == pytest.approx(
        gamma_gamma.log_likelihood(gamma_gamma.GammaGammaParams(*at), x, m).mean())
    numeric = approx_fprime(
        at, lambda q: data.value_and_gradient(gamma_gamma.GammaGammaParams(*q))[0], 1e-7)
    assert grad == pytest.approx(numeric, rel=1e-4, abs=1e-7)


def test_gamma_gamma_fit_recovers_known_parameters() -> None:
    rng = np.random.default_rng(5)
    p, q, v = 4.0, 3.0, 20.0
    x = rng.integers(1, 8, 20_000).astype(float)
    nu = rng.gamma(q, 1 / v, x.size)
    m = rng.gamma(p * x, 1 / nu) / x  # mean of x Gamma(p, nu) values
    fit = gamma_gamma.fit(x, m)
    assert (fit.params.p, fit.params.q, fit.params.v) == pytest.approx((p, q, v), rel=0.15)


def test_clv_is_discounted_expected_purchases_times_spend() -> None:
    gg = gamma_gamma.GammaGammaParams(p=1.0, q=2.0, v=1.0)
    flat = customer_value(P, gg, [3], [5.0], [8.0], [3.0], ClvSettings(yearly_discount=0.0))
    # No discount: CLV = E[purchases in 52 weeks] x E[spend], E[spend] = (1 + 3 x 3) / (3 + 1).
    assert flat.expected_spend[0] == pytest.approx(10 / 4)
    assert flat.clv[0] == pytest.approx(flat.expected_purchases[0] * 10 / 4)
    assert flat.expected_purchases[0] == pytest.approx(
        float(bgnbd.expected_purchases(P, 52.0, 3, 5.0, 8.0)))
    discounted = customer_value(P, gg, [3], [5.0], [8.0], [3.0], ClvSettings(yearly_discount=0.2))
    assert 0 < discounted.clv[0] < flat.clv[0]
