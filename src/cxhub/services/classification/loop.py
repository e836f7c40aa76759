"""The server's background classifier: contacts and mentions that arrive through the API get
their category, cause and sentiment within seconds.

Every `interval` seconds the thread looks for rows newer than the last it saw and runs
`classify_pending` on them alone. It uses the registered model of each dimension (a trained
model, or the zero-shot model adapted by `cxhub classify run` or the pipeline); before one is
registered, the keyword zero-shot fallback, so that the server does not load torch for this
(a registered zero-shot model does, for the texts of a source whose student it refused: those
are read by its teacher). It
never adapts or registers a model itself; rows that were there before the server started are
left to `cxhub classify run` and the pipeline.

While API requests are writing (an urgent writer job in the last second) a tick is put off,
for at most `MAX_DEFER_SECONDS`: classifying takes the interpreter (the GIL) and its label
writes the single writer, and under a load of 1,000-contact batches each tick made every
connection wait together. Under constant load the rows are still labelled, a few seconds later.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING

from cxhub.analytics.classify.taxonomy import DIMENSIONS
from cxhub.services.backoff import Backoff, GiveWay
from cxhub.services.classification.run import (
    SENTIMENT,
    classify_pending,
    model_in_use,
    newest_ids,
)
from cxhub.warehouse import Warehouse

if TYPE_CHECKING:
    from cxhub.services.problems.runner import FollowUp

log = logging.getLogger("cxhub.classify")
BUSY_SECONDS = 1.0  # requests wrote this recently: the API is under write load
MAX_DEFER_SECONDS = 10.0  # ... but labels wait no longer than this for a quiet moment


class BackgroundClassifier:
    def __init__(self, wh: Warehouse, *, interval: float = 2.0) -> None:
        self._wh = wh
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="cxhub-classifier", daemon=True)
        self.since: dict[str, int] = {}
        self.runs = 0
        self._give_way = GiveWay()  # ticks put off while requests were writing
        # A disk that refuses writes: one line and longer waits, not a traceback every tick.
        self.backoff = Backoff("background classifier", log, path=wh.path)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=timeout)

    def _warm_up(self) -> None:
        """Load each model once so that the first new contact does not wait for it."""
        for dimension in (*DIMENSIONS, SENTIMENT):
            model = model_in_use(self._wh, dimension, adapt=False, zero_shot="lexical")
            if model is not None:
                model.classify(["warming up the classifier"])

    def _run(self) -> None:
        try:
            self.since = newest_ids(self._wh)
            self._warm_up()
        except Exception:  # a failed warm-up only delays the first run's model loading
            log.exception("background classifier: warm-up failed")
        from cxhub.services.problems.runner import FollowUp

        follow_up = FollowUp(self._wh, self._wh.path.parent)  # new contacts join open problems
        while not self._stop.wait(self._interval):
            if self._defer(time.monotonic()):
                continue
            with self._wh.gate.reading():  # each round, not while the warehouse is renewed
                self._round(follow_up)

    def _round(self, follow_up: FollowUp) -> None:
        if self.backoff.due():
            try:
                self.tick()
            except Exception as exc:  # a later tick retries; the server must keep serving
                self.backoff.failed(exc)
            else:
                self.backoff.succeeded()
        follow_up.tick(now=time.monotonic())  # its own backoff

    @property
    def deferred(self) -> int:
        return self._give_way.deferred

    def _defer(self, now: float) -> bool:
        """Whether to skip this tick: requests are writing and labels have not yet waited
        MAX_DEFER_SECONDS."""
        return self._give_way.defer(self._wh.writer.busy(BUSY_SECONDS), now, MAX_DEFER_SECONDS)

    def tick(self) -> dict[str, int]:
        """Classify the rows that arrived since the last tick; returns the labels written."""
        newest = newest_ids(self._wh)
        if all(newest[t] <= self.since.get(t, 0) for t in newest):
            return {}
        summary = classify_pending(self._wh, since=self.since, adapt=False, zero_shot="lexical")
        self.since = newest
        self.runs += 1
        return {f"{t}.{d}": n for t, dims in summary["written"].items() for d, n in dims.items()}
