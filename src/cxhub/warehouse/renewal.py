"""A server's warehouse renewed now and then, while it is written to (`Settings.renew_minutes`).

DuckDB keeps what its instance gathered (blocks of the file read or written, its allocator's
pages) until the instance closes, and a server under constant writes grew with it: 95 MB an
hour at 1,000 contacts a second, 49 with renewals (docs/reliability.md, "Renewing DuckDB's
instance"). Every `minutes`, if anything was written since the last renewal, this thread asks
`Warehouse.renew`, which swaps the instance between two writer jobs; when readers do not leave
the gate in time, it tries again 5, 10, 20 ... seconds later.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from cxhub.warehouse.database import Warehouse

log = logging.getLogger(__name__)
RETRY_SECONDS = 5.0


class Renewal:
    def __init__(self, wh: Warehouse, minutes: float,
                 after: Callable[[], object] | None = None) -> None:
        """`after`: run once each renewal is done (the server gives glibc's free pages back
        then: `services.heap.give_back`)."""
        self._wh = wh
        self._period = minutes * 60.0
        self._after = after
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="cxhub-renewal", daemon=True)
        self.renewed = 0

    def start(self) -> Renewal:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)

    def _run(self) -> None:
        written = self._wh.writer.job_number
        wait, refused = self._period, 0
        while not self._stop.wait(wait):
            wait = self._period
            if self._wh.writer.job_number == written:
                continue  # nothing written: nothing gathered worth a renewal
            started = time.monotonic()
            try:
                done = self._wh.renew()
            except Exception:  # noqa: BLE001 - the server goes on with the instance it has
                log.exception("renewing the warehouse %s failed", self._wh.path)
                continue
            if not done:  # a long round inside (a first build of the ready-made tables):
                refused += 1  # each try holds new requests up to `renew`'s wait, so fewer
                wait = min(self._period, RETRY_SECONDS * 2 ** (refused - 1))
                continue
            refused = 0
            written = self._wh.writer.job_number
            self.renewed += 1
            log.debug("warehouse renewed in %.3f s", time.monotonic() - started)
            if self._after is not None:
                self._after()
