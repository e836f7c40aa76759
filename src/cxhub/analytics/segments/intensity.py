"""Contact intensity: who contacts the company a lot, and which groups do.

A customer's intensity is their contacts in the last 12 months per month observed, where the
months observed are the time since the customer was first seen, capped at 12 and at least 1 (a
customer who arrived last month and called twice calls 2 a month, not 2/12).

Bands: a customer with no contact is "low". Among customers with at least one contact, the
band is set by quantiles of the rate: up to the median "low", up to the 75th percentile
"medium", up to the 90th "high", above it "very high". Quantiles are taken among contacting
customers because most customers of most companies never call: over everyone the median would
be 0 and the bands would say nothing.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

BANDS = ("low", "medium", "high", "very high")
DEFAULT_QUANTILES = (0.5, 0.75, 0.9)
DAYS_PER_MONTH = 365.25 / 12


def contacts_per_month(contacts_12m: np.ndarray, days_observed: np.ndarray) -> np.ndarray:
    months = np.clip(np.asarray(days_observed, dtype=float) / DAYS_PER_MONTH, 1.0, 12.0)
    months = np.where(np.isnan(months), 12.0, months)
    return np.asarray(contacts_12m, dtype=float) / months


def intensity_bands(
    rate: np.ndarray, quantiles: Sequence[float] = DEFAULT_QUANTILES
) -> tuple[np.ndarray, list[float]]:
    """The band of each rate, and the rate cut-offs used (one per quantile)."""
    rate = np.asarray(rate, dtype=float)
    contacting = rate[rate > 0]
    if contacting.size == 0:
        return np.full(rate.shape, BANDS[0], dtype=object), [0.0] * len(quantiles)
    cuts = [float(np.quantile(contacting, q)) for q in quantiles]
    # side="left": a rate equal to a cut-off belongs to the band below it ("up to").
    index = np.searchsorted(np.asarray(cuts), rate, side="left")
    bands = np.asarray(BANDS, dtype=object)[np.minimum(index, len(BANDS) - 1)]
    bands[rate <= 0] = BANDS[0]
    return bands, cuts


def contact_rate_by(
    customers: pd.DataFrame, group: str, *, contacts: str = "contacts_12m",
    calls: str = "contacts_phone",
) -> pd.DataFrame:
    """Contacts and calls per 1,000 customers for each value of `group`, highest first:
    "which group calls a lot". Customers with no contact count in the denominator."""
    df = customers[[group, contacts, calls]].copy()
    df[group] = df[group].fillna("(none)")
    out = df.groupby(group, sort=False).agg(
        customers=(contacts, "size"), contacts=(contacts, "sum"), calls=(calls, "sum"))
    out["contacts_per_1000"] = 1000.0 * out["contacts"] / out["customers"]
    out["calls_per_1000"] = 1000.0 * out["calls"] / out["customers"]
    out = out.sort_values(["contacts_per_1000", "customers"], ascending=False)
    return out.reset_index().rename(columns={group: "group"})
