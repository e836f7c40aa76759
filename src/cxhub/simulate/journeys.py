"""Touchpoints: web visits, app logins, onboarding steps, deliveries, marketing email engagement.

A share of contacts is preceded by a visit to the help page for their cause, so journey
analysis can find which touchpoints create contacts.
"""

from __future__ import annotations

import numpy as np

from cxhub.simulate import rates as r
from cxhub.simulate.accounts import Accounts
from cxhub.simulate.demand import Demand, sample_days
from cxhub.simulate.identities import ids
from cxhub.simulate.people import People, active_range
from cxhub.simulate.plan import DAY, Plan

_PAGES = np.array(
    ["/", "/account", "/bills", "/upgrade", "/deals", "/status", "/help"], dtype=object
)
_HELP = np.array([f"/help/{c}" for c in r.CAUSES], dtype=object)
_ONBOARDING = ("order_placed", "welcome_email_sent", "account_activated", "first_login")
_ONBOARDING_DELAY_H = (0, 1, 48, 72)


def _table(
    source: str,
    kind: str,
    ext: np.ndarray,
    cust_source: np.ndarray,
    cust_id: np.ndarray,
    tp_type: np.ndarray,
    channel: str,
    at: np.ndarray,
    detail: np.ndarray,
) -> dict[str, np.ndarray]:
    n = len(ext)
    return {
        "source": np.full(n, source, dtype=object),
        "external_id": ext,
        "customer_source": cust_source,
        "customer_external_id": cust_id,
        "touchpoint_type": tp_type,
        "channel": np.full(n, channel, dtype=object),
        "occurred_at": at,
        "detail": detail,
    }


