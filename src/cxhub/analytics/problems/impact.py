"""What an action changed: the treated series after the action against a counterfactual.

The counterfactual is a regression fitted on the weeks before the action: the treated series'
weekly log count is the log of the total of control series the action should not touch (other
causes: they carry the company's season, growth and one-off busy weeks) plus a level and,
when its t statistic says it is clear, a linear trend (its share drifting). Weeks are counted
from the action's day, seven whole days each, so every week holds each weekday once: the
weekday and hour shape cancels out and needs no term of its own.

Weeks before the action that the fit explains badly (an incident in the treated series, a
campaign in the controls) are left out of the fit, a few times over, by a robust scale of the
residuals, so that a spike does not become the baseline.

The interval comes from simulation (the model's parameters and the weekly noise drawn from
their posterior under a flat prior: a t-like spread for the coefficients, a scaled
inverse-chi-square for the noise): each draw gives a counterfactual total after the action, and
the 2.5% and 97.5% quantiles of actual / counterfactual - 1 bound the relative effect.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np


@dataclass(frozen=True)
class ImpactSettings:
    weeks_before: int = 52  # the most weeks before the action the fit uses
    min_weeks_before: int = 8
    min_weeks_after: int = 2  # fewer: "too early to tell"
    min_contacts_per_week: float = 20.0  # the treated series before the action; fewer: too few
    outlier_scale: float = 3.5  # robust z-score past which a week is left out of the fit
    draws: int = 4000
    level: float = 0.95
    seed: int = 7
    trend_t: float = 2.5  # the trend is kept when its t statistic reaches this
    control_change: float = 0.05  # a control whose share moves this much at the action ...
    control_z: float = 4.0  # ... this clearly is left out
    free_coefficients: bool = False  # one coefficient per control instead of their total


@dataclass
class Weekly:
    """Weekly series aligned on the action day: week k covers [action + 7k, action + 7k + 7)."""

    week_starts: list[dt.date]
    offsets: np.ndarray  # week index relative to the action (negative before it)
    treated: np.ndarray
    controls: np.ndarray  # weeks x controls


@dataclass
class Impact:
    status: str  # measured | too_early | too_few_contacts | too_little_history
    message: str
    action_date: dt.date
    weeks_before: int = 0
    weeks_after: int = 0
    relative_effect: float | None = None
    relative_low: float | None = None
    relative_high: float | None = None
    avoided_per_week: float | None = None
    avoided_low: float | None = None
    avoided_high: float | None = None
    actual_per_week: float | None = None
    expected_per_week: float | None = None
    significant: bool | None = None
    weeks_left_out: int = 0
    trend: bool = False
    controls_left_out: list[int] = field(default_factory=list)
    method: str = ""
    weeks: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["action_date"] = self.action_date.isoformat()
        return d


METHOD = ("weekly contacts as a share of the control series' total (in logs; with a trend only "
          "when it is clear), fitted on the weeks before the action (weeks it explains badly "
          "left out); the counterfactual after the action and its {level:.0%} interval drawn "
          "from the fit's posterior ({draws} draws)")


def weekly(days: np.ndarray, treated: np.ndarray, controls: np.ndarray, action: dt.date,
           first: dt.date, last: dt.date) -> Weekly:
    """Sum daily counts into whole weeks aligned on `action`, within [first, last] (whole days
    with data). `days` are datetime64[D]; `treated` is per day, `controls` days x k."""
    a = np.datetime64(action, "D")
    off = (days - a).astype(np.int64)
    week = np.floor_divide(off, 7)
    lo = -(-(np.datetime64(first, "D") - a).astype(np.int64) // 7)  # first whole week
    hi = ((np.datetime64(last, "D") - a).astype(np.int64) + 1) // 7  # one past the last
    n = max(0, int(hi - lo))
    keep = (week >= lo) & (week < hi)
    idx = (week[keep] - lo).astype(np.int64)
    t = np.bincount(idx, weights=treated[keep], minlength=n)[:n]
    c = np.zeros((n, controls.shape[1]))
    for j in range(controls.shape[1]):
        c[:, j] = np.bincount(idx, weights=controls[keep, j], minlength=n)[:n]
    offsets = np.arange(lo, lo + n)
    starts = [action + dt.timedelta(days=7 * int(k)) for k in offsets]
    return Weekly(starts, offsets, t, c)


def _design(controls: np.ndarray, offsets: np.ndarray,
            free: bool) -> tuple[np.ndarray, np.ndarray]:
    """(regressors, offset). The default (`free` False) keeps the treated series a share of
    the controls' total that drifts along a line: log y = log(sum of controls) + a + b t.
    Fitting a coefficient per control as well (`free`) lets causes with seasons of their own
    be followed, but over half a year a control's season and the trend look alike, and the
    two then trade off and make the extrapolation wander."""
    t = offsets.astype(float)
    if free:
        logs = np.log(np.maximum(controls, 0.5))
        return np.column_stack([np.ones(len(t)), logs, t]), np.zeros(len(t))
    total = np.log(np.maximum(controls.sum(axis=1), 0.5))
    return np.column_stack([np.ones(len(t)), t]), total


def _fit(x: np.ndarray, y: np.ndarray, scale: float) -> tuple[np.ndarray, np.ndarray]:
    """Least squares, leaving out (a few rounds) the rows whose residual is past `scale`
    robust standard deviations. Returns (coefficients, rows kept)."""
    kept = np.ones(len(y), dtype=bool)
    for _ in range(4):
        beta, *_ = np.linalg.lstsq(x[kept], y[kept], rcond=None)
        resid = y - x @ beta
        mad = np.median(np.abs(resid[kept] - np.median(resid[kept])))
        sd = max(1.4826 * mad, 1e-9)
        now = np.abs(resid - np.median(resid[kept])) <= scale * sd
        if now.sum() < x.shape[1] + 3 or np.array_equal(now, kept):
            break
        kept = now
    beta, *_ = np.linalg.lstsq(x[kept], y[kept], rcond=None)
    return beta, kept


def _columns_kept(x: np.ndarray, y: np.ndarray, trend_t: float) -> np.ndarray:
    """Every column, or all but the trend (the last) when its t statistic is below
    `trend_t`: an unneeded trend, extrapolated over the weeks after the action, widens the
    estimate more than anything else."""
    n, p = x.shape
    beta, *_ = np.linalg.lstsq(x, y, rcond=None)
    resid = y - x @ beta
    s2 = float(resid @ resid) / max(n - p, 1)
    var = s2 * np.linalg.pinv(x.T @ x)[-1, -1]
    t = abs(beta[-1]) / np.sqrt(var) if var > 0 else np.inf
    return np.arange(p) if t >= trend_t else np.arange(p - 1)


def changed_controls(w: Weekly, st: ImpactSettings) -> list[int]:
    """Controls that changed themselves at the action (another action, a campaign starting
    that day): each control's share of the controls' total, after against before; the most
    changed is left out while its change is both large and clear, and the rest tested again.
    A touched control would otherwise make an untouched cause look changed."""
    before = (w.offsets < 0) & (w.offsets >= -st.weeks_before)
    after = w.offsets >= 0
    left: list[int] = []
    k = w.controls.shape[1]
    while k - len(left) > 2 and before.sum() >= st.min_weeks_before and after.sum() >= 1:
        keep = [j for j in range(k) if j not in left]
        logs = np.log(np.maximum(w.controls[:, keep], 0.5))
        total = np.log(np.maximum(w.controls[:, keep].sum(axis=1), 0.5))
        worst, worst_z = -1, 0.0
        for i, j in enumerate(keep):
            share = logs[:, i] - total
            b, a = share[before], share[after]
            sd = 1.4826 * np.median(np.abs(b - np.median(b))) or 1e-9
            change = np.median(a) - np.median(b)
            z = abs(change) / (sd * np.sqrt(np.pi / 2 * (1 / len(a) + 1 / len(b))))
            if abs(change) >= st.control_change and z >= st.control_z and z > worst_z:
                worst, worst_z = j, z
        if worst < 0:
            break
        left.append(worst)
    return left


def estimate(w: Weekly, action: dt.date, st: ImpactSettings | None = None) -> Impact:
    """The action's effect on the treated series of `w`."""
    st = st or ImpactSettings()
    before = (w.offsets < 0) & (w.offsets >= -st.weeks_before)
    after = w.offsets >= 0
    nb, na = int(before.sum()), int(after.sum())
    imp = Impact("measured", "", action, weeks_before=nb, weeks_after=na,
                 method=METHOD.format(level=st.level, draws=st.draws))
    if nb < st.min_weeks_before:
        imp.status = "too_little_history"
        imp.message = (f"only {nb} whole weeks of data before {action}; at least "
                       f"{st.min_weeks_before} are needed to know what to expect")
        return imp
    mean_before = float(w.treated[before].mean())
    if mean_before < st.min_contacts_per_week:
        imp.status = "too_few_contacts"
        imp.message = (f"{mean_before:.1f} contacts a week before {action}; at least "
                       f"{st.min_contacts_per_week:g} a week are needed to measure a change")
        return imp
    if na < st.min_weeks_after:
        imp.status = "too_early"
        imp.message = (f"{na} whole week(s) of data since {action}; the data cannot tell yet "
                       f"(at least {st.min_weeks_after} are needed)")
        if na == 0:
            return imp
    imp.controls_left_out = changed_controls(w, st)
    used = [j for j in range(w.controls.shape[1]) if j not in imp.controls_left_out]
    x_all, base = _design(w.controls[:, used], w.offsets, st.free_coefficients)
    y_all = np.log(np.maximum(w.treated, 0.5)) - base
    xb, yb = x_all[before], y_all[before]
    beta, kept = _fit(xb, yb, st.outlier_scale)
    cols = _columns_kept(xb[kept], yb[kept], st.trend_t)
    imp.trend = len(cols) == x_all.shape[1]
    x_all, xb = x_all[:, cols], xb[:, cols]
    xk, yk = xb[kept], yb[kept]
    beta, *_ = np.linalg.lstsq(xk, yk, rcond=None)
    n, p = xk.shape
    df = max(n - p, 1)
    resid = yk - xk @ beta
    s2 = float(resid @ resid) / df
    xtx_inv = np.linalg.pinv(xk.T @ xk)
    xa, actual = x_all[after], w.treated[after]
    rng = np.random.default_rng(st.seed)
    sigma2 = s2 * df / rng.chisquare(df, size=st.draws)
    chol = np.linalg.cholesky(xtx_inv + 1e-12 * np.eye(p))
    z = rng.standard_normal((st.draws, p))
    betas = beta + np.sqrt(sigma2)[:, None] * (z @ chol.T)
    noise = rng.standard_normal((st.draws, na)) * np.sqrt(sigma2)[:, None]
    cf = np.exp(base[after] + betas @ xa.T + noise)  # draws x weeks
    total = actual.sum()
    rel = total / cf.sum(axis=1) - 1.0
    avoided = (cf.sum(axis=1) - total) / na
    expected = np.exp(base[after] + xa @ beta + s2 / 2)  # the mean of a log-normal week
    tail = (1 - st.level) / 2
    imp.weeks_left_out = int((~kept).sum())
    imp.relative_effect = float(total / expected.sum() - 1.0)
    imp.relative_low, imp.relative_high = (float(q) for q in np.quantile(rel, [tail, 1 - tail]))
    imp.avoided_per_week = float((expected.sum() - total) / na)
    lo_av, hi_av = np.quantile(avoided, [tail, 1 - tail])
    imp.avoided_low, imp.avoided_high = float(lo_av), float(hi_av)
    imp.actual_per_week = float(total / na)
    imp.expected_per_week = float(expected.sum() / na)
    imp.significant = bool(imp.relative_low > 0 or imp.relative_high < 0)
    cf_lo, cf_hi = np.quantile(cf, [tail, 1 - tail], axis=0)
    fitted = np.exp(base + x_all @ beta + s2 / 2)
    shown = before | after
    after_i = {int(k): i for i, k in enumerate(np.flatnonzero(after))}
    for i in (int(k) for k in np.flatnonzero(shown)):
        row: dict[str, Any] = {"week_start": w.week_starts[i].isoformat(),
                               "actual": float(w.treated[i]), "expected": float(fitted[i]),
                               "after": bool(after[i])}
        if i in after_i:
            row["low"], row["high"] = float(cf_lo[after_i[i]]), float(cf_hi[after_i[i]])
        imp.weeks.append(row)
    if imp.status == "measured":
        imp.message = describe(imp)
    return imp


def describe(imp: Impact) -> str:
    """The effect in plain words."""
    assert imp.relative_effect is not None and imp.avoided_per_week is not None
    if not imp.significant:
        return (f"no measurable change since {imp.action_date}: "
                f"{imp.relative_effect:+.0%} ({imp.relative_low:+.0%} to "
                f"{imp.relative_high:+.0%}), an interval that includes no change")
    fewer = imp.avoided_per_week >= 0
    word = "fewer" if fewer else "more"
    lo, hi = sorted((abs(imp.avoided_low or 0), abs(imp.avoided_high or 0)))
    return (f"since {imp.action_date}, about {abs(imp.avoided_per_week):,.0f} {word} contacts a "
            f"week ({lo:,.0f} to {hi:,.0f}); {imp.relative_effect:+.0%} against what was "
            f"expected ({imp.relative_low:+.0%} to {imp.relative_high:+.0%})")
