"""The next best action for a customer in a contact, in memory and in microseconds.

Everything a decision reads is loaded before it is asked for: the catalogue, the customers'
profiles and recent offers (`profiles.load`), each offer's expected uplift per customer (the
learned model's scores, computed for every customer at load time) and the per-segment effects
measured so far. A decision is dictionary look-ups and the policy's rules; writing it is handed
to the record sink, which groups the writes of many decisions into one transaction.

Ranking: service actions that apply come first; when one must come first (explain the bill
before selling anything) no offer is made in that contact. Offers that pass the contact policy
and are expected to add at least their `min_uplift` of acceptance are ranked by expected
incremental value (uplift x value). A customer in an offer's control group (fixed by hashing
customer and offer) gets no offer; that is recorded as a control decision.
"""

from __future__ import annotations

import secrets
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

import orjson

from cxhub.analytics.offers.catalogue import Catalogue, Offer
from cxhub.analytics.offers.policy import Policy, in_control
from cxhub.services.offers import catalogue as catalogue_store
from cxhub.services.offers import profiles as profiles_mod
from cxhub.services.offers.learned import Learned, load_learned
from cxhub.warehouse import Warehouse

SOURCE = "cxhub-nba"
_REMEMBERED = 200_000  # recent decisions kept for their outcomes (older ones are read back)
# Nobody waits for a decision's rows (its answer is already given): they are written with the
# decisions of the next 50 ms, one commit rather than dozens (the sink). Longer makes each
# write longer, and requests wait for the interpreter while the writer converts the rows: at
# 5,000 decisions a second, 1 s gave a p99 of 12-39 ms, 0.05 s 4.6-5.3 ms (BENCHMARKS.md).
WRITE_LINGER_SECONDS = 0.05


@dataclass(frozen=True)
class Context:
    channel: str | None = None
    category: str | None = None
    cause: str | None = None
    sentiment: str | None = None
    contact_external_id: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"channel": self.channel, "category": self.category, "cause": self.cause,
                "sentiment": self.sentiment}


class Decided(NamedTuple):
    """A decision's rows for `offer_decisions` (offer code -> control).

    Only a dict of strings and booleans is remembered per decision: the garbage collector does
    not track such a dict, so the remembered decisions (up to `_REMEMBERED`) add nothing to
    its full collections. Kept as objects with a future each, they made those collections walk
    a few objects per decision, and under a stream of decisions each took hundreds of
    milliseconds (the slowest 1 % of decisions waited 0.5-0.9 s: BENCHMARKS.md).
    """

    decision_id: str
    rows: dict[str, bool]  # offer code -> control


@dataclass
class State:
    catalogue: Catalogue
    profiles: profiles_mod.Profiles
    learned: Learned


