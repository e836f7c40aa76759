"""Simulate the company: chunk by chunk of customers, every system's exports and the truth.

Chunks have a fixed size and each draws from its own generator (seed, chunk, purpose), so the
files are the same byte for byte for a seed whatever the machine, and memory stays flat however
many customers there are.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

from cxhub.domain.canonical import RECORD_KINDS
from cxhub.simulate import rates as r
from cxhub.simulate.accounts import make_accounts, person_records
from cxhub.simulate.commerce import (
    added_holdings,
    base_holdings,
    billing_table,
    concat_holdings,
    holdings_table,
    orders_table,
    product_index,
)
from cxhub.simulate.contact_tables import contact_ids, contact_tables
from cxhub.simulate.demand import billing_affected, make_demand
from cxhub.simulate.journeys import app_touchpoints, deliveries, email_engagement, web_touchpoints
from cxhub.simulate.lifecycle import make_lifecycle
from cxhub.simulate.offers import CODES, offer_decisions
from cxhub.simulate.people import make_people
from cxhub.simulate.plan import DAY, Plan, make_plan, rng_for
from cxhub.simulate.social import mentions
from cxhub.simulate.surveys import nps_surveys, post_contact_surveys
from cxhub.simulate.truth import events_truth
from cxhub.simulate.version import SIMULATOR_VERSION
from cxhub.simulate.workforce import CALENDAR_SOURCE, ROSTER_SOURCE, Tally, write_planning_files
from cxhub.simulate.writer import TableSink, write_json

Progress = Callable[[str, int, int], None]
# One generator stream per purpose, so changing one part of the model leaves the others' draws.
PEOPLE, PROSPECTS, ACCOUNTS, RECORDS, DEMAND, LIFECYCLE, CONTACTS, SURVEYS, OFFERS = range(1, 10)
COMMERCE, JOURNEYS, SOCIAL = range(10, 13)


def _occurrence(person: np.ndarray) -> np.ndarray:
    """0, 1, 2 ... for each person's successive rows (rows need not be grouped)."""
    order = np.argsort(person, kind="stable")
    sorted_p = person[order]
    starts = np.r_[0, np.flatnonzero(np.diff(sorted_p)) + 1]
    rank = np.arange(len(person)) - np.repeat(starts, np.diff(np.r_[starts, len(person)]))
    out = np.empty(len(person), dtype=np.int64)
    out[order] = rank
    return out


class _Counters:
    """Running numbers for ids that are not derived from the customer number."""

    def __init__(self) -> None:
        self.contact = 1
        self.web = 1
        self.mention = 1


def _chunk(
    plan: Plan, sink: TableSink, k: int, start: int, n: int, ctr: _Counters, tally: Tally
) -> dict[str, Any]:
    seed = plan.seed
    people = make_people(plan, start, n, rng_for(seed, k, PEOPLE))
    n_prospects = round(r.CHUNK_CUSTOMERS * r.PROSPECT_RATE)
    prospects = make_people(
        plan,
        plan.customers + k * n_prospects,
        round(n * r.PROSPECT_RATE),
        rng_for(seed, k, PROSPECTS),
    )
    acc = make_accounts(people, rng_for(seed, k, ACCOUNTS))
    records, identity = person_records(people, acc, prospects, plan, rng_for(seed, k, RECORDS))
    for system in ("crm", "billing", "marketing", "sales"):
        sink.write(system, "source_records", records[system])
    sink.write_truth("identities", identity)

    rng = rng_for(seed, k, DEMAND)
    affected = billing_affected(people, plan, rng)
    demand = make_demand(people, plan, affected, rng)
    lc = make_lifecycle(demand, plan, rng_for(seed, k, LIFECYCLE))
    tally.add(demand, lc)
    cid = contact_ids(ctr.contact, len(demand))
    ctr.contact += len(demand)
    rng = rng_for(seed, k, CONTACTS)
    contacts, events, truth = contact_tables(demand, lc, people, acc, cid, rng)
    sink.write("contact_centre", "contacts", contacts)
    sink.write("contact_centre", "contact_events", events)
    sink.write_truth("contacts", truth)
    link = (contacts["customer_source"], contacts["customer_external_id"])

    rng = rng_for(seed, k, SURVEYS)
    sink.write(
        "contact_centre", "surveys", post_contact_surveys(demand, lc, people, cid, link, plan, rng)
    )
    sink.write(
        "marketing", "surveys", nps_surveys(demand, lc, people, acc.crm, affected, plan, rng)
    )
    decisions, o_person, o_code, o_at = offer_decisions(
        demand, lc, people, cid, link, rng_for(seed, k, OFFERS)
    )
    sink.write("contact_centre", "offer_decisions", decisions)

    rng = rng_for(seed, k, JOURNEYS)
    known = np.flatnonzero(acc.marketing != None)  # noqa: E711 (elementwise)
    emails, clicked = email_engagement(acc.marketing[known], known, plan, rng)
    sink.write("marketing", "touchpoints", emails)
    prospect_ids = records["marketing"]["external_id"][len(known) :]
    p_emails, _ = email_engagement(prospect_ids, np.arange(len(prospect_ids)), plan, rng)
    sink.write("marketing", "touchpoints", p_emails)
    web = web_touchpoints(people, acc, demand, plan, ctr.web, rng)
    ctr.web += len(web["external_id"]) + 10**6  # leaves room: the count is after filtering
    sink.write("web", "touchpoints", web)
    sink.write("app", "touchpoints", app_touchpoints(people, acc, plan, rng))
    sink.write("logistics", "touchpoints", deliveries(people, acc, plan, rng))

    rng = rng_for(seed, k, COMMERCE)
    holdings = base_holdings(people, plan, rng)
    products = np.array([product_index(r.OFFERS[c][0]) for c in CODES])
    # Campaign upgrades: some of those who clicked order the faster broadband.
    ev = plan.events
    buyers = clicked[rng.random(len(clicked)) < r.CAMPAIGN_ORDER_RATE]
    buy_day = rng.integers(ev.campaign_start, min(plan.days, ev.campaign_end + 7), len(buyers))
    alive = (buy_day >= people.since_day[buyers]) & (buy_day < people.churn_day[buyers])
    buyers, buy_day = buyers[alive], buy_day[alive]
    extra_person = np.concatenate([o_person, buyers])
    extra = added_holdings(
        people,
        extra_person,
        np.concatenate([products[o_code], np.full(len(buyers), product_index("BB-FIBRE-500"))]),
        np.concatenate(
            [o_at, plan.day_start_s(buy_day) + rng.integers(9 * 3600, 21 * 3600, len(buyers))]
        ),
        10 + np.minimum(_occurrence(extra_person), 89),
        plan,
    )
    holdings = concat_holdings(holdings, extra)
    sink.write("sales", "holdings", holdings_table(holdings, people, acc,
                                                   int(plan.day_start_s(plan.days))))
    sink.write("sales", "transactions", orders_table(holdings, people, acc, rng))
    sink.write("billing", "transactions", billing_table(holdings, people, acc, affected, plan, rng))

    table, mtruth = mentions(people, acc, plan, ctr.mention, rng_for(seed, k, SOCIAL))
    ctr.mention += len(mtruth["external_id"])
    sink.write("social", "mentions", table)
    sink.write_truth("mentions", mtruth)

    churned = np.flatnonzero(people.churn_day < plan.days)
    sink.write_truth(
        "churn",
        {
            "person_id": people.person_id[churned],
            "crm_external_id": acc.crm[churned],
            "churn_date": np.array(
                [str(plan.date_of(d)) for d in people.churn_day[churned]], dtype=object
            ),
        },
    )
    return {"affected": int(affected.sum()), "campaign_buyers": int(len(buyers))}


