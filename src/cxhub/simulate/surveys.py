"""Survey answers: CSAT and CES after contacts, NPS as a relationship survey.

Satisfaction is a latent score: the customer's mood, lowered by waiting, slow written replies,
unresolved problems, complaints and the planted incidents, raised by compliments. CSAT (1-5),
CES (1-7, 7 = very easy) and NPS (0-10) are cuts of that score, so they move together.
"""

from __future__ import annotations

import numpy as np

from cxhub.simulate import rates as r
from cxhub.simulate.demand import Demand
from cxhub.simulate.lifecycle import NONE, Lifecycle
from cxhub.simulate.people import People, active_range
from cxhub.simulate.plan import DAY, Plan
from cxhub.simulate.texts import INCIDENT_NONE, survey_comments

SOURCE = "contact_centre"
_CAT = {c: i for i, c in enumerate(r.CATEGORIES)}
_CATEGORY_EFFECT = {"complaint": -0.9, "problem": -0.5, "idea": 0.2, "compliment": 0.8}


def contact_satisfaction(
    d: Demand, lc: Lifecycle, people: People, rng: np.random.Generator
) -> np.ndarray:
    z: np.ndarray = 1.2 + people.mood[d.person] + rng.normal(0.0, 0.7, len(d))
    live_wait = np.where(lc.wait > 0, lc.wait, 0)
    z -= np.minimum(3.0, 0.006 * live_wait)
    written = lc.answered == NONE
    reply_hours = np.where(
        written & (lc.first_response != NONE), (lc.first_response - d.created) / 3600, 0
    )
    z -= np.minimum(2.0, 0.08 * reply_hours)
    z -= np.where(lc.handled & ~lc.fixed, 1.5, 0.0)
    for cat, effect in _CATEGORY_EFFECT.items():
        z += np.where(d.category == _CAT[cat], effect, 0.0)
    z -= np.where(d.incident != INCIDENT_NONE, 0.5, 0.0)
    return z


def post_contact_surveys(
    d: Demand,
    lc: Lifecycle,
    people: People,
    contact_id: np.ndarray,
    link: tuple[np.ndarray, np.ndarray],
    plan: Plan,
    rng: np.random.Generator,
) -> dict[str, np.ndarray]:
    z = contact_satisfaction(d, lc, people, rng)
    after = np.where(lc.resolved != NONE, lc.resolved, lc.first_response)
    answered_at = after + (rng.lognormal(np.log(3.0), 1.0, len(d)) * 3600).astype(np.int64)
    ok = (
        lc.handled
        & (after != NONE)
        & (link[1] != None)  # noqa: E711 (elementwise)
        & (answered_at < plan.day_start_s(plan.days))
        & (rng.random(len(d)) < r.CSAT_RESPONSE_RATE)
    )
    rows = np.flatnonzero(ok)
    csat = 1 + np.digitize(z[rows], [-1.2, -0.4, 0.4, 1.1])
    ces_rows = rows[rng.random(len(rows)) < r.CES_WITH_CSAT]
    ces = 1 + np.digitize(
        z[ces_rows] + rng.normal(0, 0.4, len(ces_rows)), [-1.5, -0.9, -0.3, 0.3, 0.9, 1.5]
    )
    comment = _comments(csat, lc.wait[rows], ~lc.fixed[rows], rng)
    all_rows = np.concatenate([rows, ces_rows])
    return {
        "source": np.full(len(all_rows), SOURCE, dtype=object),
        "external_id": np.concatenate([contact_id[rows] + "-CSAT", contact_id[ces_rows] + "-CES"]),
        "customer_source": link[0][all_rows],
        "customer_external_id": link[1][all_rows],
        "contact_external_id": contact_id[all_rows],
        "survey_type": np.array(["csat"] * len(rows) + ["ces"] * len(ces_rows), dtype=object),
        "score": np.concatenate([csat, ces]).astype(float),
        "comment": np.concatenate([comment, np.full(len(ces_rows), None, dtype=object)]),
        "answered_at": answered_at[all_rows],
    }


def _comments(
    csat: np.ndarray, wait: np.ndarray, unresolved: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    tone = np.where(csat <= 2, 0, np.where(csat == 3, 1, 2))
    aspect = rng.choice([1, 2, 3], size=len(csat))
    aspect = np.where(wait > 180, 0, aspect)
    aspect = np.where(unresolved, 1, aspect)
    text = survey_comments(tone, aspect, rng)
    text[rng.random(len(csat)) >= r.COMMENT_RATE] = None
    return text


def nps_surveys(
    d: Demand,
    lc: Lifecycle,
    people: People,
    crm_id: np.ndarray,
    affected: np.ndarray,
    plan: Plan,
    rng: np.random.Generator,
) -> dict[str, np.ndarray]:
    """Relationship NPS: recent problems and complaints, and anything left unresolved, drag it."""
    lo, hi = active_range(people, plan.days)
    person, day = _survey_days(lo, hi, plan.days, rng)
    at = plan.day_start_s(day) + rng.integers(8 * 3600, 22 * 3600, len(person))
    bad = (d.category == _CAT["problem"]) | (d.category == _CAT["complaint"])
    open_ = ~lc.fixed  # handled and never sorted
    recent_bad = _count_before(d.person[bad], d.created[bad], person, at, 90 * DAY)
    ever_open = _count_before(
        d.person[open_ & lc.handled], d.created[open_ & lc.handled], person, at, 10**9
    )
    hit = affected[person] & (at >= plan.day_start_s(plan.events.billing_start))
    z = 1.0 + people.mood[person] - 0.45 * recent_bad - 0.9 * ever_open - 0.8 * hit
    z += rng.normal(0.0, 0.9, len(person))
    score = np.clip(np.round(7.5 + 1.6 * z), 0, 10)
    n = len(person)
    return {
        "source": np.full(n, "marketing", dtype=object),
        "external_id": "NPS-" + crm_id[person] + "-" + day.astype(str).astype(object),
        "customer_source": np.full(n, "crm", dtype=object),
        "customer_external_id": crm_id[person],
        "survey_type": np.full(n, "nps", dtype=object),
        "score": score,
        "answered_at": at,
        "comment": np.full(n, None, dtype=object),
    }


def _survey_days(
    lo: np.ndarray, hi: np.ndarray, days: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    expected = r.NPS_SURVEY_RATE * (hi - lo) / 365
    count = rng.poisson(expected)
    person = np.repeat(np.arange(len(lo)), count)
    day = lo[person] + (rng.random(len(person)) * (hi - lo)[person]).astype(np.int64)
    # One answer per customer per day keeps the survey id unique.
    keep = np.unique(person * (days + 1) + day, return_index=True)[1]
    return person[np.sort(keep)], day[np.sort(keep)]


def _count_before(
    who: np.ndarray, when: np.ndarray, person: np.ndarray, at: np.ndarray, window: int
) -> np.ndarray:
    """For each (person, at): how many of `who`'s events fall in [at - window, at)."""
    big = np.int64(2**40)
    key = np.sort(who.astype(np.int64) * big + when)
    base = person.astype(np.int64) * big
    counts: np.ndarray = np.searchsorted(key, base + at, "left") - np.searchsorted(
        key, base + np.maximum(at - window, 0), "left"
    )
    return counts
