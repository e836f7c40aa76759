"""RFM: recency, frequency and monetary scores from 1 to 5, and named segments.

Subscribers and one-off buyers are scored each among their own kind, on measures that move for
them: for a buyer, R is the days since the last purchase and F the purchase days; for a
subscriber, whose monthly invoices say nothing about them, R is the days since they last did
something (ordered, got in touch, answered a survey, used the app or website, opened an
e-mail) and F the months they have been subscribed. M is net revenue for both.

Within its group a customer's score is 1 + floor(5 x the share of the group with a strictly
worse value), so equal values always get equal scores, the worst value always scores 1 and the
top fifth scores 5. "Worse" is a longer time, fewer days or months, less net revenue.

Names follow facts first and scores after, first rule that matches (docs/segments.md): "lost"
is only a customer who left (every subscription ended, no purchase since) or who has shown no
sign of life for `idle_days`; "new" only a customer who started less than `new_days` ago.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

NO_PURCHASE = "no purchases"


@dataclass(frozen=True)
class RfmRules:
    new_days: int = 90  # tenure below this: "new"
    idle_days: int = 180  # a buyer with no purchase or contact for this long, and F <= 2: "lost"


# (segment, rule) in order; the first rule that holds names the customer.
SEGMENT_RULES: tuple[tuple[str, str], ...] = (
    ("lost", "left (every subscription ended, no purchase since), or a buyer who is not a "
             "subscriber with no purchase, contact or other activity for 180 days and F <= 2"),
    ("new", "first purchase or subscription less than 90 days ago"),
    ("champions", "R >= 4 and F >= 4"),
    ("loyal", "R >= 3 and F >= 3"),
    ("promising", "R >= 4 and F <= 2"),
    ("needs attention", "R = 3 and F <= 2"),
    ("cannot lose", "R <= 2 and F >= 3 and M >= 4"),
    ("at risk", "R <= 2 and F >= 3"),
    ("hibernating", "R <= 2 and F <= 2"),
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


def segments(r: np.ndarray, f: np.ndarray, m: np.ndarray, *, left: np.ndarray,
             idle: np.ndarray, new: np.ndarray) -> np.ndarray:
    """The segment of each customer; R = 0 means never bought. Mirrors SEGMENT_RULES, with
    `idle` (a buyer silent for the idle days) and `new` (short tenure) decided by the caller."""
    r, f, m, left, idle, new = (np.asarray(v) for v in (r, f, m, left, idle, new))
    conditions = [
        r == 0,
        left | (idle & (f <= 2)),
        new,
        (r >= 4) & (f >= 4),
        (r >= 3) & (f >= 3),
        (r >= 4) & (f <= 2),
        (r == 3) & (f <= 2),
        (r <= 2) & (f >= 3) & (m >= 4),
        (r <= 2) & (f >= 3),
        (r <= 2) & (f <= 2),
    ]
    names = [NO_PURCHASE] + [name for name, _ in SEGMENT_RULES]
    return np.select(conditions, names, default="unscored")


def _scores(values: np.ndarray, group: np.ndarray, *, higher_is_better: bool) -> np.ndarray:
    out = np.zeros(values.shape, dtype=np.int64)
    for g in np.unique(group):
        mine = group == g
        out[mine] = quintile_score(values[mine], higher_is_better=higher_is_better)
    return out


def rfm(recency_days: np.ndarray, frequency: np.ndarray, monetary: np.ndarray, *,
        subscriber: np.ndarray | None = None, left: np.ndarray | None = None,
        tenure_days: np.ndarray | None = None, idle_days: np.ndarray | None = None,
        rules: RfmRules | None = None) -> pd.DataFrame:
    """Scores and segment per customer.

    recency_days, frequency: the measures of each customer's group (see the module note);
    recency is missing for a customer who never bought nor subscribed (no scores, score text
    missing, segment "no purchases"). subscriber: scored among subscribers (default: nobody);
    left: a subscriber whose subscriptions all ended (default: nobody); tenure_days: since the
    first purchase or subscription (default: unknown, nobody is "new"); idle_days: since the
    last purchase, contact or other activity (default: recency_days).
    """
    rules = rules or RfmRules()
    recency = np.asarray(recency_days, dtype=float)
    n = recency.shape
    bought = ~np.isnan(recency)
    sub = np.zeros(n, dtype=bool) if subscriber is None else np.asarray(subscriber, dtype=bool)
    gone = np.zeros(n, dtype=bool) if left is None else np.asarray(left, dtype=bool)
    tenure = np.full(n, np.nan) if tenure_days is None else np.asarray(tenure_days, dtype=float)
    idle = recency if idle_days is None else np.asarray(idle_days, dtype=float)
    freq = np.where(bought, np.asarray(frequency, dtype=float), np.nan)
    money = np.where(bought, np.asarray(monetary, dtype=float), np.nan)
    r = _scores(recency, sub, higher_is_better=False)
    f = _scores(freq, sub, higher_is_better=True)
    m = _scores(money, sub, higher_is_better=True)
    score = pd.Series(r * 100 + f * 10 + m).astype(str).astype(object)
    score[~bought] = None
    with np.errstate(invalid="ignore"):
        silent = ~sub & (idle >= rules.idle_days)
        new = tenure < rules.new_days
    names = segments(r, f, m, left=bought & gone, idle=bought & silent, new=bought & new)
    return pd.DataFrame({"r": r, "f": f, "m": m, "rfm_score": score, "rfm_segment": names})
