"""Social media mentions of the brand, the brand's replies and customers' follow-ups.

Product posts run at RELEASE_MULTIPLIER times normal during the faulty release (from the deploy
at RELEASE_HOUR to the rollback), as contacts do, so a listening spike detector has the same
truth to find.
"""

from __future__ import annotations

import numpy as np

from cxhub.simulate import rates as r
from cxhub.simulate.accounts import Accounts
from cxhub.simulate.demand import sample_days
from cxhub.simulate.identities import ids
from cxhub.simulate.people import FIRST, People, active_range
from cxhub.simulate.plan import Plan
from cxhub.simulate.texts import (
    INCIDENT_NONE,
    INCIDENT_RELEASE,
    INCIDENTS,
    brand_replies,
    mention_texts,
)

SOURCE = "social"
_PRODUCT = r.CAUSES.index("product")
_FOLLOW_UPS = np.array(
    ["Done, DM sent.", "Still waiting for a reply...", "Thanks, that sorted it.",
     "Any update on this?", "Sent you my details."], dtype=object
)  # fmt: skip


def mentions(
    people: People, acc: Accounts, plan: Plan, first: int, rng: np.random.Generator
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """(mentions table, truth) for a chunk; `first` numbers the posts."""
    lo, hi = active_range(people, plan.days)
    rate = r.MENTIONS_PER_CUSTOMER_YEAR * people.propensity
    per_year = plan.day_weight / 365
    person, day = sample_days(per_year, rate, lo, hi, rng)
    category = rng.choice(len(r.CATEGORIES), size=len(person), p=np.asarray(r.CATEGORY_MIX))
    cause = np.where(
        rng.random(len(person)) < r.MENTION_PRODUCT_SHARE,
        _PRODUCT,
        rng.choice(np.delete(np.arange(len(r.CAUSES)), _PRODUCT), size=len(person)),
    )
    w = np.zeros(plan.days)
    w[plan.events.release_day : min(plan.days, plan.events.release_end + 1)] = 1.0
    extra = (r.RELEASE_MULTIPLIER - 1) * r.MENTION_PRODUCT_SHARE
    p2, d2 = sample_days(per_year * w, rate * extra, lo, hi, rng)
    c2 = np.array([r.CATEGORIES.index(c) for c in ("problem", "complaint")])[
        rng.integers(0, 2, len(p2))
    ]
    person = np.concatenate([person, p2])
    day = np.concatenate([day, d2])
    category = np.concatenate([category, c2])
    cause = np.concatenate([cause, np.full(len(p2), _PRODUCT)])
    incident = np.concatenate(
        [np.full(len(day) - len(p2), INCIDENT_NONE), np.full(len(p2), INCIDENT_RELEASE)]
    )
    created = plan.day_start_s(day) + rng.integers(7 * 3600, 24 * 3600, len(person))
    # The release's posts were drawn over every day its window touches: keep those inside it.
    deploy, rollback = plan.release_window_s
    keep = (incident != INCIDENT_RELEASE) | ((created >= deploy) & (created < rollback))
    # The permanent fix quiets its cause's posts as it does its contacts.
    fixed = (cause == r.CAUSES.index(r.FIX_CAUSE)) & (
        created >= plan.day_start_s(plan.events.fix_day)
    )
    keep &= ~(fixed & (rng.random(len(person)) < plan.fix_effect))
    kept = np.flatnonzero(keep)
    order = kept[np.argsort(created[kept], kind="stable")]
    n = len(order)
    person, created, category, cause, incident = (
        a[order] for a in (person, created, category, cause, incident)
    )
    post_id = ids("SM", np.arange(first, first + n), 10)
    handle = _handles(people, person)
    known = rng.random(n) < 0.35  # the CRM has the customer's handle
    platform = np.array(r.PLATFORMS, dtype=object)[
        rng.choice(len(r.PLATFORMS), n, p=np.asarray(r.PLATFORM_SHARE))
    ]

    reply_rows = np.flatnonzero(rng.random(n) < r.BRAND_REPLY_RATE)
    lag = (
        rng.lognormal(np.log(r.BRAND_REPLY_MEDIAN_MIN), 1.0, len(reply_rows))
        * 60
        * plan.load[day[order][reply_rows]]
    ).astype(np.int64)
    reply_at = created[reply_rows] + 30 + lag
    follow_rows = reply_rows[rng.random(len(reply_rows)) < r.FOLLOW_UP_RATE]
    follow_at = reply_at[np.searchsorted(reply_rows, follow_rows)] + rng.integers(
        300, 6 * 3600, len(follow_rows)
    )
    reply_id = post_id[reply_rows] + "-R"
    first_response = np.full(n, -1, dtype=np.int64)
    first_response[reply_rows] = reply_at

    # Only handles the CRM holds name a customer; the other posts stay anonymous.
    cust_s = np.full(n, None, dtype=object)
    cust_s[known] = "crm"
    cust_i = np.full(n, None, dtype=object)
    cust_i[known] = acc.crm[person][known]
    none = np.full(n, None, dtype=object)
    posts = {
        "source": np.full(n, SOURCE, dtype=object),
        "external_id": post_id,
        "customer_source": cust_s,
        "customer_external_id": cust_i,
        "platform": platform,
        "author": handle,
        "brand": np.full(n, r.BRAND_HANDLE, dtype=object),
        "inbound": np.ones(n, dtype=bool),
        "created_at": created,
        "text": mention_texts(category, cause, incident, rng),
        "in_reply_to": none,
        "thread_id": post_id,
        "first_response_at": first_response,
        "first_response_seconds": np.where(first_response >= 0, first_response - created, -1),
    }
    m = len(reply_rows)
    replies = {
        **{k: v[reply_rows] for k, v in posts.items()},
        "external_id": reply_id,
        "customer_source": np.full(m, None, dtype=object),
        "customer_external_id": np.full(m, None, dtype=object),
        "author": np.full(m, r.BRAND_HANDLE, dtype=object),
        "inbound": np.zeros(m, dtype=bool),
        "created_at": reply_at,
        "text": brand_replies(category[reply_rows], rng),
        "in_reply_to": post_id[reply_rows],
        "first_response_at": np.full(m, -1),
        "first_response_seconds": np.full(m, -1),
    }
    f = len(follow_rows)
    follow = {
        **{k: v[follow_rows] for k, v in posts.items()},
        "external_id": post_id[follow_rows] + "-F",
        "created_at": follow_at,
        "text": _FOLLOW_UPS[rng.integers(0, len(_FOLLOW_UPS), f)],
        "in_reply_to": post_id[follow_rows] + "-R",
        "first_response_at": np.full(f, -1),
        "first_response_seconds": np.full(f, -1),
    }
    table = {k: np.concatenate([posts[k], replies[k], follow[k]]) for k in posts}
    keep = table["created_at"] < plan.day_start_s(plan.days)
    table = {k: v[keep] for k, v in table.items()}
    fr = table["first_response_at"] >= plan.day_start_s(plan.days)
    table["first_response_at"][fr] = -1
    table["first_response_seconds"][fr] = -1
    truth = {
        "source": np.full(n, SOURCE, dtype=object),
        "external_id": post_id,
        "category": np.array(r.CATEGORIES, dtype=object)[category],
        "cause": np.array(r.CAUSES, dtype=object)[cause],
        "incident": np.array(INCIDENTS, dtype=object)[incident],
    }
    return table, truth


def _handles(people: People, person: np.ndarray) -> np.ndarray:
    first = np.char.lower(FIRST[people.first[person]].astype(str)).astype(object)
    last = np.char.lower(np.char.replace(people.last[person].astype(str), " ", "")).astype(object)
    handle: np.ndarray = (
        "@" + first + "_" + last + (people.index[person] % 97).astype(str).astype(object)
    )
    return handle
