"""Offers presented during service conversations, with a control group.

Only answered phone and chat contacts that are not complaints and not open problems get an
offer (the contact policy). A tenth of the eligible are held out as a control: the offer is
withheld and the outcome records whether they bought the product anyway within the month, so
incremental uptake is acceptance minus control uptake. SPEED-BOOST-500 is the planted truth:
it works for families and does nothing for seniors.
"""

from __future__ import annotations

import numpy as np

from cxhub.simulate import rates as r
from cxhub.simulate.demand import Demand
from cxhub.simulate.lifecycle import NONE, Lifecycle
from cxhub.simulate.people import People

SOURCE = "contact_centre"
CODES = tuple(r.OFFERS)
_CODE_WEIGHTS = (0.5, 0.25, 0.25)
_CAT = {c: i for i, c in enumerate(r.CATEGORIES)}


def acceptance(code: str, segment: str) -> tuple[float, float]:
    """(acceptance when presented, uptake in the control group) for a segment."""
    _, _, by_segment, control = r.OFFERS[code]
    return by_segment.get(segment, by_segment["default"]), control


def offer_decisions(
    d: Demand,
    lc: Lifecycle,
    people: People,
    contact_id: np.ndarray,
    link: tuple[np.ndarray, np.ndarray],
    rng: np.random.Generator,
) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray, np.ndarray]:
    """The decisions, and (person, offer index, time) of accepted offers for the holdings."""
    open_problem = (d.category == _CAT["problem"]) & ~lc.fixed
    eligible = (
        (lc.outcome == "answered")
        & (lc.answered != NONE)
        & (d.category != _CAT["complaint"])
        & ~open_problem
        & (link[1] != None)  # noqa: E711 (elementwise): an unknown caller gets no offer
    )
    rows = np.flatnonzero(eligible & (rng.random(len(d)) < r.OFFER_PRESENT_RATE))
    n = len(rows)
    code = rng.choice(len(CODES), size=n, p=_CODE_WEIGHTS)
    control = rng.random(n) < r.OFFER_CONTROL_SHARE
    segment = people.segment[d.person[rows]]
    p_take = np.zeros(n)
    for ci, c in enumerate(CODES):
        for si, s in enumerate(r.SEGMENTS):
            mask = (code == ci) & (segment == si)
            treated, held_out = acceptance(c, s)
            p_take[mask] = np.where(control[mask], held_out, treated)
    u = rng.random(n)
    took = u < p_take
    outcome = np.where(
        took, "accepted", np.where(control | (rng.random(n) < 0.3), "ignored", "declined")
    ).astype(object)
    presented = lc.answered[rows] + (lc.talk[rows] * rng.uniform(0.5, 0.9, n)).astype(np.int64)
    monthly = np.array([r.OFFERS[c][1] for c in CODES])[code]
    revenue = np.where(took & ~control, monthly * 12, 0.0)
    table = {
        "source": np.full(n, SOURCE, dtype=object),
        "external_id": contact_id[rows] + "-OFFER",
        "customer_source": link[0][rows],
        "customer_external_id": link[1][rows],
        "offer_code": np.array(CODES, dtype=object)[code],
        "contact_external_id": contact_id[rows],
        "presented_at": presented,
        "outcome": outcome,
        "control": control,
        "revenue": revenue,
        "segment": np.array(r.SEGMENTS, dtype=object)[segment],
    }
    bought = took
    return table, d.person[rows[bought]], code[bought], presented[bought]
