"""Who gets in touch, when, over which channel and why: the contacts of one chunk.

Demand is a sum of components. Each has a shape over the days (zero outside its window), a rate
per customer and a mix of categories and causes. A customer's count from a component is
Poisson in its rate times the component's weight over the days the customer is a customer, so
growth and churn shape demand without any per-day loop.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cxhub.simulate import rates as r
from cxhub.simulate import week
from cxhub.simulate.people import People, active_range
from cxhub.simulate.plan import DAY, Plan, product_share
from cxhub.simulate.texts import (
    INCIDENT_BILLING,
    INCIDENT_CAMPAIGN,
    INCIDENT_NONE,
    INCIDENT_RELEASE,
)
from cxhub.simulate.week import hour_shape

_CAT = {c: i for i, c in enumerate(r.CATEGORIES)}
_CAUSE = {c: i for i, c in enumerate(r.CAUSES)}
_WRITTEN_CUM = np.cumsum(hour_shape(True))


@dataclass
class Demand:
    """One row per contact (unsorted)."""

    person: np.ndarray  # row in the chunk's People
    day: np.ndarray
    created: np.ndarray  # epoch seconds
    channel: np.ndarray  # index into CHANNELS
    category: np.ndarray
    cause: np.ndarray
    incident: np.ndarray

    def __len__(self) -> int:
        return len(self.person)


def sample_days(
    weight: np.ndarray, rate: np.ndarray, lo: np.ndarray, hi: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Draw (person, day) pairs: Poisson counts over each person's [lo, hi) days, then days by
    inverting the cumulative weight, so busy days get proportionally more contacts."""
    cum = np.concatenate([[0.0], np.cumsum(weight)])
    exposure = cum[hi] - cum[lo]
    counts = rng.poisson(rate * exposure)
    person = np.repeat(np.arange(len(rate)), counts)
    target = cum[lo[person]] + rng.random(len(person)) * exposure[person]
    day = np.searchsorted(cum, target, side="right") - 1
    return person, np.clip(day, lo[person], np.maximum(hi[person] - 1, lo[person]))


def _mix(p: np.ndarray | tuple[float, ...], n: int, rng: np.random.Generator) -> np.ndarray:
    p = np.asarray(p, dtype=float)
    return rng.choice(len(p), size=n, p=p / p.sum())


