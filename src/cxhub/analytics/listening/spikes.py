"""Spike detection: hours whose volume the baseline does not explain, merged into spikes.

Day by day, each hour is tested in trailing windows of 1, 3 and 6 hours: the observed count of
the window against a negative binomial with the window's expected count (see `baseline`). An
hour alerts when some window's tail probability is below `alpha` and the window holds at least
`min_count` items and `min_ratio` times what was expected. The hours of an alerting window that
ran above expectation are replaced by their expected counts before later days learn from them,
so a three-day incident does not become the baseline of its own third day.

The test is causal: an hour's verdict depends only on that hour, the hours before it and the
weeks before its day, so running detection every hour gives the verdicts a batch run gives.

Planned demand (`planned`, from the campaign calendar: see `calendar`) is expected, not
alerted: in a planned hour the expected count is the baseline times the lift. The lift is
measured: the median, over the run's earlier planned days, of each day's observed over
baseline counts (a day with an unplanned spike on top moves a median little); on the run's
first day, before anything is measured, the calendar's own lift is used, and when it gives
none that day is not tested. Planned hours enter later baselines divided by their lift.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.stats import nbinom

from cxhub.analytics.listening.baseline import BaselineSettings, day_baseline


@dataclass(frozen=True)
class SpikeSettings:
    windows: tuple[int, ...] = (1, 3, 6)  # hours
    alpha: float = 1e-6  # tail probability of one window test
    min_count: int = 5
    min_ratio: float = 1.5
    merge_gap_hours: int = 12  # alerting hours this close belong to one spike
    baseline: BaselineSettings = field(default_factory=BaselineSettings)


@dataclass
class Detection:
    """Hour-by-hour results for S series over H hours (hour 0 = midnight of day 0)."""

    counts: np.ndarray  # (S, H) observed
    expected: np.ndarray  # (S, H) baseline; NaN before a series has enough history
    alert: np.ndarray  # (S, H) bool
    score: np.ndarray  # (S, H) -log10 of the smallest window tail probability
    window: np.ndarray  # (S, H) the window (hours) of that probability
    threshold: np.ndarray  # (S, H) smallest count of that window that would have alerted


@dataclass(frozen=True)
class Spike:
    series: int
    start: int  # first hour of the first alerting window
    detected: int  # the first alerting hour (the alert exists at its end)
    end: int  # exclusive: one past the last alerting hour
    observed: float
    expected: float
    threshold: float
    score: float


def nb_tail(observed: np.ndarray, mean: np.ndarray, relvar: np.ndarray) -> np.ndarray:
    """P(X >= observed) for X negative binomial with this mean and variance mean + relvar mean^2
    (Poisson where relvar is 0)."""
    size = 1.0 / np.maximum(relvar, 1e-9)
    tail: np.ndarray = nbinom.sf(observed - 1, size, size / (size + mean))
    return tail


def _nb_quantile(mean: np.ndarray, relvar: np.ndarray, alpha: float | np.ndarray) -> np.ndarray:
    size = 1.0 / np.maximum(relvar, 1e-9)
    quantile: np.ndarray = nbinom.isf(alpha, size, size / (size + mean)) + 1
    return quantile


def detect(counts: np.ndarray, pool: np.ndarray | None = None,
           settings: SpikeSettings | None = None, alpha: np.ndarray | None = None,
           planned: np.ndarray | None = None) -> Detection:
    """Run the detector over hourly counts (S, H); H a whole number of days.

    pool: index of the series whose margins each series borrows (default: itself).
    alpha: a tail probability per series (default: settings.alpha for all), for families of
    series that deserve a stricter test (there are many terms, few causes).
    planned: (S, H) the lift the calendar expects in each hour (NaN: nothing planned, 0: a
    planned hour whose lift the calendar does not give).
    """
    st = settings or SpikeSettings()
    b = st.baseline
    counts = np.asarray(counts, dtype=np.float64)
    s, h = counts.shape
    if h % 24:
        raise ValueError("hourly counts must cover whole days")
    days = h // 24
    pool = np.arange(s) if pool is None else np.asarray(pool)
    level = np.full(s, st.alpha) if alpha is None else np.asarray(alpha, dtype=np.float64)
    clean = counts.copy()
    mu = np.full((s, h), np.nan)
    var_mu = np.full((s, h), np.nan)
    disp = np.zeros((s, h))
    alert = np.zeros((s, h), dtype=bool)
    score = np.zeros((s, h))
    best_w = np.zeros((s, h), dtype=np.int64)
    threshold = np.full((s, h), np.nan)
    ratios: list[list[float]] = [[] for _ in range(s)]  # the current planned run's days
    for day in range(7 * b.min_weeks, days):
        k = min(max(b.weeks, b.shape_weeks), day // 7)
        lo = (day - 7 * k) * 24
        hist = clean[:, lo : day * 24].reshape(s, k, 7, 24)
        base = day_baseline(hist, pool, b)
        hours = slice(day * 24, day * 24 + 24)
        mu[:, hours], var_mu[:, hours] = base.mu, base.var_mu
        disp[:, hours] = base.dispersion[:, None]
        silent = np.zeros((s, 24), dtype=bool)
        lifts = np.full(s, np.nan)
        if planned is not None:
            silent, lifts = _expect_planned(planned[:, hours], counts[:, hours], mu[:, hours],
                                            var_mu[:, hours], ratios)
        best_p = np.ones((s, 24))
        for w in st.windows:
            first = day * 24 - w + 1
            if first < 0:
                continue
            obs = _window_sum(counts, first, w)
            exp = _window_sum(mu, first, w)
            var = _window_sum(var_mu, first, w)
            relvar = np.where(exp > 0, var / np.maximum(exp, 1e-12) ** 2, 0) + disp[:, hours]
            cand = ((obs >= st.min_count) & (obs >= st.min_ratio * exp) & np.isfinite(exp)
                    & ~silent)
            p = np.ones((s, 24))
            if cand.any():
                p[cand] = nb_tail(obs[cand], exp[cand], relvar[cand])
            hit = cand & (p < level[:, None])
            better = p < best_p
            best_p = np.where(better, p, best_p)
            best_w[:, hours] = np.where(better, w, best_w[:, hours])
            if hit.any():
                threshold[:, hours] = np.where(
                    hit & np.isnan(threshold[:, hours]),
                    _nb_quantile(np.maximum(exp, 1e-9), relvar, level[:, None]),
                    threshold[:, hours],
                )
                _clean(clean, counts, mu, hit, day, w)
            alert[:, hours] |= hit
        score[:, hours] = -np.log10(np.maximum(best_p, 1e-300))
        if planned is not None:
            _clean_planned(clean[:, hours], counts[:, hours], mu[:, hours], planned[:, hours],
                           lifts, alert[:, hours])
    return Detection(counts, mu, alert, score, best_w, threshold)


def _expect_planned(plan: np.ndarray, obs: np.ndarray, mu: np.ndarray, var_mu: np.ndarray,
                    ratios: list[list[float]]) -> tuple[np.ndarray, np.ndarray]:
    """Lift one day's expected counts (views, changed in place) where demand is planned.
    Returns the hours not to test (planned, lift not known yet) and each series' lift."""
    on = ~np.isnan(plan)
    silent = np.zeros_like(on)
    lifts = np.full(len(plan), np.nan)
    for i in range(len(plan)):
        if not on[i].any():
            ratios[i].clear()  # a planned run ended: the next one measures its own lift
            continue
        given = float(np.nanmax(plan[i]))
        lift = float(np.median(ratios[i])) if ratios[i] else given
        expected = float(mu[i, on[i]].sum())
        if expected > 0:
            ratios[i].append(float(obs[i, on[i]].sum()) / expected)
        if not lift:
            silent[i] = on[i]
            continue
        lifts[i] = lift = max(1.0, lift)
        mu[i, on[i]] *= lift
        var_mu[i, on[i]] *= lift * lift
    return silent, lifts


