"""Incremental effects of an offer from a randomised control group, with 95% intervals.

Acceptance: the difference of two proportions with Newcombe's hybrid score interval (his
method 10, built from the two Wilson intervals), which keeps its coverage at the small
acceptance rates offers have, where the Wald interval is too narrow. Revenue per customer: the
difference of two means with Welch's normal interval.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

Z95 = 1.959963984540054


def wilson(x: float, n: float, z: float = Z95) -> tuple[float, float]:
    if n <= 0:
        return 0.0, 1.0
    p = x / n
    centre = p + z * z / (2 * n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    den = 1 + z * z / n
    return (centre - half) / den, (centre + half) / den


def rate_difference(x1: float, n1: float, x0: float, n0: float,
                    z: float = Z95) -> tuple[float, float, float]:
    """(p1 - p0, low, high): Newcombe (1998) method 10."""
    if n1 <= 0 or n0 <= 0:
        return math.nan, math.nan, math.nan
    p1, p0 = x1 / n1, x0 / n0
    l1, u1 = wilson(x1, n1, z)
    l0, u0 = wilson(x0, n0, z)
    d = p1 - p0
    low = d - math.sqrt((p1 - l1) ** 2 + (u0 - p0) ** 2)
    high = d + math.sqrt((u1 - p1) ** 2 + (p0 - l0) ** 2)
    return d, low, high


def mean_difference(a: np.ndarray, b: np.ndarray, z: float = Z95) -> tuple[float, float, float]:
    """(mean(a) - mean(b), low, high) with Welch's standard error."""
    if len(a) < 2 or len(b) < 2:
        return math.nan, math.nan, math.nan
    d = float(a.mean() - b.mean())
    se = math.sqrt(a.var(ddof=1) / len(a) + b.var(ddof=1) / len(b))
    return d, d - z * se, d + z * se


@dataclass(frozen=True)
class Effect:
    """One group's figures: offered vs control."""

    offered: int
    control: int
    accepted_offered: int
    accepted_control: int
    rate_offered: float
    rate_control: float
    uplift: float
    uplift_low: float
    uplift_high: float
    revenue_per_offer: float
    revenue_uplift: float
    revenue_low: float
    revenue_high: float

    def as_dict(self) -> dict[str, float | int]:
        return {k: (None if isinstance(v, float) and math.isnan(v) else v)  # type: ignore[misc]
                for k, v in asdict(self).items()}


def effect(treated: np.ndarray, accepted: np.ndarray, revenue: np.ndarray | None = None
           ) -> Effect:
    """Figures for one group of decisions: `treated` (offer made) vs control, boolean arrays."""
    treated = np.asarray(treated, dtype=bool)
    accepted = np.asarray(accepted, dtype=bool)
    rev = np.zeros(len(treated)) if revenue is None else np.asarray(revenue, dtype=float)
    n1, n0 = int(treated.sum()), int((~treated).sum())
    x1, x0 = int(accepted[treated].sum()), int(accepted[~treated].sum())
    d, lo, hi = rate_difference(x1, n1, x0, n0)
    r_d, r_lo, r_hi = mean_difference(rev[treated], rev[~treated])
    return Effect(n1, n0, x1, x0, x1 / n1 if n1 else math.nan, x0 / n0 if n0 else math.nan,
                  d, lo, hi, float(rev[treated].mean()) if n1 else math.nan, r_d, r_lo, r_hi)