def _causes(category: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    cum = np.cumsum(np.array([r.CAUSE_MIX[c] for c in r.CATEGORIES]), axis=1)
    cum = cum / cum[:, -1:]
    cause: np.ndarray = (rng.random(len(category))[:, None] > cum[category]).sum(axis=1)
    return cause


def _component(
    person: np.ndarray,
    day: np.ndarray,
    category: np.ndarray,
    cause: np.ndarray,
    incident: int,
) -> tuple[np.ndarray, ...]:
    return person, day, category, cause, np.full(len(person), incident, dtype=np.int8)


def billing_affected(people: People, plan: Plan, rng: np.random.Generator) -> np.ndarray:
    """Customers double-charged by the billing fault: those billed while it lasted (billing
    day 1 + index % 28), sampled so that BILLING_AFFECTED_SHARE of all accounts are hit."""
    ev = plan.events
    lo, hi = active_range(people, plan.days)
    window = np.arange(ev.billing_start, ev.billing_fix)
    month_day = np.array([plan.date_of(d).day for d in window])
    billed_in_window = np.isin(1 + people.index % 28, month_day)
    alive = (lo <= ev.billing_start) & (hi > ev.billing_fix)
    share = min(1.0, r.BILLING_AFFECTED_SHARE * 28 / max(1, len(window)))
    return billed_in_window & alive & (rng.random(len(people)) < share)


def make_demand(
    people: People, plan: Plan, affected: np.ndarray, rng: np.random.Generator
) -> Demand:
    ev, days = plan.events, plan.days
    lo, hi = active_range(people, days)
    base_rate = r.CONTACTS_PER_CUSTOMER_YEAR * people.propensity
    per_year = plan.day_weight / 365
    parts = []

    person, day = sample_days(per_year, base_rate, lo, hi, rng)
    category = _mix(r.CATEGORY_MIX, len(person), rng)
    parts.append(_component(person, day, category, _causes(category, rng), INCIDENT_NONE))

    # The campaign brings questions and orders while it runs and for a week after.
    w = np.zeros(days)
    w[ev.campaign_start : min(days, ev.campaign_end + 7)] = 1.0
    person, day = sample_days(per_year * w, base_rate * r.CAMPAIGN_UPLIFT, lo, hi, rng)
    category = _mix((0.6, 0.4), len(person), rng)
    cause = np.array([_CAUSE["pricing"], _CAUSE["product"], _CAUSE["billing"]])[
        _mix((0.5, 0.4, 0.1), len(person), rng)
    ]
    parts.append(_component(person, day, category, cause, INCIDENT_CAMPAIGN))

    # The faulty release: product-cause demand runs at RELEASE_MULTIPLIER times normal from the
    # deploy (RELEASE_HOUR) to the rollback. Drawn over every day the window touches with the
    # usual hours, then thinned to the window below (so still Poisson, with the hours' shape).
    w = np.zeros(days)
    w[ev.release_day : min(days, ev.release_end + 1)] = 1.0
    extra = (r.RELEASE_MULTIPLIER - 1) * product_share()
    person, day = sample_days(per_year * w, base_rate * extra, lo, hi, rng)
    category = np.array([_CAT["problem"], _CAT["complaint"], _CAT["information"]])[
        _mix((0.65, 0.25, 0.10), len(person), rng)
    ]
    cause = np.full(len(person), _CAUSE["product"])
    parts.append(_component(person, day, category, cause, INCIDENT_RELEASE))

    # The billing fault: affected customers call after their doubled bill, until the fix.
    rows = np.flatnonzero(affected & (rng.random(len(people)) < r.BILLING_CONTACT_PROB))
    rows = np.concatenate([rows, rows[rng.random(len(rows)) < 0.3]])  # some chase it up
    bill_day = _bill_day_in_window(people.index[rows], plan)
    day = np.minimum(bill_day + rng.geometric(0.35, size=len(rows)) - 1, ev.billing_fix - 1)
    category = np.array([_CAT["complaint"], _CAT["problem"], _CAT["information"]])[
        _mix((0.55, 0.40, 0.05), len(rows), rng)
    ]
    cause = np.full(len(rows), _CAUSE["billing"])
    parts.append(_component(rows, day, category, cause, INCIDENT_BILLING))

    person, day, category, cause, incident = (np.concatenate(c) for c in zip(*parts, strict=True))
    channel = _channels(people.segment[person], rng)
    day, created = _arrival_times(day, channel, plan, rng)
    deploy, rollback = plan.release_window_s
    inside = (created >= deploy) & (created < rollback)
    keep = (day < days) & ((incident != INCIDENT_RELEASE) | inside)
    # The permanent fix: from its day on, that cause's contacts are thinned (still Poisson).
    fixed = (cause == _CAUSE[r.FIX_CAUSE]) & (created >= plan.day_start_s(ev.fix_day))
    keep &= ~(fixed & (rng.random(len(person)) < plan.fix_effect))
    kept = np.flatnonzero(keep)
    order = kept[np.argsort(created[kept], kind="stable")]
    return Demand(
        person=person[order],
        day=day[order].astype(np.int64),
        created=created[order],
        channel=channel[order],
        category=category[order].astype(np.int64),
        cause=cause[order].astype(np.int64),
        incident=incident[order],
    )


def _arrival_times(
    day: np.ndarray, channel: np.ndarray, plan: Plan, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """(day, created) for each contact. Written channels arrive around the clock with their
    daily shape; a call or chat arrives during the day's opening hours, and one drawn on a day
    the channel is closed comes on its next open day (day == plan.days: after the period)."""
    written_hour = (rng.random(len(day))[:, None] > _WRITTEN_CUM[None, :]).sum(axis=1)
    seconds = written_hour.clip(0, 23) * 3600 + rng.integers(0, 3600, size=len(day))
    day = day.copy()
    for name in week.LIVE_CHANNELS:
        rows = np.flatnonzero(channel == r.CHANNELS.index(name))
        day[rows] = week.next_open_day(name, plan.kinds)[day[rows]]
        lo, hi = week.opening(name, plan.kinds[np.minimum(day[rows], plan.days - 1)])
        seconds[rows] = week.live_seconds(lo, hi, rng)
    return day, plan.day_start_s(day) + seconds


def _bill_day_in_window(index: np.ndarray, plan: Plan) -> np.ndarray:
    ev = plan.events
    window = np.arange(ev.billing_start, ev.billing_fix)
    month_day = np.array([plan.date_of(d).day for d in window])
    cycle = 1 + index % 28
    # The first day in the window whose day of the month is the account's billing day.
    match = cycle[:, None] == month_day[None, :]
    first_day: np.ndarray = window[np.argmax(match, axis=1)]
    return first_day


def _channels(segment: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    mix = np.array([r.CHANNEL_MIX[s] for s in r.SEGMENTS])
    cum = np.cumsum(mix / mix.sum(axis=1, keepdims=True), axis=1)
    channel: np.ndarray = (
        (rng.random(len(segment))[:, None] > cum[segment]).sum(axis=1).clip(0, len(r.CHANNELS) - 1)
    )
    return channel


def day_of(seconds: np.ndarray, plan: Plan) -> np.ndarray:
    return (seconds - plan.start_s) // DAY
