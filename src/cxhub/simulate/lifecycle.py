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
from cxhub.simulate import week
from cxhub.simulate.demand import Demand
from cxhub.simulate.plan import DAY, TEAMS, Plan
from cxhub.simulate.texts import INCIDENT_BILLING, INCIDENT_RELEASE

NONE = -1
RESOLUTIONS = ("resolved", "follow-up", "not resolved", "closed: no reply", "merged")
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
    fixed: np.ndarray  # the customer's issue was sorted (now or later); drives satisfaction
    resolution: np.ndarray  # how the item closed (RESOLUTIONS), None while open or not handled
    unresolved_at_end: np.ndarray  # handled and still open when the files were exported


def _lognormal(median: float, sigma: float, n: int, rng: np.random.Generator) -> np.ndarray:
    return rng.lognormal(np.log(median), sigma, size=n)


def make_lifecycle(d: Demand, plan: Plan, rng: np.random.Generator) -> Lifecycle:
    n = len(d)
    ch = d.channel
    # The day's load over the half hour's staffing: a short-staffed half hour waits longer.
    slot = (d.created - plan.day_start_s(d.day)) // week.SLOT_S
    load = plan.load[d.day] / plan.slot_staffing[d.day, np.clip(slot, 0, 47)]
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

    resolved, fixed, resolution = _resolution(d, end_of_first, first_written, live, handled,
                                              plan, rng)
    horizon = plan.day_start_s(plan.days)
    # Events after the export was taken cannot be in it: those items are open in the files.
    late = resolved >= horizon
    resolved = np.where(late, NONE, resolved)
    resolution = np.where(late | (resolved == NONE), np.array(None, dtype=object), resolution)
    first_response = np.where(first_response >= horizon, NONE, first_response)
    answered = np.where(answered >= horizon, NONE, answered)
    abandoned = np.where(gave_up & (queued + wait < horizon), queued + wait, NONE)

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
        abandoned=abandoned,
        wait=np.where(live & ~phantom, wait, NONE),
        talk=np.where(handled, talk, NONE),
        hold=np.where(answered_live, hold, NONE),
        wrap=np.where(handled, wrap, NONE),
        outcome=outcome,
        team=team,
        agent=agent,
        handled=handled,
        fixed=handled & fixed,
        resolution=resolution,
        unresolved_at_end=handled & (resolved == NONE),
    )


def _resolution(
    d: Demand,
    end_of_first: np.ndarray,
    first_written: np.ndarray,
    live: np.ndarray,
    handled: np.ndarray,
    plan: Plan,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(closed at, fixed, how it closed) of each contact. Whether the issue gets fixed is drawn
    as before (at once, later, never); when the item closes follows from its channel: every
    handled item ends (rates.py, NO_REPLY_CLOSE_DAYS)."""
    n = len(d)
    at_once = np.full(n, 0.9)
    never = np.full(n, 0.02)
    for cat, p in r.RESOLVED_AT_ONCE.items():
        at_once[d.category == _CAT[cat]] = p
    for cat, p in r.UNRESOLVED.items():
        never[d.category == _CAT[cat]] = p
    u = rng.random(n)
    later = end_of_first + (_lognormal(*r.LATER_RESOLUTION_HOURS, n, rng) * 3600).astype(np.int64)
    fixed_now = u < at_once
    fixed = u < 1 - never
    fixed_at = np.where(fixed_now, end_of_first, later)
    # Only the rollback fixes the release's fault (RELEASE_HOUR on release_end); its written
    # contacts close within a day of it.
    release = d.incident == INCIDENT_RELEASE
    rollback = plan.release_window_s[1] + rng.integers(0, DAY, n)
    fixed_now &= ~release
    fixed_at = np.where(release, np.maximum(later, rollback), fixed_at)
    # Billing-fault contacts are fixed when the fault is and the refund goes out.
    billing = d.incident == INCIDENT_BILLING
    fix = plan.day_start_s(plan.events.billing_fix) + rng.integers(0, 2 * DAY, n)
    fixed = np.where(billing, u < 0.95, fixed)
    fixed_now &= ~billing
    fixed_at = np.where(billing, np.maximum(end_of_first, fix), fixed_at)

    # A call or chat ends when it ends; a later fix is its own follow-up, not an open call.
    live_how = np.where(fixed_now, "resolved", np.where(fixed, "follow-up", "not resolved"))
    written_at = np.where(fixed, fixed_at, end_of_first + r.NO_REPLY_CLOSE_DAYS * DAY)
    written_how = np.where(fixed, "resolved", "closed: no reply")
    closed = np.where(live, end_of_first, written_at)
    how = np.where(live, live_how, written_how).astype(object)
    merged = _merged(d, closed, ~live & handled)
    closed = np.where(merged, first_written, closed)
    how[merged] = "merged"
    how[~handled] = None
    return np.where(handled, closed, NONE), fixed, how


def _merged(d: Demand, closed: np.ndarray, written: np.ndarray) -> np.ndarray:
    """Written items that repeat the same customer's open written item on the same cause,
    written within MERGE_WINDOW_HOURS of it: the agent merges them at the first touch."""
    order = np.lexsort((d.created, d.cause, d.person))
    p, c, t = d.person[order], d.cause[order], d.created[order]
    w, end = written[order], closed[order]
    same = (p[1:] == p[:-1]) & (c[1:] == c[:-1]) & w[1:] & w[:-1]
    recent = t[1:] - t[:-1] < r.MERGE_WINDOW_HOURS * 3600
    still_open = end[:-1] > t[1:]
    out = np.zeros(len(d), dtype=bool)
    out[order[1:]] = same & recent & still_open
    return out