def _concat(parts: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    out = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    order = np.argsort(out["occurred_at"], kind="stable")
    return {k: v[order] for k, v in out.items()}


def web_touchpoints(
    people: People, acc: Accounts, d: Demand, plan: Plan, first: int, rng: np.random.Generator
) -> dict[str, np.ndarray]:
    lo, hi = active_range(people, plan.days)
    person, day = sample_days(
        plan.day_weight / 365, np.full(len(people), r.WEB_VISITS_PER_YEAR), lo, hi, rng
    )
    at = plan.day_start_s(day) + rng.integers(6 * 3600, 24 * 3600, len(person))
    logged_in = rng.random(len(person)) < 0.6
    visits = (person, at, _PAGES[rng.integers(0, len(_PAGES), len(person))], logged_in)

    web_channels = np.isin(
        d.channel, [r.CHANNELS.index(c) for c in ("phone", "email", "chat", "web")]
    )
    pre = np.flatnonzero(web_channels & (rng.random(len(d)) < r.HELP_VISIT_BEFORE_CONTACT))
    help_at = d.created[pre] - rng.integers(60, 2 * 3600, len(pre))
    helps = (d.person[pre], help_at, _HELP[d.cause[pre]], np.ones(len(pre), dtype=bool))

    joined = np.flatnonzero((people.since_day >= 0) & (people.since_day < plan.days))
    steps = []
    for step, delay in zip(_ONBOARDING, _ONBOARDING_DELAY_H, strict=True):
        # Some new customers stall before activating.
        keep = joined if delay < 48 else joined[rng.random(len(joined)) < 0.9]
        at_step = plan.day_start_s(people.since_day[keep]) + 10 * 3600 + delay * 3600
        steps.append((keep, at_step, np.full(len(keep), step, dtype=object)))

    parts = []
    num = first
    for person_, at_, detail, known in (visits, helps):
        n = len(person_)
        # Only logged-in visits know the customer; the others stay anonymous (None).
        cs = np.full(n, None, dtype=object)
        cs[known] = "crm"
        ci = np.full(n, None, dtype=object)
        ci[known] = acc.crm[person_][known]
        parts.append(
            _table(
                "web",
                "web_visit",
                ids("W", np.arange(num, num + n), 10),
                cs,
                ci,
                np.full(n, "web_visit", dtype=object),
                "web",
                at_,
                detail,
            )
        )
        num += n
    for person_, at_, step_names in steps:
        n = len(person_)
        parts.append(
            _table(
                "web",
                "onboarding_step",
                ids("W", np.arange(num, num + n), 10),
                np.full(n, "crm", dtype=object),
                acc.crm[person_],
                np.full(n, "onboarding_step", dtype=object),
                "web",
                at_,
                step_names,
            )
        )
        num += n
    out = _concat(parts)
    horizon = plan.day_start_s(plan.days)
    in_range = (out["occurred_at"] < horizon) & (out["occurred_at"] >= plan.start_s)
    return {k: v[in_range] for k, v in out.items()}


def app_touchpoints(
    people: People, acc: Accounts, plan: Plan, rng: np.random.Generator
) -> dict[str, np.ndarray]:
    lo, hi = active_range(people, plan.days)
    rate = np.where(rng.random(len(people)) < r.APP_USER_SHARE, r.APP_LOGINS_PER_YEAR, 0.0)
    person, day = sample_days(plan.day_weight / 365, rate, lo, hi, rng)
    at = plan.day_start_s(day) + rng.integers(6 * 3600, 24 * 3600, len(person))
    n = len(person)
    ext = (
        ids("APP", people.index[person] * 1000 + np.arange(n) % 1000, 11)
        + "-"
        + day.astype(str).astype(object)
    )
    return _concat(
        [
            _table(
                "app",
                "app_login",
                ext,
                np.full(n, "crm", dtype=object),
                acc.crm[person],
                np.full(n, "app_login", dtype=object),
                "app",
                at,
                np.full(n, None, dtype=object),
            )
        ]
    )


def deliveries(
    people: People, acc: Accounts, plan: Plan, rng: np.random.Generator
) -> dict[str, np.ndarray]:
    """Router deliveries to new customers; some fail and are delivered two days later."""
    joined = np.flatnonzero((people.since_day >= 0) & (people.since_day < plan.days))
    dispatched = plan.day_start_s(people.since_day[joined] + 1) + 8 * 3600
    failed = rng.random(len(joined)) < r.DELIVERY_FAILURE_RATE
    delivered = (
        dispatched + DAY + np.where(failed, 2 * DAY, 0) + rng.integers(0, 8 * 3600, len(joined))
    )
    fail_rows = np.flatnonzero(failed)
    person = np.concatenate([joined, joined, joined[fail_rows]])
    at = np.concatenate([dispatched, delivered, dispatched[fail_rows] + DAY + 4 * 3600])
    detail = np.array(
        ["dispatched"] * len(joined) + ["delivered"] * len(joined) + ["failed"] * len(fail_rows),
        dtype=object,
    )
    step = np.concatenate(
        [np.zeros(len(joined)), np.ones(len(joined)), np.full(len(fail_rows), 2)]
    ).astype(np.int64)
    n = len(person)
    out = _concat(
        [
            _table(
                "logistics",
                "delivery",
                ids("D", people.index[person] * 10 + step, 10),
                np.full(n, "sales", dtype=object),
                acc.sales[person],
                np.full(n, "delivery", dtype=object),
                "post",
                at,
                detail,
            )
        ]
    )
    keep = out["occurred_at"] < plan.day_start_s(plan.days)
    return {k: v[keep] for k, v in out.items()}


def email_engagement(
    marketing_id: np.ndarray, person_rows: np.ndarray, plan: Plan, rng: np.random.Generator
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Opens and clicks of newsletters and campaign emails; and who clicked the campaign."""
    sends = [
        (d, "newsletter", r.EMAIL_OPEN_RATE, r.EMAIL_CLICK_RATE)
        for d in range(2, plan.days, max(1, round(365 / r.NEWSLETTERS_PER_YEAR)))
    ]
    ev = plan.events
    for d in (ev.campaign_start, ev.campaign_start + 7):
        if d < plan.days:
            sends.append((d, "campaign", r.CAMPAIGN_OPEN_RATE, r.CAMPAIGN_CLICK_RATE))
    parts, clicked = [], np.zeros(len(marketing_id), dtype=bool)
    n = len(marketing_id)
    for k, (day, name, p_open, p_click) in enumerate(sends):
        u = rng.random(n)
        opened = np.flatnonzero(u < p_open)
        clicks = np.flatnonzero(u < p_click)
        if name == "campaign":
            clicked[clicks] = True
        at_open = plan.day_start_s(day) + rng.integers(7 * 3600, 23 * 3600, n)
        for tp, rows, lag in (("email_open", opened, 0), ("email_click", clicks, 90)):
            m = len(rows)
            ext = marketing_id[rows] + f"-{k:03d}-" + tp[6]
            parts.append(
                _table(
                    "marketing",
                    tp,
                    ext,
                    np.full(m, "marketing", dtype=object),
                    marketing_id[rows],
                    np.full(m, tp, dtype=object),
                    "email",
                    at_open[rows] + lag,
                    np.full(m, f"{name}-{day}", dtype=object),
                )
            )
    return _concat(parts), person_rows[clicked]
