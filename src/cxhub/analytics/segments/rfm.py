"""RFM: recency, frequency and monetary scores from 1 to 5, and named segments.

Scores are relative to the customers who bought at least once. A customer's score is
1 + floor(5 x the share of buyers with a strictly worse value), so equal values always get
equal scores, the worst value always scores 1 and the top fifth scores 5. "Worse" is a longer
time since the last purchase, fewer purchase days, or less net revenue.

Segments are read from the R and F scores (M only splits the at-risk customers), first rule
that matches, as documented in docs/segments.md.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

NO_PURCHASE = "no purchases"

# (segment, rule) in order; the first rule that holds names the customer.
SEGMENT_RULES: tuple[tuple[str, str], ...] = (
    ("champions", "R >= 4 and F >= 4"),
    ("loyal", "R >= 3 and F >= 3"),
    ("new", "R >= 4 and F = 1"),
    ("promising", "R >= 4 and F = 2"),
    ("needs attention", "R = 3 and F <= 2"),
    ("cannot lose", "R <= 2 and F >= 3 and M >= 4"),
    ("at risk", "R <= 2 and F >= 3"),
    ("hibernating", "R = 2 and F <= 2"),
    ("lost", "R = 1 and F <= 2"),
)


def quintile_score(values: np.ndarray, *, higher_is_better: bool = True) -> np.ndarray:
    """Scores 1-5 (0 where the value is missing) against the non-missing values."""
    values = np.asarray(values, dtype=float)
    scores = np.zeros(values.shape, dtype=np.int64)
    present = ~np.isnan(values)
    v = values[present]
    if v.size == 0:
        return scores
    ordered = np.sort(v)
    if higher_is_better:
        worse = np.searchsorted(ordered, v, side="left")
    else:
        worse = v.size - np.searchsorted(ordered, v, side="right")
    scores[present] = 1 + np.floor(5 * worse / v.size).astype(np.int64)
    return scores


def segments(r: np.ndarray, f: np.ndarray, m: np.ndarray) -> np.ndarray:
    """The segment of each (R, F, M); R = 0 means no purchase. Mirrors SEGMENT_RULES."""
    r, f, m = (np.asarray(v) for v in (r, f, m))
    conditions = [
        r == 0,
        (r >= 4) & (f >= 4),
        (r >= 3) & (f >= 3),
        (r >= 4) & (f == 1),
        (r >= 4) & (f == 2),
        (r == 3) & (f <= 2),
        (r <= 2) & (f >= 3) & (m >= 4),
        (r <= 2) & (f >= 3),
        (r == 2) & (f <= 2),
        (r == 1) & (f <= 2),
    ]
    names = [NO_PURCHASE] + [name for name, _ in SEGMENT_RULES]
    return np.select(conditions, names, default="unscored")


def rfm(recency_days: np.ndarray, frequency: np.ndarray, monetary: np.ndarray) -> pd.DataFrame:
    """Scores and segment per customer. A customer with no purchase has a missing recency:
    no scores (0), score text missing, segment "no purchases"."""
    recency = np.asarray(recency_days, dtype=float)
    bought = ~np.isnan(recency)
    freq = np.where(bought, np.asarray(frequency, dtype=float), np.nan)
    money = np.where(bought, np.asarray(monetary, dtype=float), np.nan)
    r = quintile_score(recency, higher_is_better=False)
    f = quintile_score(freq)
    m = quintile_score(money)
    score = pd.Series(r * 100 + f * 10 + m).astype(str).astype(object)
    score[~bought] = None
    return pd.DataFrame({"r": r, "f": f, "m": m, "rfm_score": score,
                         "rfm_segment": segments(r, f, m)})
