"""The company plan shared by every chunk: calendar, planted events, staffing, agents.

Everything here is drawn from the run's seed alone (never from a chunk), so each chunk of
customers sees the same events, the same daily load and the same agents.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import numpy as np

from cxhub.simulate import rates as r
from cxhub.simulate import week

DAY = 86_400
PLAN_STREAM = 0xC0FFEE
TEAMS = ("general", "technical", "billing", "sales", "retention", "social")
TEAM_SHARE = (0.35, 0.25, 0.20, 0.10, 0.05, 0.05)


def rng_for(seed: int, *stream: int) -> np.random.Generator:
    """An independent generator per (seed, chunk, purpose): chunks can run in any order."""
    return np.random.default_rng(np.random.SeedSequence([seed, *stream]))


@dataclass(frozen=True)
class Events:
    """Planted events, as day indices from the start (end exclusive). The release runs from
    RELEASE_HOUR on `release_day` to RELEASE_HOUR on `release_end` (`Plan.release_window_s`)."""

    campaign_start: int
    campaign_end: int
    release_day: int
    release_end: int
    billing_start: int
    billing_fix: int
    fix_day: int  # the planted permanent fix (FIX_CAUSE contacts drop from this day on)


@dataclass(frozen=True)
class Plan:
    seed: int
    customers: int
    start: date
    days: int
    events: Events
    day_weight: np.ndarray  # expected demand by day, mean 1: weekday x yearly season
    load: np.ndarray  # demand over the staffing plan by day (1 = as planned)
    agents: dict[str, np.ndarray]  # team -> agent codes
    agent_speed: dict[str, np.ndarray]  # team -> handling-time factor per agent
    kinds: np.ndarray  # 0..6 = Monday..Sunday per day, bank holidays as Sunday
    staffing: np.ndarray  # agents on duty against the plan, by day (the day's noise)
    slot_staffing: np.ndarray  # (days, 48): planned under- and over-staffed half hours
    fix_effect: float = 0.0  # share of FIX_CAUSE contacts the permanent fix removes

    @property
    def start_s(self) -> int:
        return int(
            datetime(self.start.year, self.start.month, self.start.day, tzinfo=UTC).timestamp()
        )

    def day_start_s(self, day: np.ndarray | int) -> np.ndarray:
        return self.start_s + np.asarray(day, dtype=np.int64) * DAY

    def date_of(self, day: int | np.integer) -> date:
        return self.start + timedelta(days=int(day))

    @property
    def release_window_s(self) -> tuple[int, int]:
        """The faulty release's deploy and rollback, epoch seconds (end exclusive)."""
        ev, at = self.events, r.RELEASE_HOUR * 3600
        start = int(self.day_start_s(ev.release_day)) + at
        return start, int(self.day_start_s(ev.release_end)) + at


