"""The customer portfolio, in the style of the BCG growth-share matrix.

Two axes per customer:
- value growth: net revenue of the last 6 months against the 6 months before, as a symmetric
  change (recent - prior) / ((|recent| + |prior|) / 2), between -2 and 2, and 0 when both are 0.
  Unlike a plain ratio it is defined for new customers (prior = 0 gives 2) and for lapsed ones
  (recent = 0 gives -2).
- cash generated: net revenue of the last 12 months minus the cost to serve them, i.e. their
  contacts in those 12 months times a cost per contact by channel.

A customer is "high" on an axis when strictly above its threshold (the median of all customers
by default, or a fixed value):
star = high growth, high cash; cash cow = low growth, high cash;
question mark = high growth, low cash; dog = low growth, low cash.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from cxhub.domain.canonical import CHANNELS

STAR, CASH_COW, QUESTION_MARK, DOG = "star", "cash cow", "question mark", "dog"

# Fully loaded cost of handling one contact, in the revenue's currency unit. Defaults in the
# range contact centres report (assisted phone dearest, self-service cheapest); every company
# should set its own.
DEFAULT_COST_PER_CONTACT: dict[str, float] = {
    "phone": 6.0,
    "letter": 8.0,
    "email": 3.5,
    "chat": 3.0,
    "social": 3.0,
    "web": 2.5,
    "referral": 5.0,
    "community": 1.0,
    "other": 4.0,
}


@dataclass(frozen=True)
class PortfolioRules:
    cost_per_contact: Mapping[str, float] = field(
        default_factory=lambda: dict(DEFAULT_COST_PER_CONTACT))
    growth_threshold: float | None = None  # None: the median growth
    cash_threshold: float | None = None  # None: the median cash generated

    def cost(self, channel: str) -> float:
        return float(self.cost_per_contact.get(channel, self.cost_per_contact.get("other", 0.0)))


def value_growth(recent: np.ndarray, prior: np.ndarray) -> np.ndarray:
    recent = np.asarray(recent, dtype=float)
    prior = np.asarray(prior, dtype=float)
    scale = (np.abs(recent) + np.abs(prior)) / 2.0
    with np.errstate(divide="ignore", invalid="ignore"):
        growth = (recent - prior) / scale
    return np.where(scale > 0, growth, 0.0)


def cost_to_serve(contacts_by_channel: pd.DataFrame, rules: PortfolioRules) -> np.ndarray:
    """Contacts times cost per contact, summed over channels. Columns are contacts_<channel>."""
    total = np.zeros(len(contacts_by_channel))
    for channel in CHANNELS:
        column = f"contacts_{channel}"
        if column in contacts_by_channel:
            total += contacts_by_channel[column].to_numpy(dtype=float) * rules.cost(channel)
    return total


@dataclass(frozen=True)
class PortfolioResult:
    quadrant: np.ndarray
    growth: np.ndarray
    cash: np.ndarray
    growth_threshold: float
    cash_threshold: float


def portfolio(
    revenue_recent: np.ndarray,
    revenue_prior: np.ndarray,
    contacts_by_channel: pd.DataFrame,
    rules: PortfolioRules | None = None,
) -> PortfolioResult:
    rules = rules or PortfolioRules()
    growth = value_growth(revenue_recent, revenue_prior)
    revenue_12m = np.asarray(revenue_recent, dtype=float) + np.asarray(revenue_prior, dtype=float)
    cash = revenue_12m - cost_to_serve(contacts_by_channel, rules)
    g_cut = rules.growth_threshold
    c_cut = rules.cash_threshold
    g_cut = float(np.median(growth)) if g_cut is None and growth.size else float(g_cut or 0.0)
    c_cut = float(np.median(cash)) if c_cut is None and cash.size else float(c_cut or 0.0)
    high_growth = growth > g_cut
    high_cash = cash > c_cut
    quadrant = np.select(
        [high_growth & high_cash, ~high_growth & high_cash, high_growth & ~high_cash],
        [STAR, CASH_COW, QUESTION_MARK],
        default=DOG,
    )
    return PortfolioResult(quadrant, growth, cash, g_cut, c_cut)
