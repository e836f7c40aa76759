"""Rolling-origin backtests: choose a model per series, put intervals around it, score it.

A model is chosen per series on the history alone: each candidate forecasts the days just
before the origin from the data before them (inner folds), and the one with the smallest total
absolute error wins. The prediction interval comes from the same inner folds: the winner's
errors, divided by the square root of its forecast (counts vary like a Poisson's, more where
more arrive), give the quantiles that scale each new forecast. Slots with neither forecast nor
contacts (a closed night) say nothing about the error and are left out.

`evaluate` repeats all that at each outer origin and scores the chosen model with MASE: mean
absolute error over the in-sample mean absolute error of the one-day seasonal naive on that
fold's history (Hyndman's scale; day-ahead forecasting of half-hours is the M4 hourly setting).
The weekly seasonal naive is scored on the same folds with the same scale.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from cxhub.analytics.forecast.models import BASELINE, CANDIDATES, MODELS
from cxhub.analytics.forecast.series import Series, SeriesError

LEVEL = 0.95
MIN_TRAIN_DAYS = 7  # an inner fold needs one whole week to learn each weekday from
INNER_FOLDS = 7


@dataclass
class Forecast:
    model: str
    first_day: int  # day index (of the series) of the first forecast day
    point: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    level: float = LEVEL
    inner_mae: dict[str, float] = field(default_factory=dict)


Cache = dict[tuple[str, int, int], np.ndarray]


def _run(name: str, values: np.ndarray, series: Series, train_days: int,
         h_days: int, cache: Cache | None = None) -> np.ndarray:
    """One model's forecast of h_days from train_days of history. An evaluation's folds share
    most of their inner folds, so they share a cache of these (MSTL takes about a second)."""
    key = (name, train_days, h_days)
    if cache is not None and key in cache:
        return cache[key]
    pd_ = series.per_day
    history = values[: train_days * pd_]
    weekdays = series.weekdays(0, train_days)
    future = series.weekdays(train_days, h_days)
    out = MODELS[name](history, weekdays, future, pd_)
    if out.shape != (h_days * pd_,) or not np.all(np.isfinite(out)):
        raise ValueError(f"{name} returned no usable forecast")
    out = np.maximum(out, 0.0)
    if cache is not None:
        cache[key] = out
    return out


def _inner_origins(origin: int, h_days: int, folds: int) -> tuple[int, list[int]]:
    step = min(h_days, 7)
    origins = [origin - step * i for i in range(1, folds + 1)]
    return step, [o for o in origins if o >= MIN_TRAIN_DAYS]


def choose(series: Series, origin: int, h_days: int, *, candidates: tuple[str, ...] = CANDIDATES,
           folds: int = INNER_FOLDS,
           cache: Cache | None = None) -> tuple[str, dict[str, float], np.ndarray]:
    """The candidate with the least absolute error over inner folds before day `origin`;
    returns its name, every candidate's mean absolute error, and the winner's normalised
    errors (for the interval)."""
    step, origins = _inner_origins(origin, h_days, folds)
    values = series.values
    pd_ = series.per_day
    if not origins:
        return "seasonal_mean", {}, np.zeros(0)
    errors: dict[str, list[np.ndarray]] = {}
    normed: dict[str, list[np.ndarray]] = {}
    for name in candidates:
        try:
            for o in origins:
                pred = _run(name, values, series, o, step, cache)
                actual = values[o * pd_:(o + step) * pd_]
                seen = ~np.isnan(actual) & ((pred >= 0.5) | (actual > 0))
                errors.setdefault(name, []).append(np.abs(actual[seen] - pred[seen]))
                normed.setdefault(name, []).append(
                    (actual[seen] - pred[seen]) / np.sqrt(np.maximum(pred[seen], 1.0)))
        except (ValueError, np.linalg.LinAlgError):
            errors.pop(name, None)  # e.g. MSTL with under two weeks: not a candidate here
            normed.pop(name, None)
    if not errors:
        return "seasonal_mean", {}, np.zeros(0)
    mae = {n: float(np.concatenate(e).mean()) if sum(map(len, e)) else 0.0
           for n, e in errors.items()}
    best = min(mae, key=lambda n: (mae[n], candidates.index(n)))
    return best, mae, np.concatenate(normed[best])


def forecast(series: Series, h_days: int, *, origin: int | None = None,
             candidates: tuple[str, ...] = CANDIDATES, folds: int = INNER_FOLDS,
             cache: Cache | None = None) -> Forecast:
    """Forecast `h_days` whole days from day `origin` (default: the day after the history)."""
    origin = series.days if origin is None else origin
    if origin < MIN_TRAIN_DAYS:
        raise SeriesError(f"{series.name}: {origin} days of history; at least "
                          f"{MIN_TRAIN_DAYS} are needed")
    name, mae, normed = choose(series, origin, h_days, candidates=candidates, folds=folds,
                               cache=cache)
    point = _run(name, series.values, series, origin, h_days, cache)
    lo_q, hi_q = (np.quantile(normed, [(1 - LEVEL) / 2, (1 + LEVEL) / 2]) if normed.size >= 20
                  else (-1.96, 1.96))  # too few errors to learn from: the Poisson's own width
    width = np.sqrt(np.maximum(point, 1.0))
    lo = np.maximum(point + lo_q * width, 0.0)
    hi = np.maximum(point + hi_q * width, point)
    return Forecast(name, origin, point, np.minimum(lo, point), hi, LEVEL, mae)


def mase_scale(values: np.ndarray, per_day: int) -> float:
    """In-sample mean absolute error of the one-day seasonal naive (missing pairs left out)."""
    diff = np.abs(values[per_day:] - values[:-per_day])
    diff = diff[~np.isnan(diff)]
    return float(diff.mean()) if diff.size else 0.0


def evaluate(series: Series, h_days: int, folds: int, *,
             candidates: tuple[str, ...] = CANDIDATES) -> dict[str, Any]:
    """Rolling-origin evaluation: `folds` origins, each `h_days` after the previous, ending at
    the last day. Each fold chooses its model on its own history."""
    pd_ = series.per_day
    first = series.days - folds * h_days
    if first < MIN_TRAIN_DAYS + 7:
        need = MIN_TRAIN_DAYS + 7 + folds * h_days
        raise SeriesError(
            f"{series.name}: {series.days} days of data; {folds} folds of {h_days} day(s) with "
            f"weekly seasonality need at least {need} days ({folds * h_days} to test, two weeks "
            "before the first to learn and choose from)")
    rows = []
    cache: Cache = {}
    for k in range(folds):
        o = first + k * h_days
        scale = mase_scale(series.values[: o * pd_], pd_)
        if scale <= 0:
            raise SeriesError(f"{series.name}: the history before fold {k + 1} never changes "
                              "from one day to the next; MASE is undefined")
        fc = forecast(series, h_days, origin=o, candidates=candidates, cache=cache)
        actual = series.values[o * pd_:(o + h_days) * pd_]
        seen = ~np.isnan(actual)
        naive = _run(BASELINE, series.values, series, o, h_days, cache)
        inside = (actual[seen] >= fc.lo[seen]) & (actual[seen] <= fc.hi[seen])
        rows.append({
            "origin": series.slot_start(o * pd_).date().isoformat(),
            "model": fc.model,
            "mase": float(np.abs(actual[seen] - fc.point[seen]).mean() / scale),
            "mase_seasonal_naive": float(np.abs(actual[seen] - naive[seen]).mean() / scale),
            "coverage": float(inside.mean()) if inside.size else None,
            "inner_mae": {n: round(v, 3) for n, v in fc.inner_mae.items()},
        })
    mase = float(np.mean([r["mase"] for r in rows]))
    base = float(np.mean([r["mase_seasonal_naive"] for r in rows]))
    chosen = [r["model"] for r in rows]
    return {
        "series": series.name,
        "interval_minutes": series.minutes,
        "horizon_days": h_days,
        "folds": folds,
        "days": series.days,
        "mase": mase,
        "mase_seasonal_naive": base,
        "improvement": 1 - mase / base if base > 0 else None,
        "model": max(set(chosen), key=chosen.count),
        "coverage": float(np.mean([r["coverage"] for r in rows if r["coverage"] is not None])),
        "per_fold": rows,
    }
