"""What happens to each contact: queue, answer or abandon, handling, first response, resolution.

Phone follows the measured call-centre figures (calibration.py): a short voice menu, a chance
of queueing at all, an exponential virtual wait against an exponential patience, lognormal
talk time. Waits stretch with the day's load (demand over the staffing plan), so the faulty
release shows up as longer waits and more abandoned calls, not only as more contacts.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cxhub.simulate import calibration as cal
from cxhub.simulate import rates as r
from cxhub.simulate.demand import Demand
from cxhub.simulate.plan import DAY, TEAMS, Plan
from cxhub.simulate.texts import INCIDENT_BILLING, INCIDENT_RELEASE

NONE = -1
_CH = {c: i for i, c in enumerate(r.CHANNELS)}
_CAT = {c: i for i, c in enumerate(r.CATEGORIES)}
_CAUSE = {c: i for i, c in enumerate(r.CAUSES)}
# Team by cause: what the routing menu sends each reason to.
_TEAM_BY_CAUSE = np.array(
    [TEAMS.index(t) for t in ("technical", "general", "sales", "billing", "general", "general")]
)


@dataclass
class Lifecycle:
    queued: np.ndarray  # epoch seconds, NONE when it did not happen
    answered: np.ndarray
    first_response: np.ndarray
    resolved: np.ndarray
    abandoned: np.ndarray
    wait: np.ndarray  # seconds, NONE where not applicable
    talk: np.ndarray
    hold: np.ndarray
    wrap: np.ndarray
    outcome: np.ndarray  # answered, abandoned, phantom, responded
    team: np.ndarray  # index into TEAMS
    agent: np.ndarray  # agent code or None
    handled: np.ndarray  # an agent dealt with it
    unresolved_at_end: np.ndarray


def _lognormal(median: float, sigma: float, n: int, rng: np.random.Generator) -> np.ndarray:
    return rng.lognormal(np.log(median), sigma, size=n)


def make_lifecycle(d: Demand, plan: Plan, rng: np.random.Generator) -> Lifecycle:
    n = len(d)
    ch = d.channel
    load = plan.load[d.day]
    phone, chat = ch == _CH["phone"], ch == _CH["chat"]
    live = phone | chat
    team = _TEAM_BY_CAUSE[d.cause]
    complaint = d.category == _CAT["complaint"]
    team = np.where(complaint & (d.cause == _CAUSE["pricing"]), TEAMS.index("retention"), team)
    team = np.where(np.isin(ch, [_CH["social"], _CH["community"]]), TEAMS.index("social"), team)

    # Live channels: queue, then answer or abandon.
    vru = np.where(phone, _lognormal(cal.VRU_MEDIAN_S, 0.5, n, rng), 0.0).astype(np.int64)
    queued = d.created + vru
    queue_share = np.minimum(0.95, cal.QUEUED_SHARE * np.sqrt(load))
    waits_at_all = live & (rng.random(n) < queue_share)
    mean_wait = np.where(phone, cal.VIRTUAL_WAIT_MEAN_S, r.CHAT_WAIT_MEAN_S)
    virtual = rng.exponential(mean_wait * load**r.LOAD_ELASTICITY) * waits_at_all
    patience = rng.exponential(np.where(phone, cal.PATIENCE_MEAN_S, r.CHAT_PATIENCE_MEAN_S))
    phantom = phone & (rng.random(n) < cal.PHANTOM_SHARE)
    gave_up = live & ~phantom & waits_at_all & (patience < virtual)
    answered_live = live & ~phantom & ~gave_up
    wait = np.where(gave_up, patience, virtual).astype(np.int64)

    agent_idx = rng.random(n)
    agent = np.full(n, None, dtype=object)
    speed = np.ones(n)
    for ti, name in enumerate(TEAMS):
        rows = np.flatnonzero(team == ti)
        k = (agent_idx[rows] * len(plan.agents[name])).astype(np.int64)
        agent[rows] = plan.agents[name][k]
        speed[rows] = plan.agent_speed[name][k]

    talk_live = np.where(
        phone,
        rng.lognormal(cal.SERVICE_LOG_MU, cal.SERVICE_LOG_SIGMA, n),
        _lognormal(r.CHAT_TALK_MEDIAN_S, r.CHAT_TALK_SIGMA, n, rng),
    )
    written = ~live
    talk = np.where(written, _lognormal(r.WRITTEN_HANDLING_MEDIAN_S, 0.6, n, rng), talk_live)
    talk = np.maximum(1, talk * speed).astype(np.int64)
    hold = np.where(
        live & (rng.random(n) < r.HOLD_SHARE), rng.exponential(r.HOLD_MEAN_S, n), 0
    ).astype(np.int64)
    wrap = _lognormal(r.WRAP_MEDIAN_S, r.WRAP_SIGMA, n, rng).astype(np.int64)

    # Written channels: a first response after hours, slower on busy days.
    first_hours = np.zeros(n)
    for name, (median, sigma) in r.FIRST_RESPONSE_HOURS.items():
        rows = ch == _CH[name]
        first_hours[rows] = _lognormal(median, sigma, int(rows.sum()), rng)
    first_written = d.created + (first_hours * 3600 * load).astype(np.int64) + 60

    answered = np.where(answered_live, queued + wait, NONE)
    handled = answered_live | written
    first_response = np.where(answered_live, answered, np.where(written, first_written, NONE))
    end_of_first = np.where(live, answered + talk + hold + wrap, first_written + talk)

    resolved = _resolution(d, end_of_first, handled, plan, rng)
    horizon = plan.day_start_s(plan.days)
    late = resolved >= horizon
    resolved = np.where(late, NONE, resolved)
    # Events after the export was taken cannot be in it.
    first_response = np.where(first_response >= horizon, NONE, first_response)
    answered = np.where(answered >= horizon, NONE, answered)

    outcome = np.where(
        phantom, "phantom", np.where(gave_up, "abandoned", np.where(live, "answered", "responded"))
    ).astype(object)
    no_agent = ~handled
    agent[no_agent] = None
    return Lifecycle(
        queued=np.where(phantom, NONE, queued),
        answered=answered,
        first_response=first_response,
        resolved=resolved,
        abandoned=np.where(gave_up, queued + wait, NONE),
        wait=np.where(live & ~phantom, wait, NONE),
        talk=np.where(handled, talk, NONE),
        hold=np.where(answered_live, hold, NONE),
        wrap=np.where(handled, wrap, NONE),
        outcome=outcome,
        team=team,
        agent=agent,
        handled=handled,
        unresolved_at_end=handled & (resolved == NONE),
    )


def _resolution(
    d: Demand, end_of_first: np.ndarray, handled: np.ndarray, plan: Plan, rng: np.random.Generator
) -> np.ndarray:
    n = len(d)
    at_once = np.full(n, 0.9)
    never = np.full(n, 0.02)
    for cat, p in r.RESOLVED_AT_ONCE.items():
        at_once[d.category == _CAT[cat]] = p
    for cat, p in r.UNRESOLVED.items():
        never[d.category == _CAT[cat]] = p
    release = d.incident == INCIDENT_RELEASE
    at_once[release] = 0.15  # only the rollback fixes it
    u = rng.random(n)
    later = end_of_first + (_lognormal(*r.LATER_RESOLUTION_HOURS, n, rng) * 3600).astype(np.int64)
    resolved = np.where(u < at_once, end_of_first, np.where(u < 1 - never, later, NONE))
    ev = plan.events
    # The rollback ends the fault (RELEASE_HOUR on release_end); its contacts close within a day.
    rollback = plan.release_window_s[1] + rng.integers(0, DAY, n)
    resolved = np.where(release & (resolved != NONE), np.maximum(resolved, rollback), resolved)
    # Billing-fault contacts are closed when the fault is fixed and the refund goes out.
    billing = d.incident == INCIDENT_BILLING
    fixed = plan.day_start_s(ev.billing_fix) + rng.integers(0, 2 * DAY, n)
    resolved = np.where(billing & (u < 0.95), fixed, np.where(billing, NONE, resolved))
    return np.where(handled, resolved, NONE)
