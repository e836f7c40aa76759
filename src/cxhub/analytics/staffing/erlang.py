"""Erlang C and Erlang A, vectorised over numpy arrays and computed in log space.

Units: arrivals are a count per interval, every time is in seconds. Erlang C (M/M/n) assumes
callers wait for ever; Erlang A (M/M/n+M, Palm's queue) lets each caller hang up after an
exponential patience of the given mean. The formulas are the incomplete-gamma forms of
Mandelbaum and Zeltyn's summary of the M/M/n+M queue; the service level of Erlang A (calls
answered within the threshold over all calls offered) is their integral worked out in closed
form, as written in docs/forecast.md. Nothing here loops over agents, so a call with a
million rows costs a few dozen array operations.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special

from cxhub.analytics.staffing._gamma import log_lower_reg, log_poisson_cdf_below

Array = NDArray[np.float64]


@dataclass(frozen=True)
class QueueFigures:
    """What a queue with `agents` agents delivers (arrays of one shape)."""

    agents: Array
    p_wait: Array
    service_level: Array
    occupancy: Array
    asa_seconds: Array
    p_abandon: Array  # zeros for Erlang C


def _log_r(n: Array, a: Array) -> Array:
    """log of sum_{k<n} a^k/k! divided by a^n/n!, i.e. of 1/ErlangB(n, a) - 1."""
    with np.errstate(divide="ignore"):
        return np.asarray(
            log_poisson_cdf_below(n, a) + a + special.gammaln(n + 1) - n * np.log(a),
            dtype=np.float64)


def erlang_c(agents: ArrayLike, arrivals: ArrayLike, interval_seconds: ArrayLike,
             aht_seconds: ArrayLike, answer_within_seconds: ArrayLike) -> QueueFigures:
    """Erlang C. With no more agents than the load (an unstable queue) every caller waits:
    P(wait) 1, service level 0, ASA infinite, occupancy 1."""
    n, lam, aht, t = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (
        agents, np.asarray(arrivals, dtype=float) / np.asarray(interval_seconds, dtype=float),
        aht_seconds, answer_within_seconds)))
    a = lam * aht
    stable = n > a
    idle = a <= 0
    safe_n = np.where(stable & ~idle, n, 2.0)
    safe_a = np.where(stable & ~idle, a, 1.0)
    with np.errstate(over="ignore"):
        c = 1.0 / (1.0 + np.exp(_log_r(safe_n, safe_a)) * (1.0 - safe_a / safe_n))
    c = np.where(idle, 0.0, np.where(stable, c, 1.0))
    gap = np.where(stable, n - a, 1.0)
    sl = np.where(stable, 1.0 - c * np.exp(-gap * t / aht), 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        asa = np.where(stable, c * aht / gap, np.inf)
        occupancy = np.where(n > 0, np.minimum(a / n, 1.0), np.where(idle, 0.0, 1.0))
    return QueueFigures(n, c, np.where(idle, 1.0, sl), occupancy, np.where(idle, 0.0, asa),
                        np.zeros_like(c))


def erlang_a(agents: ArrayLike, arrivals: ArrayLike, interval_seconds: ArrayLike,
             aht_seconds: ArrayLike, answer_within_seconds: ArrayLike,
             patience_seconds: ArrayLike) -> QueueFigures:
    """Erlang A: callers hang up after an exponential patience with the given mean.

    With x = n * patience / AHT and y = arrival rate * patience, A(x, y) = x e^y y^-x gamma(x, y):
    P(wait) = A / (A + R) with R = 1/ErlangB - 1; P(served | wait) = x P(x+1, y) / (y P(x, y));
    P(answered within t) = 1 - P(wait) + P(wait) x [P(x+1, y) - P(x+1, y e^(-t/patience))]
    / (y P(x, y)); ASA = P(abandon) * patience (Little's law on the queue).
    """
    n, lam, aht, t, pat = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (
        agents, np.asarray(arrivals, dtype=float) / np.asarray(interval_seconds, dtype=float),
        aht_seconds, answer_within_seconds, patience_seconds)))
    idle = (lam <= 0) | (n <= 0)
    nn = np.where(idle, 1.0, n)
    ll = np.where(idle, 1.0 / aht, lam)
    a = ll * aht
    x = nn * pat / aht
    y = ll * pat
    u = y * np.exp(-t / pat)
    lp_xy = log_lower_reg(x, y)
    lp_x1y = log_lower_reg(x + 1, y)
    lp_x1u = log_lower_reg(x + 1, u)
    log_a = np.log(x) + y - x * np.log(y) + special.gammaln(x) + lp_xy
    p_wait = special.expit(log_a - _log_r(nn, a))
    served_if_wait = x / y * np.exp(lp_x1y - lp_xy)
    p_abandon = p_wait * np.clip(1.0 - served_if_wait, 0.0, 1.0)
    with np.errstate(invalid="ignore"):
        within = served_if_wait * -np.expm1(np.where(t > 0, lp_x1u - lp_x1y, 0.0))
    sl = 1.0 - p_wait + p_wait * within
    occupancy = np.minimum(a * (1.0 - p_abandon) / nn, 1.0)
    asa = p_abandon * pat
    no_agents = (n <= 0) & (lam > 0)
    zero = np.zeros_like(p_wait)
    return QueueFigures(
        n,
        np.where(no_agents, 1.0, np.where(idle, 0.0, p_wait)),
        np.where(no_agents, 0.0, np.where(idle, 1.0, sl)),
        np.where(idle, zero, occupancy),
        np.where(no_agents, pat, np.where(idle, 0.0, asa)),
        np.where(no_agents, 1.0, np.where(idle, 0.0, p_abandon)),
    )
