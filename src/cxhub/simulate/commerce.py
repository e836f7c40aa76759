"""Products held, sales orders, and billing: monthly invoices, payments, and refunds.

The billing fault doubles the invoices of affected accounts while it lasts; the fix refunds
the extra half, so the planted problem is visible in the money as well as in the contacts.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np

from cxhub.simulate import rates as r
from cxhub.simulate.accounts import Accounts
from cxhub.simulate.identities import ids
from cxhub.simulate.lifecycle import NONE
from cxhub.simulate.people import People, active_range
from cxhub.simulate.plan import DAY, Plan

PRODUCTS = {
    "BB-FIBRE-100": 30.0, "BB-FIBRE-500": 40.0, "BB-FIBRE-900": 55.0, "MOB-SIM-10GB": 10.0,
    "MOB-SIM-UNL": 20.0, "TV-BASIC": 12.0, "TV-SPORT": 25.0, "LANDLINE": 8.0,
}  # fmt: skip
_NAMES = np.array(list(PRODUCTS), dtype=object)
_PRICE = np.array(list(PRODUCTS.values()))
_P = {name: i for i, name in enumerate(PRODUCTS)}
_MOBILE = np.array([name.startswith("MOB") for name in PRODUCTS])


@dataclass
class Holdings:
    person: np.ndarray
    product: np.ndarray  # index into PRODUCTS
    started: np.ndarray  # epoch seconds
    ended: np.ndarray  # epoch seconds or NONE
    slot: np.ndarray  # distinguishes a customer's holdings in the id
    ordered: np.ndarray  # bought during the period (written as a sales order too)


def base_holdings(people: People, plan: Plan, rng: np.random.Generator) -> Holdings:
    n = len(people)
    since = plan.day_start_s(people.since_day) + rng.integers(9 * 3600, 19 * 3600, n)
    ended = np.where(
        people.churn_day < plan.days, plan.day_start_s(people.churn_day) + 12 * 3600, NONE
    )
    tier = rng.choice(3, size=n, p=(0.5, 0.35, 0.15))
    parts = [
        (rng.random(n) < 0.9, tier),  # broadband
        (rng.random(n) < 0.6, np.where(rng.random(n) < 0.6, _P["MOB-SIM-10GB"], _P["MOB-SIM-UNL"])),
        (rng.random(n) < 0.3, np.where(rng.random(n) < 0.7, _P["TV-BASIC"], _P["TV-SPORT"])),
        (rng.random(n) < 0.25, np.full(n, _P["LANDLINE"])),
    ]
    person, product, slot = [], [], []
    for k, (has, prod) in enumerate(parts):
        rows = np.flatnonzero(has | ((k == 0) & ~parts[1][0]))  # everyone holds something
        person.append(rows)
        product.append(prod[rows])
        slot.append(np.full(len(rows), k))
    p = np.concatenate(person)
    return Holdings(
        person=p,
        product=np.concatenate(product),
        started=since[p],
        ended=ended[p],
        slot=np.concatenate(slot),
        ordered=people.since_day[p] >= 0,
    )


def added_holdings(
    people: People,
    person: np.ndarray,
    product: np.ndarray,
    at: np.ndarray,
    slot: np.ndarray,
    plan: Plan,
) -> Holdings:
    """Products bought during the period (offers taken, campaign upgrades); they end with the
    customer's other products if the customer leaves."""
    churn = people.churn_day[person]
    ended = np.where(churn < plan.days, plan.day_start_s(churn) + 12 * 3600, NONE)
    return Holdings(
        person=person,
        product=product,
        started=at,
        ended=np.where(ended > at, ended, NONE),
        slot=slot,
        ordered=np.ones(len(person), dtype=bool),
    )


def product_index(name: str) -> int:
    return _P[name]


def concat_holdings(*parts: Holdings) -> Holdings:
    return Holdings(
        *(np.concatenate([getattr(p, f) for p in parts]) for f in Holdings.__dataclass_fields__)
    )


# Minimum terms in months, by product family: broadband and TV on 12, 18 or 24 months,
# mobile on 12 or 24, the landline rolling monthly (none).
_TERMS = {"BB": (12, 18, 24), "TV": (12, 18, 24), "MOB": (12, 24), "LANDLINE": ()}
_MONTH_S = 30.4375 * DAY


def _terms(h: Holdings, people: People, end_s: int) -> np.ndarray:
    """`attributes` of each holding: its minimum term, and for one still held at the end of
    the simulation, the end of the term it is in then (`contract_end`, a date): a customer
    re-contracts at each term's end. The term comes from the holding's id, not the random
    stream, so adding it left every other column as it was."""
    out = np.full(len(h.person), None, dtype=object)
    key = people.index[h.person] * 100 + h.slot
    for i in range(len(out)):
        name = _NAMES[h.product[i]]
        terms = _TERMS[name] if name in _TERMS else _TERMS[name.split("-")[0]]
        if not terms:
            continue
        months = terms[int(key[i]) % len(terms)]
        attrs: dict[str, object] = {"term_months": months}
        if h.ended[i] == NONE:
            length = months * _MONTH_S
            done = max(0, int(np.ceil((end_s - h.started[i]) / length)))
            ends = int(h.started[i] + max(done, 1) * length)
            attrs["contract_end"] = np.datetime64(ends, "s").astype("datetime64[D]").item() \
                .isoformat()
        out[i] = json.dumps(attrs)
    return out


