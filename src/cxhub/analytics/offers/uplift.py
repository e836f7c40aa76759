"""Uplift, not propensity: who buys *because* of the offer.

`TwoModelUplift` fits one classifier on the offered and one on the control group and scores a
customer by the difference of their predicted acceptance (the "T-learner"). Gradient-boosted
trees with large leaves: they find interactions such as "families, not seniors" without
hand-made features, and a leaf of hundreds of decisions keeps the difference of two noisy
estimates from ranking on noise.

The Qini curve (Radcliffe 2007): customers sorted by predicted uplift; at each cut k the
incremental acceptances Q(k) = A_t(k) - A_c(k) * N_t(k) / N_c(k). The coefficient is the area
between that curve and the straight line of random targeting, both as shares of all customers
on the x axis, divided by the number of customers (so it is a rate, comparable across sizes).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier
from threadpoolctl import threadpool_limits


@dataclass
class Encoder:
    """Columns to numbers: numeric as they are, text as category codes (unknown -> missing)."""

    columns: list[str] = field(default_factory=list)
    categories: dict[str, list[str]] = field(default_factory=dict)

    def fit(self, frame: pd.DataFrame) -> Encoder:
        self.columns = list(frame.columns)
        for c in self.columns:
            if not pd.api.types.is_numeric_dtype(frame[c]) or frame[c].dtype == bool:
                values = frame[c].astype("string").dropna().unique().tolist()
                self.categories[c] = sorted(values)[:250]  # the trees' category limit
        return self

    def transform(self, frame: pd.DataFrame) -> np.ndarray:
        out = np.empty((len(frame), len(self.columns)), dtype=np.float64)
        for j, c in enumerate(self.columns):
            col = frame[c] if c in frame else pd.Series([None] * len(frame))
            if c in self.categories:
                codes = pd.Categorical(col.astype("string"), categories=self.categories[c]).codes
                out[:, j] = np.where(codes < 0, np.nan, codes)
            else:
                out[:, j] = pd.to_numeric(col, errors="coerce").to_numpy(dtype=float)
        return out

    def categorical_mask(self) -> list[bool]:
        return [c in self.categories for c in self.columns]


def _trees(mask: list[bool], seed: int, min_leaf: int) -> HistGradientBoostingClassifier:
    return HistGradientBoostingClassifier(
        max_iter=60, learning_rate=0.1, max_leaf_nodes=15, min_samples_leaf=min_leaf,
        categorical_features=mask if any(mask) else None, random_state=seed)


@dataclass
class TwoModelUplift:
    seed: int = 0
    min_leaf: int = 200
    threads: int = 1
    encoder: Encoder = field(default_factory=Encoder)
    treated_model: Any = None
    control_model: Any = None
    base_treated: float = 0.0
    base_control: float = 0.0

    def fit(self, features: pd.DataFrame, treated: np.ndarray, outcome: np.ndarray
            ) -> TwoModelUplift:
        treated = np.asarray(treated, dtype=bool)
        outcome = np.asarray(outcome, dtype=int)
        self.encoder = Encoder().fit(features)
        x = self.encoder.transform(features)
        mask = self.encoder.categorical_mask()
        self.base_treated = float(outcome[treated].mean()) if treated.any() else 0.0
        self.base_control = float(outcome[~treated].mean()) if (~treated).any() else 0.0
        leaf = max(20, min(self.min_leaf, int((~treated).sum()) // 20))
        # One thread: OpenMP threads spin-wait, and on a busy machine that costs far more than
        # it saves (a 20,000-row fit took two minutes with all threads on two loaded cores).
        with threadpool_limits(limits=self.threads):
            for group, name in ((treated, "treated_model"), (~treated, "control_model")):
                y = outcome[group]
                if len(np.unique(y)) < 2:  # a group where nobody (or everybody) accepted
                    setattr(self, name, None)
                    continue
                setattr(self, name, _trees(mask, self.seed, leaf).fit(x[group], y))
        return self

    def _p(self, model: Any, x: np.ndarray, base: float) -> np.ndarray:
        if model is None:
            return np.full(len(x), base)
        return np.asarray(model.predict_proba(x)[:, 1], dtype=float)

    def predict(self, features: pd.DataFrame) -> np.ndarray:
        x = self.encoder.transform(features)
        with threadpool_limits(limits=self.threads):
            return np.asarray(self._p(self.treated_model, x, self.base_treated)
                              - self._p(self.control_model, x, self.base_control), dtype=float)


def qini_curve(score: np.ndarray, treated: np.ndarray, outcome: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray]:
    """(share of customers targeted, incremental acceptances as a share of all customers),
    starting at (0, 0); ties in the score are cut together."""
    score = np.asarray(score, dtype=float)
    treated = np.asarray(treated, dtype=bool)
    outcome = np.asarray(outcome, dtype=float)
    order = np.argsort(-score, kind="stable")
    s, t, y = score[order], treated[order], outcome[order]
    n_t, n_c = np.cumsum(t), np.cumsum(~t)
    a_t, a_c = np.cumsum(y * t), np.cumsum(y * ~t)
    last = np.r_[np.flatnonzero(np.diff(s) != 0), len(s) - 1]  # end of each tie group
    with np.errstate(divide="ignore", invalid="ignore"):
        q = a_t[last] - np.where(n_c[last] > 0, a_c[last] * n_t[last] / n_c[last], 0.0)
    n = len(s)
    return np.r_[0.0, (last + 1) / n], np.r_[0.0, q / n]


def qini_coefficient(score: np.ndarray, treated: np.ndarray, outcome: np.ndarray) -> float:
    x, q = qini_curve(score, treated, outcome)
    random_area = q[-1] / 2  # the straight line from (0, 0) to (1, q_end)
    return float(np.trapezoid(q, x) - random_area)


def uplift_at(score: np.ndarray, treated: np.ndarray, outcome: np.ndarray,
              share: float = 0.3) -> float:
    """Acceptance offered minus acceptance in control among the top `share` by score."""
    treated = np.asarray(treated, dtype=bool)
    outcome = np.asarray(outcome, dtype=float)
    k = max(1, int(round(len(score) * share)))
    top = np.argsort(-np.asarray(score, dtype=float), kind="stable")[:k]
    t, y = treated[top], outcome[top]
    if t.all() or not t.any():
        return float("nan")
    return float(y[t].mean() - y[~t].mean())