def simulate(
    out_dir: Path,
    *,
    customers: int = 50_000,
    days: int = 365,
    seed: int = 42,
    start: date = date(2025, 11, 1),
    fix_effect: float = r.FIX_EFFECT,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Write the company's exports to `out_dir` and return a summary (files and row counts)."""
    if customers < 1 or days < 28:
        raise ValueError("simulate needs at least 1 customer and 28 days")
    if not 0.0 <= fix_effect < 1.0:
        raise ValueError(f"fix effect {fix_effect} must be at least 0 and below 1")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    plan = make_plan(seed=seed, customers=customers, start=start, days=days,
                     fix_effect=fix_effect)
    sink = TableSink(out_dir)
    ctr = _Counters()
    tally = Tally(days)
    affected = 0
    chunks = range(0, customers, r.CHUNK_CUSTOMERS)
    for k, first in enumerate(chunks):
        n = min(r.CHUNK_CUSTOMERS, customers - first)
        stats = _chunk(plan, sink, k, first, n, ctr, tally)
        affected += stats["affected"]
        if progress:
            progress("customers", first + n, customers)
    manifest = sink.close()
    planning = write_planning_files(out_dir, plan, tally)
    manifest += _planning_entries(planning)
    write_json(out_dir / "manifest.json", manifest)
    write_json(out_dir / "truth" / "events.json", events_truth(plan, affected))
    options = {"customers": customers, "days": days, "seed": seed, "start": start.isoformat(),
               "fix_effect": fix_effect}
    write_json(out_dir / "simulation.json", {"simulator_version": SIMULATOR_VERSION, **options})
    return {
        "out_dir": str(out_dir),
        "customers": customers,
        "days": days,
        "seed": seed,
        "start": start.isoformat(),
        "fix_effect": fix_effect,
        "files": manifest,
        "planning": {**planning, "opening_hours.yaml": None},
        "truth": {name: rows for name, rows in sorted(sink.truth_rows.items())},
        "events": events_truth(plan, affected),
    }


def _planning_entries(rows: dict[str, int]) -> list[dict[str, object]]:
    """Manifest entries for the planning files whose record kind the warehouse knows (the
    kinds are added as the product learns to load them; until then the files are written
    and left out of the manifest, which lists only what loads)."""
    entries = []
    for path, kind, source in (("calendar.csv", "calendar_events", CALENDAR_SOURCE),
                               ("roster.csv", "rosters", ROSTER_SOURCE)):
        if kind in RECORD_KINDS:
            entries.append({"kind": kind, "source": source, "path": path, "rows": rows[path]})
    return entries


__all__ = ["simulate", "DAY"]