def _events(days: int, rng: np.random.Generator, kinds: np.ndarray) -> Events:
    # Fixed fractions of the period keep the events apart however long it is; a little jitter
    # keeps them off round dates.
    jitter = rng.integers(-2, 3, size=3)
    campaign_len = min(r.CAMPAIGN_DAYS, max(7, days // 8))
    campaign = max(1, int(days * 0.18) + int(jitter[0]))
    release = int(days * 0.45) + int(jitter[1])
    # Releases go out on a working morning: the next day whose whole window, the rollback's
    # day included, is working days (so a Monday or a Tuesday, no bank holiday): the phones are
    # open throughout.
    while release + r.RELEASE_DAYS < days and (
        kinds[release] > 2 or (kinds[release : release + r.RELEASE_DAYS + 1] > 4).any()
    ):
        release += 1
    fix_after = min(r.BILLING_FIX_AFTER_DAYS, max(5, days // 10))
    billing = int(days * 0.62) + int(jitter[2])
    return Events(
        campaign_start=campaign,
        campaign_end=campaign + campaign_len,
        release_day=release,
        release_end=release + r.RELEASE_DAYS,
        billing_start=billing,
        billing_fix=billing + fix_after,
        fix_day=int(days * r.FIX_AT),
    )


def _day_weight(start: date, days: int) -> np.ndarray:
    """The UK week (bank holidays as Sundays) times the yearly season."""
    kinds = week.day_kinds(start, days)
    weekly = week.uk_weekday_shape()[kinds] * 7
    doy = np.array([(start + timedelta(days=int(d))).timetuple().tm_yday for d in range(days)])
    season = 1 + r.YEARLY_AMPLITUDE * np.cos(2 * np.pi * (doy - r.YEARLY_PEAK_DAY_OF_YEAR) / 365.25)
    weight: np.ndarray = weekly * season
    return weight


def product_share() -> float:
    """Share of ordinary contacts whose cause is the product."""
    mix = np.asarray(r.CATEGORY_MIX)
    return float(sum(m * r.CAUSE_MIX[c][0] for m, c in zip(mix, r.CATEGORIES, strict=True)))


def release_day_share(days: int, events: Events, kinds: np.ndarray) -> np.ndarray:
    """Share of each day's phone demand inside the release window: its first day from
    RELEASE_HOUR, the whole days between, and the day of the rollback until RELEASE_HOUR, with
    each day's opening hours. (A day's load is one figure, so the hours of the first day before
    the deploy share it.)"""
    share = np.zeros(days)
    share[events.release_day : events.release_end] = 1.0
    lo, hi = week.opening("phone", kinds)
    for day, inside in ((events.release_day, False), (events.release_end, True)):
        if day < days:
            before = week.live_share_before(lo[day], hi[day], r.RELEASE_HOUR)
            share[day] = before if inside else 1 - before
    return share


def _incident_load(days: int, events: Events, kinds: np.ndarray) -> np.ndarray:
    """Demand over what the rota planned for, before staffing noise. Staff are planned for the
    usual week and season (and the campaign, which marketing announced), not for incidents."""
    load = np.ones(days)
    load += (r.RELEASE_MULTIPLIER - 1) * product_share() * release_day_share(days, events, kinds)
    per_day = r.CONTACTS_PER_CUSTOMER_YEAR / 365
    billing_extra = r.BILLING_AFFECTED_SHARE * r.BILLING_CONTACT_PROB * 1.3
    span = max(1, events.billing_fix - events.billing_start)
    load[events.billing_start : events.billing_fix] += billing_extra / span / per_day
    return load


def _slot_staffing(days: int, rng: np.random.Generator) -> np.ndarray:
    """Half hours the rota gets wrong on purpose: a few under-staffed (sickness, a training
    session), a few over-staffed (a shift pattern that does not fit), the rest a little noisy."""
    u = rng.random((days, 48))
    factor = rng.lognormal(0.0, r.SLOT_STAFFING_NOISE, size=(days, 48))
    factor = np.where(u < r.UNDER_STAFFED_SHARE, r.UNDER_STAFFED_FACTOR, factor)
    return np.where(u > 1 - r.OVER_STAFFED_SHARE, r.OVER_STAFFED_FACTOR, factor)


def make_plan(
    *, seed: int, customers: int, start: date, days: int, fix_effect: float = 0.0
) -> Plan:
    rng = rng_for(seed, PLAN_STREAM)
    kinds = week.day_kinds(start, days)
    events = _events(days, rng, kinds)
    total_agents = max(24, customers // 400)
    agents: dict[str, np.ndarray] = {}
    speed: dict[str, np.ndarray] = {}
    first = 1
    for team, share in zip(TEAMS, TEAM_SHARE, strict=True):
        n = max(3, round(total_agents * share))
        agents[team] = np.array([f"AG{i:05d}" for i in range(first, first + n)], dtype=object)
        # Some agents are quicker than others; handling time scales with this factor.
        speed[team] = rng.lognormal(0.0, 0.2, size=n)
        first += n
    staffing = rng.lognormal(0.0, r.DAILY_STAFFING_NOISE, size=days)
    return Plan(
        seed=seed,
        customers=customers,
        start=start,
        days=days,
        events=events,
        day_weight=_day_weight(start, days),
        load=_incident_load(days, events, kinds) / staffing,
        agents=agents,
        agent_speed=speed,
        kinds=kinds,
        staffing=staffing,
        slot_staffing=_slot_staffing(days, rng_for(seed, PLAN_STREAM, 1)),
        fix_effect=fix_effect,
    )
