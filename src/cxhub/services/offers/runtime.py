"""The decision engine inside the server: loaded in a background thread when the server
starts (so start-up is not held up), refreshed every few minutes, and taught once at start
when the warehouse holds decided offers but no model has been learned from them yet (the
demo's pipeline learns them before the server starts, so this is for other warehouses).

The same loop runs the triggers (`trigger_runs.run`): on start, then at every refresh, each
active trigger's new audience members are put on record and sent to its webhook."""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

from cxhub.services.offers.engine import Engine
from cxhub.warehouse import Warehouse

log = logging.getLogger(__name__)
REFRESH_SECONDS = 300.0


class OffersRuntime:
    def __init__(self, wh: Warehouse, sink: Any, models_dir: Path, *,
                 learn_at_start: bool = True, refresh_seconds: float = REFRESH_SECONDS,
                 run_triggers: bool | None = None) -> None:
        self.engine = Engine(wh, sink=sink)
        # Apps given a warehouse (tests) run no triggers unless asked: they count its rows.
        self.run_triggers = learn_at_start if run_triggers is None else run_triggers
        self.trigger_runs: list[list[dict[str, Any]]] = []
        self.models_dir = models_dir
        self.learn_at_start = learn_at_start
        self.refresh_seconds = refresh_seconds
        self.ready = threading.Event()
        self.error: str | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> OffersRuntime:
        self._thread = threading.Thread(target=self._run, name="cxhub-offers", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop refreshing, and wait a little for a load under way: the app closes the
        warehouse next, and a thread still inside DuckDB when Python exits can abort it."""
        self._stop.set()
        if self._thread is not None and self._thread.is_alive():
            self._thread.join(timeout)

    def engine_ready(self, timeout: float = 60.0) -> Engine | None:
        return self.engine if self.ready.wait(timeout) and self.engine.state else None

    def _run(self) -> None:
        with self.engine.wh.gate.reading():  # each round, not while the warehouse is renewed
            self._start()
        while not self._stop.wait(self.refresh_seconds):
            with self.engine.wh.gate.reading():
                self._round()

    def _start(self) -> None:
        try:
            self.engine.refresh()
            self.ready.set()
            if self.learn_at_start and self._unlearned():
                from cxhub.services.offers import learning

                learning.learn(self.engine.wh, self.models_dir)
                self.engine.refresh()
        except Exception as exc:  # the server keeps answering with what it has
            log.exception("offers: loading failed")
            self.error = str(exc)
        finally:
            self.ready.set()
        self._triggers()

    def _round(self) -> None:
        try:
            self.engine.refresh()
        except Exception:
            if not self._stop.is_set():
                log.exception("offers: refresh failed")
        self._triggers()

    def _triggers(self) -> None:
        if not self.run_triggers or self.engine.state is None:
            return
        from cxhub.services.offers import trigger_runs

        try:
            done = trigger_runs.run(self.engine.wh, profiles=self.engine.state.profiles)
        except Exception:
            if not self._stop.is_set():  # else the warehouse was closed under it at shutdown
                log.exception("offers: triggers failed")
            return
        self.trigger_runs = (self.trigger_runs + [done])[-10:]

    def _unlearned(self) -> bool:
        state = self.engine.state
        if state is None:
            return False
        learned = set(state.learned.models)
        row = self.engine.wh.read_one(
            "SELECT count(*) FROM offer_decisions WHERE outcome IN ('accepted', 'declined', "
            "'ignored')")
        return bool(row and row[0] >= 200) and any(
            o.code not in learned for o in state.catalogue.offers)
