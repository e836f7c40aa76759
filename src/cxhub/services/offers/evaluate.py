"""`cxhub offers evaluate`: the effect of any randomised campaign in a CSV file.

The average effect (treated rate minus control rate) with Newcombe's 95% interval on all rows;
then on a seeded 30% held-out split, the two-model uplift learner's Qini coefficient and the
uplift among the 30% it ranks highest (trained on the other 70%, on the given features)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cxhub.analytics.offers.effects import rate_difference
from cxhub.analytics.offers.uplift import TwoModelUplift, qini_coefficient, uplift_at
from cxhub.domain.errors import CxhubError

_TRUE = {"1", "true", "yes", "y", "t", "accepted", "converted", "1.0"}
_FALSE = {"0", "false", "no", "n", "f", "declined", "ignored", "0.0", ""}


def _outcome(col: pd.Series, name: str, path: Path) -> np.ndarray:
    if pd.api.types.is_numeric_dtype(col) and not col.isna().any():
        bad = ~col.isin([0, 1])
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise CxhubError(f"{path}: line {i + 2}: {name}: {col.iloc[i]!r} is not 0 or 1")
        return np.asarray(col.to_numpy(dtype=bool))
    text = col.astype("string").fillna("").str.strip().str.lower()
    bad = ~text.isin(_TRUE | _FALSE)
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise CxhubError(f"{path}: line {i + 2}: {name}: {col.iloc[i]!r} is not an outcome "
                         "(0/1, true/false, yes/no)")
    return np.asarray(text.isin(_TRUE).to_numpy(), dtype=bool)


def evaluate(path: Path, *, treatment_col: str, treatment: str, control: str,
             outcome_col: str, features: list[str] | None = None, seed: int = 0
             ) -> dict[str, Any]:
    try:
        frame = pd.read_csv(path, dtype={treatment_col: "string"}, low_memory=False)
    except (OSError, ValueError) as exc:
        raise CxhubError(f"{path}: cannot read as CSV: {exc}") from None
    for col in [treatment_col, outcome_col, *(features or [])]:
        if col not in frame.columns:
            raise CxhubError(f"{path}: no column {col!r} (columns: {', '.join(frame.columns)})")
    arm = frame[treatment_col].astype("string").str.strip()
    keep = arm.isin([treatment, control]).to_numpy()
    if not keep.any():
        raise CxhubError(f"{path}: {treatment_col}: no row is {treatment!r} or {control!r}")
    frame = frame[keep].reset_index(drop=True)
    treated = (arm[keep] == treatment).to_numpy()
    if treated.all() or not treated.any():
        raise CxhubError(f"{path}: {treatment_col}: needs rows of both {treatment!r} and "
                         f"{control!r}")
    y = _outcome(frame[outcome_col], outcome_col, path)
    n1, n0 = int(treated.sum()), int((~treated).sum())
    ate, low, high = rate_difference(y[treated].sum(), n1, y[~treated].sum(), n0)
    out: dict[str, Any] = {
        "rows": len(frame), "treated": n1, "control": n0,
        "treated_rate": float(y[treated].mean()), "control_rate": float(y[~treated].mean()),
        "ate": ate, "ate_low": low, "ate_high": high, "features": features or [],
        "qini": None, "uplift_at_30": None, "seed": seed}
    if features:
        rng = np.random.default_rng(seed)
        test = rng.random(len(frame)) < 0.3
        model = TwoModelUplift(seed=seed).fit(frame.loc[~test, features], treated[~test],
                                              y[~test])
        score = model.predict(frame.loc[test, features])
        out["qini"] = qini_coefficient(score, treated[test], y[test])
        u = uplift_at(score, treated[test], y[test], 0.3)
        out["uplift_at_30"] = None if np.isnan(u) else u
        out["n_test"] = int(test.sum())
    return out