def holdings_table(h: Holdings, people: People, acc: Accounts,
                   end_s: int) -> dict[str, np.ndarray]:
    n = len(h.person)
    return {
        "source": np.full(n, "sales", dtype=object),
        "external_id": ids("H", people.index[h.person] * 100 + h.slot, width=10),
        "customer_source": np.full(n, "sales", dtype=object),
        "customer_external_id": acc.sales[h.person],
        "product": _NAMES[h.product],
        "started_at": h.started,
        "ended_at": h.ended,
        "monthly_amount": _PRICE[h.product],
        "attributes": _terms(h, people, end_s),
    }


def orders_table(
    h: Holdings, people: People, acc: Accounts, rng: np.random.Generator
) -> dict[str, np.ndarray]:
    rows = np.flatnonzero(h.ordered)
    setup = np.where(h.product[rows] <= _P["BB-FIBRE-900"], 29.99, 0.0)
    n = len(rows)
    return {
        "source": np.full(n, "sales", dtype=object),
        "external_id": ids("O", people.index[h.person[rows]] * 100 + h.slot[rows], width=10),
        "customer_source": np.full(n, "sales", dtype=object),
        "customer_external_id": acc.sales[h.person[rows]],
        "kind": np.full(n, "order", dtype=object),
        # One order per customer and day: the products a customer signs up for together
        # are ordered together (BG/NBD counted orders spread over days as repeat purchases).
        "occurred_at": h.started[rows] - rng.integers(600, 3 * DAY, len(people))[h.person[rows]],
        "product": _NAMES[h.product[rows]],
        "quantity": np.ones(n),
        "amount": _PRICE[h.product[rows]] + setup,
        "currency": np.full(n, r.CURRENCY, dtype=object),
    }


def billing_table(
    h: Holdings,
    people: People,
    acc: Accounts,
    affected: np.ndarray,
    plan: Plan,
    rng: np.random.Generator,
) -> dict[str, np.ndarray]:
    """Invoices on each account's billing day, the payments against them, and the refunds."""
    lo, hi = active_range(people, plan.days)
    has_mobile_account = acc.billing_mobile != None  # noqa: E711 (elementwise)
    month_day = np.array([plan.date_of(d).day for d in range(plan.days)])
    cycle = 1 + people.index % 28
    person_parts, day_parts = [], []
    for c in range(1, 29):
        who = np.flatnonzero(cycle == c)
        bill_days = np.flatnonzero(month_day == c)
        grid = (bill_days[None, :] >= lo[who, None]) & (bill_days[None, :] < hi[who, None])
        pi, di = np.nonzero(grid)
        person_parts.append(who[pi])
        day_parts.append(bill_days[di])
    person = np.concatenate(person_parts)
    day = np.concatenate(day_parts)
    at = plan.day_start_s(day) + 2 * 3600

    mobile = _MOBILE[h.product] & has_mobile_account[h.person]
    main = np.bincount(h.person[~mobile], _PRICE[h.product[~mobile]], minlength=len(people))
    mob = np.bincount(h.person[mobile], _PRICE[h.product[mobile]], minlength=len(people))
    amount = main[person] + rng.gamma(0.5, 4.0, len(person)).round(2)  # calls and extras
    ev = plan.events
    doubled = affected[person] & (day >= ev.billing_start) & (day < ev.billing_fix)
    amount = np.where(doubled, amount * 2, amount)
    account = acc.billing[person]
    second = np.flatnonzero(has_mobile_account[person] & (mob[person] > 0))
    account = np.concatenate([account, acc.billing_mobile[person[second]]])
    amount = np.concatenate([amount, mob[person[second]]])
    at = np.concatenate([at, at[second]])
    base_num = people.index[person] * 10_000 + day
    inv_num = np.concatenate([base_num, base_num[second] + 10**12])  # the mobile account's bill
    doubled = np.concatenate([doubled, np.zeros(len(second), dtype=bool)])

    # Payments: mostly direct debit ten days on, some by hand, a few late or never.
    n = len(account)
    u = rng.random(n)
    by_hand = rng.integers(3, 26, n) * DAY
    late = rng.integers(30, 61, n) * DAY
    delay = np.where(u < 0.8, 10 * DAY, np.where(u < 0.97, by_hand, late))
    paid_at = at + delay + rng.integers(0, 8 * 3600, n)
    horizon = plan.day_start_s(plan.days)
    paid = (paid_at < horizon) & (rng.random(n) > 0.01)
    refund_rows = np.flatnonzero(doubled)
    refund_at = plan.day_start_s(ev.billing_fix) + rng.integers(0, 5 * DAY, len(refund_rows))
    keep_refund = refund_at < horizon
    refund_rows, refund_at = refund_rows[keep_refund], refund_at[keep_refund]

    kinds = (
        ("invoice", "INV", np.arange(n), at, amount),
        ("payment", "PAY", np.flatnonzero(paid), paid_at[paid], amount[paid]),
        ("refund", "RF", refund_rows, refund_at, -(amount[refund_rows] / 2).round(2)),
    )
    cols: dict[str, list[np.ndarray]] = {}
    for kind, prefix, rows, when, money in kinds:
        m = len(rows)
        part = {
            "source": np.full(m, "billing", dtype=object),
            "external_id": ids(prefix, inv_num[rows], width=14),
            "customer_source": np.full(m, "billing", dtype=object),
            "customer_external_id": account[rows],
            "kind": np.full(m, kind, dtype=object),
            "occurred_at": when,
            "product": np.full(m, "monthly_bill", dtype=object),
            "amount": np.round(money, 2),
            "currency": np.full(m, r.CURRENCY, dtype=object),
        }
        for k, v in part.items():
            cols.setdefault(k, []).append(v)
    out = {k: np.concatenate(v) for k, v in cols.items()}
    order = np.argsort(out["occurred_at"], kind="stable")
    return {k: v[order] for k, v in out.items()}
