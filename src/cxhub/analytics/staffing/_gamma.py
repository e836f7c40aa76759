"""Logarithms of the regularized incomplete gamma functions, without underflow.

Erlang C and Erlang A are ratios of incomplete gamma functions whose values leave the range of
a float long before the answer does (hundreds of agents, a queue far from its load). SciPy's
`gammainc`/`gammaincc` are accurate wherever their result is a normal float; only where it
underflows do we sum the series ourselves, in log space, and there it converges fast because
the argument is far below the shape.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special

# Below this, scipy's value is too close to underflow to trust its relative accuracy.
_TINY = 1e-280
# Terms of the series used in the underflow region. There y < 0.8 (x + 1) (a value below
# 1e-280 needs the argument that far below the shape), so 400 terms reach 0.8**400 < 1e-38.
_SERIES_TERMS = 400


def log_lower_reg(x: ArrayLike, y: ArrayLike) -> NDArray[np.float64]:
    """log P(x, y), the log of the regularized lower incomplete gamma function (x > 0, y >= 0)."""
    shape = np.broadcast_shapes(np.shape(x), np.shape(y))
    x, y = (np.broadcast_to(np.asarray(v, dtype=float), shape).ravel() for v in (x, y))
    with np.errstate(divide="ignore"):
        value = special.gammainc(x, y)
        out = np.log(value)
    small = (value < _TINY) & (y > 0)
    if np.any(small):
        out[small] = _log_lower_series(x[small], y[small])
    return np.asarray(out.reshape(shape), dtype=np.float64)


def _log_lower_series(x: NDArray[np.float64], y: NDArray[np.float64]) -> NDArray[np.float64]:
    # P(x, y) = y^x e^-y / Gamma(x + 1) * sum_j y^j / ((x + 1) ... (x + j)); the terms only
    # shrink here, so the sum is accumulated in plain floats relative to the first term.
    total = np.ones_like(x)
    term = np.ones_like(x)
    for j in range(1, _SERIES_TERMS + 1):
        term = term * y / (x + j)
        total += term
    return np.asarray(x * np.log(y) - y - special.gammaln(x + 1) + np.log(total),
                      dtype=np.float64)


def log_poisson_cdf_below(n: ArrayLike, a: ArrayLike) -> NDArray[np.float64]:
    """log P(N <= n - 1) for N ~ Poisson(a): the regularized upper gamma Q(n, a), in logs."""
    shape = np.broadcast_shapes(np.shape(n), np.shape(a))
    n, a = (np.broadcast_to(np.asarray(v, dtype=float), shape).ravel() for v in (n, a))
    with np.errstate(divide="ignore"):
        value = special.gammaincc(n, a)
        out = np.log(value)
    small = value < _TINY
    if np.any(small):
        # Only where the load is far above the agents: there the last term dominates and the
        # sum is a short, shrinking series in (n - 1) / a, (n - 1)(n - 2) / a^2, ...
        ns, as_ = n[small], a[small]
        total = np.ones_like(ns)
        term = np.ones_like(ns)
        for j in range(1, _SERIES_TERMS + 1):
            term = term * np.maximum(ns - j, 0) / as_
            total += term
        out[small] = -as_ + (ns - 1) * np.log(as_) - special.gammaln(ns) + np.log(total)
    return np.asarray(out.reshape(shape), dtype=np.float64)
