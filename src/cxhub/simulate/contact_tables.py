"""Turn a chunk's demand and lifecycles into the contacts, contact_events and truth tables."""

from __future__ import annotations

import numpy as np

from cxhub.simulate import rates as r
from cxhub.simulate.accounts import Accounts, customer_link
from cxhub.simulate.demand import Demand
from cxhub.simulate.identities import ids
from cxhub.simulate.lifecycle import NONE, Lifecycle
from cxhub.simulate.people import REGION, People
from cxhub.simulate.plan import TEAMS
from cxhub.simulate.texts import INCIDENTS, contact_texts

SOURCE = "contact_centre"
_EVENTS = ("created", "queued", "answered", "first_response", "resolved", "abandoned")
_EVENT_CODE = ("C", "Q", "A", "F", "R", "X")
CHANNELS = np.array(r.CHANNELS, dtype=object)
CATEGORIES = np.array(r.CATEGORIES, dtype=object)
CAUSES = np.array(r.CAUSES, dtype=object)
_TEAMS = np.array(TEAMS, dtype=object)


def contact_ids(first_number: int, n: int) -> np.ndarray:
    return ids("K", np.arange(first_number, first_number + n), width=9)


def contact_tables(
    d: Demand,
    lc: Lifecycle,
    people: People,
    acc: Accounts,
    external_id: np.ndarray,
    rng: np.random.Generator,
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], dict[str, np.ndarray]]:
    n = len(d)
    channel = CHANNELS[d.channel]
    anon = np.full(n, r.ANONYMOUS_SHARE["default"])
    for name in ("social", "community"):
        anon[channel == name] = r.ANONYMOUS_SHARE[name]
    cust_source, cust_id = customer_link(d.person, anon, acc, rng)
    subject, text = contact_texts(d.category, d.cause, d.channel, d.incident, rng)
    team = _TEAMS[lc.team]
    queue = channel + "-" + team
    contacts = {
        "source": np.full(n, SOURCE, dtype=object),
        "external_id": external_id,
        "customer_source": cust_source,
        "customer_external_id": cust_id,
        "channel": channel,
        "created_at": d.created,
        "queued_at": lc.queued,
        "answered_at": lc.answered,
        "first_response_at": lc.first_response,
        "resolved_at": lc.resolved,
        "abandoned_at": lc.abandoned,
        "wait_seconds": lc.wait,
        "talk_seconds": lc.talk,
        "hold_seconds": lc.hold,
        "wrap_seconds": lc.wrap,
        "outcome": lc.outcome,
        "queue": queue,
        "team": team,
        "agent": lc.agent,
        "subject": subject,
        "text": text,
        "resolution": lc.resolution,
        "region": REGION[people.home.town[d.person]],
        "postcode": people.home.postcode[d.person],
    }
    contacts["category"], contacts["cause"] = _wrap_up(d, lc, channel, rng)
    events = _events(contacts, external_id, d.created, lc, team, queue)
    truth = {
        "source": contacts["source"],
        "external_id": external_id,
        "person_id": people.person_id[d.person],
        "category": CATEGORIES[d.category],
        "cause": CAUSES[d.cause],
        "incident": np.array(INCIDENTS, dtype=object)[d.incident],
    }
    return contacts, events, truth


def _wrap_up(
    d: Demand, lc: Lifecycle, channel: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """The category and cause an agent recorded, for some answered calls and chats; else None."""
    n = len(d)
    coded = ((channel == "phone") | (channel == "chat")) & (lc.answered != NONE)
    coded &= rng.random(n) < r.WRAP_UP_SHARE
    category = CATEGORIES[d.category].copy()
    cause = CAUSES[d.cause].copy()
    wrong = rng.random(n) < r.WRAP_UP_ERROR
    category[wrong] = CATEGORIES[rng.integers(0, len(CATEGORIES), n)][wrong]
    wrong = rng.random(n) < r.WRAP_UP_ERROR
    cause[wrong] = CAUSES[rng.integers(0, len(CAUSES), n)][wrong]
    category[~coded] = None
    cause[~coded] = None
    return category, cause


def _events(
    contacts: dict[str, np.ndarray],
    external_id: np.ndarray,
    created: np.ndarray,
    lc: Lifecycle,
    team: np.ndarray,
    queue: np.ndarray,
) -> dict[str, np.ndarray]:
    times = (created, lc.queued, lc.answered, lc.first_response, lc.resolved, lc.abandoned)
    parts = []
    for name, code, at in zip(_EVENTS, _EVENT_CODE, times, strict=True):
        rows = np.flatnonzero(at != NONE)
        # The agent belongs to the events the agent did, not to the customer's.
        agent = lc.agent[rows] if name in ("answered", "first_response", "resolved") else None
        parts.append(
            {
                "external_id": external_id[rows] + "-" + code,
                "contact_external_id": external_id[rows],
                "event_type": np.full(len(rows), name, dtype=object),
                "occurred_at": at[rows],
                "agent": agent if agent is not None else np.full(len(rows), None, dtype=object),
                "team": team[rows],
                "queue": queue[rows],
                "order": rows,
            }
        )
    merged = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    # Keep each contact's events together and in time order.
    order = np.lexsort((merged["occurred_at"], merged.pop("order")))
    out = {k: v[order] for k, v in merged.items()}
    return {"source": np.full(len(order), SOURCE, dtype=object), **out}
