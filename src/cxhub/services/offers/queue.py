"""The next best action for the contact an agent is handling: the contact's own context (its
channel, and the category, cause and sentiment it was labelled with) and one decision per
contact, kept for half an hour so that reloading the queue does not decide again."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from typing import Any

from cxhub.services.offers.engine import Context, Engine
from cxhub.warehouse import Warehouse

KEEP_SECONDS = 1800.0


def contact_context(wh: Warehouse, contact_id: int) -> tuple[dict[str, Any], Context] | None:
    row = wh.read_one("""
        SELECT c.source, c.external_id, coalesce(c.customer_source, c.source),
          c.customer_external_id, c.channel, coalesce(cl.category, c.category),
          coalesce(cl.cause, c.cause), cl.sentiment
        FROM contacts c LEFT JOIN current_labels cl
          ON cl.target = 'contacts' AND cl.target_id = c.contact_id
        WHERE c.contact_id = ?""", [contact_id])
    if row is None:
        return None
    source, ext, csource, cext, channel, category, cause, sentiment = row
    who = {"customer_source": csource if cext else None, "customer_external_id": cext}
    return who, Context(channel, category, cause, sentiment, ext)


class ContactDecisions:
    def __init__(self) -> None:
        self._by_contact: OrderedDict[int, tuple[float, dict[str, Any]]] = OrderedDict()
        self._lock = threading.Lock()

    def decide(self, engine: Engine, contact_id: int) -> dict[str, Any] | None:
        now = time.monotonic()
        with self._lock:
            kept = self._by_contact.get(contact_id)
            if kept and now - kept[0] < KEEP_SECONDS:
                return kept[1]
        found = contact_context(engine.wh, contact_id)
        if found is None:
            return None
        who, ctx = found
        decision = engine.decide(context=ctx, **who)
        decision["outcomes"] = {}
        with self._lock:
            self._by_contact[contact_id] = (now, decision)
            while len(self._by_contact) > 10_000:
                self._by_contact.popitem(last=False)
        return decision

    def outcome(self, decision_id: str, code: str, outcome: str) -> None:
        with self._lock:
            for _, d in self._by_contact.values():
                if d["decision_id"] == decision_id:
                    d["outcomes"][code] = outcome
