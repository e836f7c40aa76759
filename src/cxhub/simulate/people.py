"""The true people behind the records: one chunk of customers (plus marketing prospects)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cxhub.simulate import names as nm
from cxhub.simulate import rates as r
from cxhub.simulate.plan import Plan

FIRST = np.array(list(nm.FIRST_NAMES), dtype=object)
NICK = np.array(list(nm.FIRST_NAMES.values()), dtype=object)
LAST = np.array(nm.LAST_NAMES, dtype=object)
TOWN = np.array([t[0] for t in nm.TOWNS], dtype=object)
AREA = np.array([t[1] for t in nm.TOWNS], dtype=object)
REGION = np.array([t[2] for t in nm.TOWNS], dtype=object)
_TOWN_P = np.asarray(nm.TOWN_WEIGHTS) / sum(nm.TOWN_WEIGHTS)
_DOMAIN_P = np.asarray(nm.EMAIL_DOMAIN_WEIGHTS) / sum(nm.EMAIL_DOMAIN_WEIGHTS)
# Age range by segment, in SEGMENTS order.
_AGES = ((30, 55), (23, 38), (18, 25), (66, 88), (28, 65), (20, 75))
_LETTERS = np.array(list("ABDEFGHJLNPQRSTUWXYZ"), dtype=object)


@dataclass
class Address:
    street: np.ndarray  # "12 Mill Road"
    town: np.ndarray  # index into TOWN
    postcode: np.ndarray


@dataclass
class People:
    """Columns of one chunk of people; row i is customer `index[i]` of the company."""

    index: np.ndarray
    person_id: np.ndarray
    first: np.ndarray  # index into FIRST
    last: np.ndarray  # surname text (a household member may share it)
    dob_days: np.ndarray  # days since 1970-01-01
    home: Address
    previous: Address  # differs from home only where moved
    moved: np.ndarray
    email: np.ndarray
    phone: np.ndarray  # national digits, "07" + 9
    segment: np.ndarray
    since_day: np.ndarray  # day index the customer joined (negative: before the start)
    churn_day: np.ndarray  # day index the customer leaves (>= days: stays)
    propensity: np.ndarray  # contact propensity, mean about 1
    mood: np.ndarray  # how easily pleased, standard normal-ish
    household_of: np.ndarray  # row of the household's first member, -1 if none
    shared_email: np.ndarray

    def __len__(self) -> int:
        return len(self.index)


def _addresses(n: int, rng: np.random.Generator) -> Address:
    number = rng.integers(1, 180, size=n).astype(str).astype(object)
    street = np.array(nm.STREET_NAMES, dtype=object)[rng.integers(0, len(nm.STREET_NAMES), n)]
    kind = np.array(nm.STREET_TYPES, dtype=object)[rng.integers(0, len(nm.STREET_TYPES), n)]
    town = rng.choice(len(TOWN), size=n, p=_TOWN_P)
    district = rng.integers(1, 30, size=n).astype(str).astype(object)
    sector = rng.integers(1, 10, size=n).astype(str).astype(object)
    unit = _LETTERS[rng.integers(0, 20, n)] + _LETTERS[rng.integers(0, 20, n)]
    postcode = AREA[town] + district + " " + sector + unit
    return Address(number + " " + street + " " + kind, town, postcode)


def _emails(
    first: np.ndarray, last: np.ndarray, index: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    n = len(first)
    f = np.char.lower(first.astype(str)).astype(object)
    la = np.char.lower(np.char.replace(last.astype(str), " ", "")).astype(object)
    # The customer number in the address keeps every person's own email unique, so the only
    # shared emails are the planted household ones.
    num = index.astype(str).astype(object)
    form = rng.integers(0, 3, size=n)
    local = np.where(
        form == 0,
        f + "." + la + num,
        np.where(form == 1, f + la + num, f.astype(str).astype("<U1").astype(object) + la + num),
    )
    domain = np.array(nm.EMAIL_DOMAINS, dtype=object)[
        rng.choice(len(nm.EMAIL_DOMAINS), n, p=_DOMAIN_P)
    ]
    emails: np.ndarray = local + "@" + domain
    return emails


def make_people(plan: Plan, start_index: int, n: int, rng: np.random.Generator) -> People:
    index = np.arange(start_index, start_index + n, dtype=np.int64)
    segment = rng.choice(len(r.SEGMENTS), size=n, p=np.asarray(r.SEGMENT_SHARE))
    first = rng.integers(0, len(FIRST), size=n)
    last = LAST[rng.integers(0, len(LAST), size=n)]
    ages = np.asarray(_AGES)[segment]
    age_days = rng.uniform(ages[:, 0], ages[:, 1]) * 365.25
    dob = (plan.start.toordinal() - 719_163 - age_days).astype(np.int64)  # 719163: 1970-01-01
    home = _addresses(n, rng)
    previous = _addresses(n, rng)
    moved = rng.random(n) < r.MOVED_RATE

    # Households: a customer sometimes lives with the customer before them.
    joins = rng.random(n) < r.HOUSEHOLD_SECOND_MEMBER_RATE
    joins[0] = False
    joins[1:] &= ~joins[:-1]  # keep households to two people
    head = np.where(joins, np.arange(n) - 1, -1)
    members = np.flatnonzero(joins)
    heads = members - 1
    same_name = rng.random(len(members)) < 0.8
    last[members[same_name]] = last[heads[same_name]]
    for addr in (home, previous):
        addr.street[members] = addr.street[heads]
        addr.town[members] = addr.town[heads]
        addr.postcode[members] = addr.postcode[heads]
    moved[members] = moved[heads]
    previous_if_moved = Address(
        np.where(moved, previous.street, home.street),
        np.where(moved, previous.town, home.town),
        np.where(moved, previous.postcode, home.postcode),
    )

    email = _emails(FIRST[first], last, index, rng)
    shared = np.zeros(n, dtype=bool)
    share = rng.random(len(members)) < r.SHARED_EMAIL_RATE
    shared[members[share]] = True
    shared[heads[share]] = True
    family = np.char.lower(last[heads[share]].astype(str)).astype(object)
    household_email = (
        "the" + family + "s" + index[heads[share]].astype(str).astype(object) + "@" + "home.example"
    )
    email[members[share]] = household_email
    email[heads[share]] = household_email

    # A fixed permutation of the customer number: unique, and not in customer order.
    digits = ((index * 7_919_731 + 104_729) % 1_000_000_000).astype(str)
    phone = "07" + np.char.zfill(digits, 9).astype(object)

    since = np.where(
        rng.random(n) < r.CUSTOMERS_ON_DAY_ONE,
        -rng.integers(30, 3650, size=n),
        _join_days(plan.days, n, rng),
    )
    hazard = r.ANNUAL_CHURN / 365 * rng.lognormal(-0.5, 1.0, size=n)  # mean factor about 1
    churn = since.clip(0) + rng.exponential(1 / hazard).astype(np.int64)
    propensity = rng.gamma(r.CONTACT_PROPENSITY_SHAPE, 1 / r.CONTACT_PROPENSITY_SHAPE, size=n)
    propensity *= np.asarray(r.SEGMENT_CONTACT_FACTOR)[segment]
    return People(
        index=index,
        person_id=np.array([f"P{i:08d}" for i in index], dtype=object),
        first=first,
        last=last,
        dob_days=dob,
        home=home,
        previous=previous_if_moved,
        moved=moved,
        email=email,
        phone=phone,
        segment=segment,
        since_day=since.astype(np.int64),
        churn_day=np.minimum(churn, 10**6).astype(np.int64),
        propensity=propensity,
        mood=rng.normal(0.0, 0.6, size=n),
        household_of=head,
        shared_email=shared,
    )


def _join_days(days: int, n: int, rng: np.random.Generator) -> np.ndarray:
    """Join days with a joining rate rising linearly by GROWTH over the period (inverse CDF)."""
    u = rng.random(n)
    g = r.GROWTH
    t = (np.sqrt(1 + g * (2 + g) * u) - 1) / g if g else u
    return (t * days).astype(np.int64)


def active_range(people: People, days: int) -> tuple[np.ndarray, np.ndarray]:
    """First and last-plus-one day each customer is a customer within the period."""
    lo = people.since_day.clip(0, days)
    hi = people.churn_day.clip(0, days)
    return lo, np.maximum(hi, lo)
