"""The contact policy: every reason an offer may not be made, in one place, each in words.

Customer-wide rules come first (a complaint, negative sentiment, an open complaint or problem,
a marketing opt-out, the cap on offers per customer), then the offer's own (active and valid
today, its own cap, its eligibility rules). The decision engine, the triggers and the tests all
ask `refusals`; nothing else decides whether an offer may be made.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from cxhub.analytics.offers.catalogue import Offer

CAP_WINDOW = timedelta(days=30)


@dataclass(frozen=True)
class Policy:
    max_offers_per_customer_30d: int = 3

    def customer_refusals(self, profile: dict[str, Any] | None, context: dict[str, Any],
                          recent: Sequence[tuple[datetime, str]], now: datetime) -> list[str]:
        """Reasons that stop every offer in this contact."""
        out = []
        if context.get("category") == "complaint":
            out.append("this contact is a complaint: no offer during a complaint")
        if context.get("sentiment") == "negative":
            out.append("the customer's sentiment in this contact is negative")
        if profile is None:
            return out
        if profile.get("open_complaint"):
            out.append("the customer has an open complaint")
        if profile.get("open_problem"):
            out.append(f"the customer is affected by an open problem "
                       f"({profile['open_problem']})")
        if profile.get("marketing_opt_in") is False:
            out.append("the customer opted out of marketing")
        n = sum(1 for at, _ in recent if now - at < CAP_WINDOW)
        if n >= self.max_offers_per_customer_30d:
            out.append(f"already {n} offers in the last 30 days "
                       f"(cap {self.max_offers_per_customer_30d} per customer)")
        return out

    def offer_refusals(self, offer: Offer, profile: dict[str, Any] | None,
                       context: dict[str, Any], recent: Sequence[tuple[datetime, str]],
                       now: datetime) -> list[str]:
        """Reasons that stop this offer (the customer-wide ones aside)."""
        out = []
        if not offer.active:
            out.append("the offer is not active")
        if not offer.valid_on(now.date()):
            out.append(f"the offer is not valid on {now.date()}")
        n = sum(1 for at, code in recent if code == offer.code and now - at < CAP_WINDOW)
        if n >= offer.max_per_customer_30d:
            out.append(f"already offered {n} time(s) in the last 30 days "
                       f"(cap {offer.max_per_customer_30d} for this offer)")
        out += offer.rules.failures(profile, context)
        return out

    def refusals(self, offer: Offer, profile: dict[str, Any] | None, context: dict[str, Any],
                 recent: Sequence[tuple[datetime, str]], now: datetime) -> list[str]:
        return (self.customer_refusals(profile, context, recent, now)
                + self.offer_refusals(offer, profile, context, recent, now))


def control_draw(customer_key: str, offer_code: str) -> float:
    """A number in [0, 1) fixed by the customer and the offer: the same customer is always in
    (or out of) an offer's control group, whichever server or day answers."""
    digest = hashlib.blake2b(f"{customer_key}\x1f{offer_code}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def in_control(customer_key: str | None, offer_code: str, share: float) -> bool:
    return customer_key is not None and control_draw(customer_key, offer_code) < share