def _clean_planned(clean: np.ndarray, counts: np.ndarray, mu: np.ndarray, plan: np.ndarray,
                   lifts: np.ndarray, alert: np.ndarray) -> None:
    """Planned hours enter later baselines as usual demand: divided by their lift, or the
    baseline itself where the lift was not known or the hour alerted anyway."""
    for i in np.flatnonzero((~np.isnan(plan)).any(axis=1)):
        on = ~np.isnan(plan[i])
        lift = lifts[i]
        usual = mu[i] / (lift if np.isfinite(lift) else 1.0)
        plain = counts[i] / lift if np.isfinite(lift) else usual
        clean[i, on] = np.where(alert[i, on], usual[on], plain[on])


def _window_sum(a: np.ndarray, first: int, w: int) -> np.ndarray:
    """Sums over the w hours ending at each of the 24 hours from first + w - 1."""
    block = a[:, first : first + 24 + w - 1]
    sums: np.ndarray = np.lib.stride_tricks.sliding_window_view(block, w, axis=1).sum(axis=2)
    return sums


def _clean(clean: np.ndarray, counts: np.ndarray, mu: np.ndarray, hit: np.ndarray,
           day: int, w: int) -> None:
    """Replace the above-expectation hours of each alerting window by their expected counts."""
    for series, hour in zip(*np.nonzero(hit), strict=True):
        end = day * 24 + int(hour) + 1
        span = slice(max(0, end - w), end)
        high = counts[series, span] > mu[series, span]
        clean[series, span] = np.where(high, mu[series, span], clean[series, span])


def spikes(det: Detection, settings: SpikeSettings | None = None) -> list[Spike]:
    """Alerting hours merged into spikes: runs of alerts no more than merge_gap_hours apart."""
    st = settings or SpikeSettings()
    out: list[Spike] = []
    for series in range(det.alert.shape[0]):
        hours = np.flatnonzero(det.alert[series])
        if not len(hours):
            continue
        breaks = np.flatnonzero(np.diff(hours) > st.merge_gap_hours)
        for run in np.split(hours, breaks + 1):
            first, last = int(run[0]), int(run[-1])
            start = max(0, first - int(det.window[series, first]) + 1)
            end = last + 1
            mu = det.expected[series, start:end]
            out.append(Spike(
                series=series,
                start=start,
                detected=first,
                end=end,
                observed=float(det.counts[series, start:end].sum()),
                expected=float(np.nansum(mu)),
                threshold=float(det.threshold[series, first]),
                score=float(det.score[series, run].max()),
            ))
    return out
