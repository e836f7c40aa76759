"""Which systems know each customer, under which ids, and their person records."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cxhub.simulate import identities as idn
from cxhub.simulate import rates as r
from cxhub.simulate.people import People
from cxhub.simulate.plan import Plan


@dataclass
class Accounts:
    crm: np.ndarray
    crm_duplicate: np.ndarray  # the second CRM id, or None
    billing: np.ndarray
    billing_mobile: np.ndarray  # a second billing account for mobile, or None
    sales: np.ndarray
    marketing: np.ndarray  # or None when marketing does not know the customer


def make_accounts(people: People, rng: np.random.Generator) -> Accounts:
    n, index = len(people), people.index
    dup = rng.random(n) < r.CRM_DUPLICATE_RATE
    second = rng.random(n) < r.SECOND_BILLING_ACCOUNT_RATE
    known = rng.random(n) < r.MARKETING_COVERAGE
    none = np.full(n, None, dtype=object)
    return Accounts(
        crm=idn.crm_ids(index),
        crm_duplicate=np.where(dup, idn.crm_duplicate_ids(index), none),
        billing=idn.billing_ids(index),
        billing_mobile=np.where(second, idn.second_billing_ids(index), none),
        sales=idn.sales_ids(index),
        marketing=np.where(known, idn.marketing_ids(index), none),
    )


def person_records(
    people: People, acc: Accounts, prospects: People, plan: Plan, rng: np.random.Generator
) -> tuple[dict[str, dict[str, np.ndarray]], dict[str, np.ndarray]]:
    """source_records per system, and the identity truth (source, external_id, person_id)."""
    out: dict[str, list[dict[str, np.ndarray]]] = {}
    truth: list[tuple[str, np.ndarray, np.ndarray]] = []

    def add(system: str, src: People, rows: np.ndarray, ids: np.ndarray) -> None:
        cols = idn.record_columns(src, rows, system, ids, plan, rng)
        out.setdefault(system, []).append(cols)
        truth.append((system, ids, src.person_id[rows]))

    everyone = np.arange(len(people))
    add("crm", people, everyone, acc.crm)
    dup = np.flatnonzero(acc.crm_duplicate != None)  # noqa: E711 (elementwise)
    add("crm", people, dup, acc.crm_duplicate[dup])
    add("billing", people, everyone, acc.billing)
    mobile = np.flatnonzero(acc.billing_mobile != None)  # noqa: E711
    add("billing", people, mobile, acc.billing_mobile[mobile])
    add("sales", people, everyone, acc.sales)
    known = np.flatnonzero(acc.marketing != None)  # noqa: E711
    add("marketing", people, known, acc.marketing[known])
    add("marketing", prospects, np.arange(len(prospects)), idn.marketing_ids(prospects.index))

    tables = {}
    for system, parts in out.items():
        keys = [k for k in parts[0] if all(k in p for p in parts)]
        tables[system] = {k: np.concatenate([p[k] for p in parts]) for k in keys}
    identity = {
        "source": np.concatenate([np.full(len(i), s, dtype=object) for s, i, _ in truth]),
        "external_id": np.concatenate([i for _, i, _ in truth]),
        "person_id": np.concatenate([p for _, _, p in truth]),
    }
    return tables, identity


def customer_link(
    person: np.ndarray,
    channel_anonymous: np.ndarray,
    acc: Accounts,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """(customer_source, customer_external_id) as an agent or form would capture them: usually
    the CRM id looked up, sometimes the billing account quoted, sometimes nothing."""
    n = len(person)
    u = rng.random(n)
    crm = acc.crm[person]
    dup = acc.crm_duplicate[person]
    # An agent who finds two CRM records picks one of them.
    use_dup = (dup != None) & (rng.random(n) < 0.3)  # noqa: E711
    crm = np.where(use_dup, dup, crm)
    by_billing = u < r.BILLING_ID_SHARE
    source = np.where(by_billing, "billing", "crm").astype(object)
    ext = np.where(by_billing, acc.billing[person], crm)
    anonymous = rng.random(n) < channel_anonymous
    source[anonymous] = None
    ext[anonymous] = None
    return source, ext
