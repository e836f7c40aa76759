"""The demo company keeps working while you watch: new contacts arrive, wait, get answered.

Only `cxhub demo` starts this. Every few seconds it creates contacts at the demo company's
rate for the current hour (the arrival shape measured from a real call centre), queues them,
and answers, resolves or abandons them with the measured service times and patience, all
through the same record sink as the REST API. Contacts carry source `demo-live`.
"""

from __future__ import annotations

import math
import random
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np

from cxhub.ingest.sink import RecordSink
from cxhub.simulate import calibration as cal
from cxhub.simulate import rates as r
from cxhub.simulate.texts import INCIDENT_NONE, contact_texts
from cxhub.simulate.week import hourly_factor
from cxhub.warehouse import Warehouse

AGENT_CALL_SHARE = 1 / 3  # answered calls and chats the demo agent handles (see LiveFeed)
_CHANNEL_MIX = {"phone": 0.55, "chat": 0.2, "email": 0.15, "web": 0.05, "social": 0.05}


@dataclass
class _Waiting:
    external_id: str
    channel: str
    created: datetime
    answer_at: datetime
    abandons: bool
    # Contacts in the demo agent's queue: answered first, resolved only this much later.
    resolve_later: timedelta | None = None
    answered: bool = False  # only its resolution is left


