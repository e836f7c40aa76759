"""Customer lifetime value from a fitted BG/NBD (how many purchases) and Gamma-Gamma (how much
each): the expected, discounted net revenue of the coming horizon.

CLV = sum over steps i of (E[Y(t_i)] - E[Y(t_(i-1))]) x E[spend] x margin / (1 + d)^(t_i / 52),
with t_i = horizon x i / steps in weeks and d the yearly discount rate. Without a Gamma-Gamma
fit (too few repeat buyers) the spend is the customer's own mean repeat value, or the mean
over repeat buyers for customers who never bought again.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cxhub.analytics.segments import bgnbd, gamma_gamma


@dataclass(frozen=True)
class ClvSettings:
    horizon_weeks: float = 52.0
    yearly_discount: float = 0.10
    margin: float = 1.0  # share of revenue kept; 1.0 makes CLV a revenue figure
    steps: int = 12


@dataclass(frozen=True)
class CustomerValue:
    expected_purchases: np.ndarray
    p_alive: np.ndarray
    expected_spend: np.ndarray
    clv: np.ndarray


def spend(
    gg: gamma_gamma.GammaGammaParams | None, x: np.ndarray, m: np.ndarray
) -> np.ndarray:
    x = np.asarray(x, dtype=float)
    m = np.asarray(m, dtype=float)
    if gg is not None and gg.q > 1.0:
        return gamma_gamma.expected_spend(gg, x, m)
    repeat = (x > 0) & (m > 0)
    fallback = float(m[repeat].mean()) if repeat.any() else 0.0
    return np.where(repeat, m, fallback)


def customer_value(
    bg: bgnbd.BgNbdParams,
    gg: gamma_gamma.GammaGammaParams | None,
    x: np.ndarray,
    t_x: np.ndarray,
    T: np.ndarray,
    m: np.ndarray,
    settings: ClvSettings | None = None,
) -> CustomerValue:
    settings = settings or ClvSettings()
    expected_spend = spend(gg, x, m)
    per_purchase = expected_spend * settings.margin
    times = settings.horizon_weeks * np.arange(1, settings.steps + 1) / settings.steps
    previous = np.zeros(np.shape(x), dtype=float)
    value = np.zeros(np.shape(x), dtype=float)
    for t in times:
        cumulative = bgnbd.expected_purchases(bg, t, x, t_x, T)
        value += (cumulative - previous) * per_purchase / (1.0 + settings.yearly_discount) ** (
            t / 52.0)
        previous = cumulative
    return CustomerValue(previous, bgnbd.p_alive(bg, x, t_x, T), expected_spend, value)