@dataclass
class Engine:
    wh: Warehouse
    policy: Policy = field(default_factory=Policy)
    state: State | None = None
    sink: Any = None  # a RecordSink; None writes nothing (dry runs, tests of the ranking)
    decided: OrderedDict[str, dict[str, bool]] = field(default_factory=OrderedDict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def refresh(self, now: datetime | None = None) -> State:
        """Read everything again (on start, then every few minutes, and after learning)."""
        cat = catalogue_store.load(self.wh)
        prof = profiles_mod.load(self.wh, now)
        learned = load_learned(self.wh, cat, prof)
        state = State(cat, prof, learned)
        with self._lock:
            if self.state is not None:  # offers made since the read began are kept
                for cid, items in self.state.profiles.recent.items():
                    since = tuple(x for x in items if prof.loaded_at and x[0] > prof.loaded_at)
                    if since:
                        prof.recent[cid] = prof.recent.get(cid, ()) + since
            self.state = state
        return state

    def reload_catalogue(self) -> None:
        """After a change to the catalogue: the new entries at once, profiles and models as
        they are (a new offer uses its prior until it is learned)."""
        cat = catalogue_store.load(self.wh)
        with self._lock:
            if self.state is not None:
                self.state = State(cat, self.state.profiles, self.state.learned)

    def decide(self, *, customer_source: str | None = None,
               customer_external_id: str | None = None, customer_id: int | None = None,
               context: Context = Context(), limit: int = 3, now: datetime | None = None,
               record: bool = True) -> dict[str, Any]:
        state = self.state or self.refresh()
        now = now or datetime.now()
        cid = state.profiles.resolve(customer_source, customer_external_id, customer_id)
        profile = state.profiles.by_id.get(cid) if cid is not None else None
        ctx = context.as_dict()
        recent = state.profiles.recent.get(cid, ()) if cid is not None else ()
        key = str(cid) if cid is not None else (
            f"{customer_source or ''}:{customer_external_id}" if customer_external_id else None)
        actions: list[dict[str, Any]] = []
        first: str | None = None
        for a in state.catalogue.actions:
            if not a.rules.failures(profile, ctx):
                actions.append({"kind": "service_action", "code": a.code, "title": a.title,
                                "description": a.description,
                                "reasons": _action_reasons(a.rules.lists, ctx)})
                first = first or (a.title if a.first else None)
        blocked = self.policy.customer_refusals(profile, ctx, recent, now)
        if first:
            blocked.append(f"the customer needs this first: {first}")
        offers: list[dict[str, Any]] = []
        refused: list[dict[str, Any]] = []
        held: list[dict[str, Any]] = []
        for offer in state.catalogue.offers:
            why = blocked + self.policy.offer_refusals(offer, profile, ctx, recent, now)
            uplift, basis = state.learned.uplift(offer, cid, profile)
            if not why and uplift < offer.min_uplift:
                why.append(f"expected uplift {uplift:+.1%} is below {offer.min_uplift:.0%} "
                           f"({basis})")
            if why:
                refused.append({"code": offer.code, "reasons": why})
                continue
            if in_control(key, offer.code, offer.control_share):
                held.append({"code": offer.code, "reasons": [
                    f"control group ({offer.control_share:.0%} of customers, fixed per "
                    "customer and offer): no offer, recorded to measure the offer's effect"]})
                continue
            offers.append(_offer_action(offer, uplift, basis, profile, ctx))
        offers.sort(key=lambda o: (-o["expected_value"], o["code"]))
        ranked = (actions + offers)[:max(limit, 0)]
        for i, item in enumerate(ranked, 1):
            item["rank"] = i
        made = [o for o in offers if o in ranked]
        decision_id = "nba-" + secrets.token_hex(8)
        out = {"decision_id": decision_id, "customer_id": cid, "known_customer": cid is not None,
               "decided_at": now.isoformat(timespec="milliseconds"), "actions": ranked,
               "control": held, "refused": refused}
        if record:
            self._record(out, made, held, customer_source, customer_external_id, context, now)
            with self._lock:
                if cid is not None and made:
                    recent_of = state.profiles.recent
                    recent_of[cid] = recent_of.get(cid, ()) + tuple(
                        (now, o["code"]) for o in made)
        return out

    def _record(self, out: dict[str, Any], made: list[dict[str, Any]],
                held: list[dict[str, Any]], source: str | None, ext: str | None,
                context: Context, now: datetime) -> None:
        did = out["decision_id"]
        base = {"source": SOURCE, "customer_source": source if ext else None,
                "customer_external_id": ext, "contact_external_id": context.contact_external_id,
                "presented_at": now}
        attrs = {"decision_id": did, "customer_id": out["customer_id"], **context.as_dict()}
        rows = [{**base, "external_id": f"{did}:{o['code']}", "offer_code": o["code"],
                 "control": False, "outcome": None, "revenue": None,
                 "attributes": _encoded({**attrs, "rank": o["rank"],
                                         "expected_uplift": o["expected_uplift"],
                                         "expected_value": o["expected_value"],
                                         "reasons": o["reasons"], "segment": o.get("segment")})}
                for o in made]
        rows += [{**base, "external_id": f"{did}:{h['code']}", "offer_code": h["code"],
                  "control": True, "outcome": None, "revenue": None,
                  "attributes": _encoded({**attrs, "reasons": h["reasons"]})} for h in held]
        if not rows:  # no offer at all: still on record, with why
            rows = [{**base, "external_id": f"{did}:none", "offer_code": "none", "control": False,
                     "outcome": "none", "revenue": None,
                     "attributes": _encoded({**attrs,
                                             "actions": [a["code"] for a in out["actions"]],
                                             "refused": out["refused"]})}]
        with self._lock:
            self.decided[did] = {r["offer_code"]: bool(r["control"]) for r in rows}
            while len(self.decided) > _REMEMBERED:
                self.decided.popitem(last=False)
        if self.sink is not None:
            self.sink.put("offer_decisions", rows, linger=WRITE_LINGER_SECONDS)

    def remembered(self, decision_id: str) -> Decided | None:
        with self._lock:
            rows = self.decided.get(decision_id)
        if rows is None:
            return None
        return Decided(decision_id, rows)

    def wait_written(self, timeout: float = 30) -> None:
        """Until the decisions made so far are in the table (before an outcome is recorded)."""
        if self.sink is not None:
            self.sink.flush(timeout)


def _encoded(attributes: dict[str, Any]) -> orjson.Fragment:
    """A row's `attributes` as the JSON the writer would make of them, made now: a row that
    holds only strings, numbers, times and this is a dict the garbage collector does not track,
    while the nested dicts and lists of reasons were walked by every young-generation
    collection while the rows waited for the writer (issue 14: 8-17 ms pauses, twice a second
    under 4,000 decisions a second)."""
    return orjson.Fragment(orjson.dumps(attributes))


def _action_reasons(lists: dict[str, frozenset[str]], ctx: dict[str, Any]) -> list[str]:
    said = [f"the contact's {k[:-1] if k != 'categories' else 'category'} is "
            f"{ctx.get(k[:-1] if k != 'categories' else 'category')}" for k in lists]
    return said or ["applies to every contact"]


def _offer_action(offer: Offer, uplift: float, basis: str, profile: dict[str, Any] | None,
                  ctx: dict[str, Any]) -> dict[str, Any]:
    reasons = [f"expected uplift {uplift:+.1%} in acceptance ({basis})",
               f"worth {offer.value:g} when accepted"]
    if ctx.get("channel") in offer.rules.lists.get("channels", ()):
        reasons.append(f"offered on {ctx['channel']}")
    if profile and offer.rules.lists.get("not_holding"):
        reasons.append("does not hold " + " or ".join(sorted(offer.rules.lists["not_holding"])))
    return {"kind": "offer", "code": offer.code, "title": offer.title,
            "description": offer.description, "product": offer.product, "value": offer.value,
            "expected_uplift": round(uplift, 4), "expected_value": round(uplift * offer.value, 2),
            "segment": profile.get("segment") if profile else None, "reasons": reasons}