class LiveFeed:
    def __init__(self, sink: RecordSink, *, contacts_per_day: float = 800.0,
                 tick_seconds: float = 3.0, seed: int | None = None, agent: str | None = None,
                 customers: Sequence[tuple[str, str]] = ()) -> None:
        """`agent`: written contacts (e-mail, web forms) are assigned to this agent (the demo's
        login) and stay open 20-90 minutes after their first answer, and so do a third of the
        calls and chats answered, for 5-25 minutes of handling, so that its queue, and the
        offers shown beside the call in hand, hold something to look at. `customers`: (source,
        external id) of known customers, one drawn for each new contact, so that the offers are
        chosen for a real profile rather than for an unknown caller."""
        self._agent = agent
        self._customers = list(customers)
        self._sink = sink
        self._per_day = contacts_per_day
        self._tick = tick_seconds
        self._rng = random.Random(seed)
        self._np_rng = np.random.default_rng(seed)
        self._waiting: list[_Waiting] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="cxhub-live-feed", daemon=True)
        self._n = 0
        self._since: datetime | None = None

    @classmethod
    def for_demo(cls, sink: RecordSink, wh: Warehouse) -> LiveFeed:
        """The feed `cxhub demo` serves with: its written contacts in the demo login's queue,
        its callers drawn from 2,000 of the company's CRM customers."""
        from cxhub.services.demo.run import DEMO_USER

        customers = [(str(s), str(e)) for s, e in wh.read(
            "SELECT source, external_id FROM (SELECT source, external_id FROM customer_links "
            "WHERE source = 'crm') USING SAMPLE reservoir(2000 ROWS) REPEATABLE (7)")]
        return cls(sink, agent=DEMO_USER, customers=customers)

    def start(self, *, since: datetime | None = None) -> None:
        """Start ticking; with `since`, first fill the time from then to now (the gap between
        the simulated year, which ends at midnight, or the last run, and the moment the demo
        starts), so the live figures never show an empty stretch."""
        self._since = since
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def backfill(self, since: datetime, until: datetime, step_seconds: int = 60) -> None:
        at = since.replace(microsecond=0) + timedelta(seconds=step_seconds)
        while at <= until and not self._stop.is_set():
            self.step(at, seconds=step_seconds)
            at += timedelta(seconds=step_seconds)

    def _run(self) -> None:
        if self._since is not None:
            try:
                self.backfill(self._since, datetime.now(UTC).replace(tzinfo=None))
            except Exception:  # the live ticks matter more than the gap
                pass
        while not self._stop.wait(self._tick):
            try:
                self.step(datetime.now(UTC).replace(tzinfo=None, microsecond=0))
            except Exception:  # a failed tick must not stop the demo; the next one retries
                continue

    def _poisson(self, mean: float) -> int:
        # Knuth's method is fine for the small means of one tick.
        limit, k, p = math.exp(-mean), 0, 1.0
        while True:
            p *= self._rng.random()
            if p <= limit:
                return k
            k += 1

    def _texts(self, channels: list[str]) -> tuple[list[str | None], list[str]]:
        """What the customers write, from the simulator's phrase bank (category and cause
        drawn from the demo company's mix), so new contacts can be classified as they come."""
        n = len(channels)
        if n == 0:
            return [], []
        rng = self._np_rng
        category = rng.choice(len(r.CATEGORIES), size=n, p=np.asarray(r.CATEGORY_MIX))
        cause = np.array([rng.choice(len(r.CAUSES), p=np.asarray(r.CAUSE_MIX[r.CATEGORIES[c]]))
                          for c in category])
        channel = np.array([r.CHANNELS.index(c) for c in channels])
        subject, text = contact_texts(category, cause, channel, np.full(n, INCIDENT_NONE), rng)
        return list(subject), list(text)

    def step(self, now: datetime, seconds: float | None = None) -> None:
        # The demo company's own week and opening hours (no calls on a Sunday or at 22:00),
        # as the simulated year has them.
        hours = (seconds or self._tick) / 3600
        contacts, events = [], []
        channels = [
            channel for channel, share in _CHANNEL_MIX.items()
            for _ in range(self._poisson(
                self._per_day / 24 * share * hourly_factor(channel, now) * hours))]
        self._rng.shuffle(channels)
        subjects, texts = self._texts(channels)
        for i, channel in enumerate(channels):
            self._n += 1
            ext = f"live-{now:%Y%m%d%H%M%S}-{self._n}"
            wait = self._rng.expovariate(1 / cal.VIRTUAL_WAIT_MEAN_S)
            patience = self._rng.expovariate(1 / cal.PATIENCE_MEAN_S)
            abandons = channel in ("phone", "chat") and patience < wait
            delay = patience if abandons else wait
            if channel not in ("phone", "chat"):
                delay = self._rng.uniform(60, 900)  # written channels: first reply in minutes
            contact = {"source": "demo-live", "external_id": ext, "channel": channel,
                       "created_at": now, "queued_at": now, "queue": channel,
                       "subject": subjects[i], "text": texts[i]}
            if self._customers:
                contact["customer_source"], contact["customer_external_id"] = self._rng.choice(
                    self._customers)
            later = None
            if self._agent and channel in ("email", "web"):
                later = timedelta(seconds=self._rng.uniform(1200, 5400))
            elif self._agent and not abandons and self._rng.random() < AGENT_CALL_SHARE:
                later = timedelta(seconds=self._rng.uniform(300, 1500))  # the call's handling
            if later is not None:
                contact.update(agent=self._agent, team="front office")
            contacts.append(contact)
            self._waiting.append(_Waiting(ext, channel, now, now + timedelta(seconds=delay),
                                          abandons, later))
        due = [w for w in self._waiting if w.answer_at <= now]
        self._waiting = [w for w in self._waiting if w.answer_at > now]
        for w in due:
            kinds = ["abandoned"] if w.abandons else (
                ["answered", "resolved"] if w.channel in ("phone", "chat")
                else ["first_response", "resolved"])
            if w.answered:
                kinds = ["resolved"]
            elif w.resolve_later is not None:  # answered now, resolved later
                kinds = ["answered" if w.channel in ("phone", "chat") else "first_response"]
                self._waiting.append(_Waiting(w.external_id, w.channel, w.created,
                                              w.answer_at + w.resolve_later, False,
                                              answered=True))
            for kind in kinds:
                events.append({"source": "demo-live", "external_id": f"{w.external_id}-{kind}",
                               "contact_external_id": w.external_id, "event_type": kind,
                               "occurred_at": now, "team": "front office"})
        if contacts:
            self._sink.submit("contacts", contacts).result(timeout=30)
        if events:
            self._sink.submit("contact_events", events).result(timeout=30)
