"""The expected count of each hour, learned from the weeks before it.

For a day D and a series (say, mentions whose cause is product) the baseline looks at the
`weeks` whole weeks before D, cleaned of hours already found to be spikes:

- **level**: the series' weekly total, projected to D by a Theil-Sen line through the weekly
  totals (the median of pairwise slopes, robust to one odd week), kept within `max_trend`
  times the median week;
- **shape**: the share of a week's volume that falls in each of the 168 hours of the week. A
  busy series has enough counts to estimate each hour of the week itself; a sparse one borrows:
  its cell shares are shrunk toward (day-of-week share x hour-of-day share), and those two
  margins toward the margins of a pooled series (all mentions, all contacts);
- **uncertainty**: the expected count is itself an estimate, so the test uses a negative
  binomial whose size combines (a) the day-to-day overdispersion of the series (a moment
  estimate from daily totals) and (b) the relative variance of each hour's estimate (one over
  the counts, observed plus borrowed, behind it). A sparse series therefore needs a bigger
  burst to raise an alert than a busy one.

Hours are in the warehouse's clock (UTC); the hour-of-week shape absorbs any fixed offset to
the customers' local time.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class BaselineSettings:
    weeks: int = 4  # whole weeks behind each day's level
    shape_weeks: int = 8  # whole weeks behind each day's hour-of-week shape
    min_weeks: int = 2  # no test before this much history
    cell_strength: float = 168.0  # pseudo-counts pulling the 168 cells toward the margins
    margin_strength: float = 24.0  # pseudo-counts pulling a series' margins toward the pool
    max_trend: float = 1.5
    max_dispersion: float = 0.5


@dataclass
class DayBaseline:
    mu: np.ndarray  # (S, 24) expected counts of the day's hours
    var_mu: np.ndarray  # (S, 24) variance of those estimates (mu^2 / pseudo-counts)
    dispersion: np.ndarray  # (S,) day-to-day overdispersion (negative binomial alpha)


def _shares(counts: np.ndarray, prior: np.ndarray, strength: float) -> np.ndarray:
    """(counts + strength * prior) / (total + strength), along the last axis."""
    total = counts.sum(axis=-1, keepdims=True)
    shares: np.ndarray = (counts + strength * prior) / (total + strength)
    return shares


def theil_sen_level(weekly: np.ndarray, max_trend: float) -> np.ndarray:
    """Each series' weekly total projected to the day after its last week.

    weekly: (S, K) totals, oldest first; week k is centred 7 * (K - k) - 3.5 days before the
    day, the day itself half a day after its start.
    """
    s, k = weekly.shape
    centre = -(7.0 * (k - np.arange(k)) - 3.5)
    med: np.ndarray = np.median(weekly, axis=1)
    if k < 2:
        return med
    i, j = np.triu_indices(k, 1)
    slopes = (weekly[:, j] - weekly[:, i]) / (centre[j] - centre[i])
    slope = np.median(slopes, axis=1)
    intercept = np.median(weekly - slope[:, None] * centre[None, :], axis=1)
    level = intercept + slope * 0.5
    bounded: np.ndarray = np.clip(level, med / max_trend, med * max_trend)
    return bounded


def day_baseline(
    history: np.ndarray, pool: np.ndarray, settings: BaselineSettings
) -> DayBaseline:
    """The baseline of one day from the whole weeks before it.

    history: (S, K, 7, 24) cleaned counts, K up to `shape_weeks`; [:, k, j] is day
    D - 7 (K - k) + j, so position j = 0 of every week is the same weekday as D. The shape
    uses all K weeks, the level the last `weeks`. pool: (S,) index of each series' pooled
    series (itself for a pooled series).
    """
    cells = history.sum(axis=1)  # (S, 7, 24)
    total = cells.sum(axis=(1, 2))
    dow = cells.sum(axis=2)
    hod = cells.sum(axis=1)
    pool_dow = _shares(dow[pool], np.full(7, 1 / 7), 7.0)
    pool_hod = _shares(hod[pool], np.full(24, 1 / 24), 24.0)
    dow_share = _shares(dow, pool_dow, settings.margin_strength)
    hod_share = _shares(hod, pool_hod, settings.margin_strength)
    prior = dow_share[:, :, None] * hod_share[:, None, :]  # (S, 7, 24), sums to 1
    m = settings.cell_strength
    pseudo = cells + m * prior
    share = pseudo / (total + m)[:, None, None]

    recent = history[:, -settings.weeks :]
    weekly = recent.sum(axis=(2, 3))  # (S, K)
    level = theil_sen_level(weekly, settings.max_trend)
    mu = level[:, None] * share[:, 0, :]
    # Relative variance of a cell's estimate: one over the counts behind it, plus the level's.
    rel = 1.0 / np.maximum(pseudo[:, 0, :], 1e-9) + 1.0 / np.maximum(total, 1.0)[:, None]
    disp = _dispersion(recent, share, settings)
    return DayBaseline(mu=mu, var_mu=mu * mu * rel, dispersion=disp)


def _dispersion(history: np.ndarray, share: np.ndarray, settings: BaselineSettings) -> np.ndarray:
    """Moment estimate of the negative binomial alpha of daily totals, each week's expected
    daily totals taken from that week's own total (so a trend does not count as noise)."""
    daily = history.sum(axis=3)  # (S, K, 7)
    expected = history.sum(axis=(2, 3))[:, :, None] * share.sum(axis=2)[:, None, :]
    num = ((daily - expected) ** 2 - daily).sum(axis=(1, 2))
    den = (expected**2).sum(axis=(1, 2))
    alpha = np.where(den > 0, num / np.maximum(den, 1e-12), 0.0)
    return np.clip(alpha, 0.0, settings.max_dispersion)
