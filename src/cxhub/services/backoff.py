"""How the server's background work (the ready-made tables, the classifier, the follow-up of
problems) says that a run failed, and when it tries again.

A full or read-only disk made each of them print DuckDB's traceback at every tick (32 in the
first seconds of a server in a read-only folder). Now a failure is one line, naming what
failed, the warehouse file and the operating system's reason; the next try waits 2 s, then 4,
8 ... up to a minute; the line is said again only when the reason changes, or every ten
minutes while it lasts; and one line says when writing works again. A failure that is not the
disk (a fault of ours) gets its traceback once, so that it can be found and mended.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path

from cxhub.domain.errors import WarehouseUnavailableError
from cxhub.warehouse.writer import refused_by_disk

FIRST_WAIT = 2.0
LONGEST_WAIT = 60.0
REMIND_EVERY = 600.0


def refusal(exc: BaseException, path: Path | None = None) -> str | None:
    """The disk's refusal in one line (the file and the operating system's words), or None
    when `exc` is not one."""
    if isinstance(exc, WarehouseUnavailableError):
        return str(exc)
    refused = refused_by_disk(exc, path)
    if refused is not None:
        return str(refused)
    if isinstance(exc, OSError) and exc.strerror:
        return f"{exc.filename or 'a file'} could not be written: {exc.strerror}"
    return None


class Backoff:
    """One per background task: `due()` before a run, then `failed(exc)` or `succeeded()`."""

    def __init__(self, what: str, logger: logging.Logger, *, path: Path | None = None,
                 first: float = FIRST_WAIT, longest: float = LONGEST_WAIT,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.what, self._log, self._path = what, logger, path
        self._first, self._longest, self._clock = first, longest, clock
        self.failures = 0
        self.retry_at = 0.0
        self._said = ""
        self._said_at = 0.0

    def due(self) -> bool:
        return self._clock() >= self.retry_at

    def failed(self, exc: BaseException) -> float:
        """Note a failed run; returns the seconds until the next try."""
        now = self._clock()
        self.failures += 1
        wait = min(self._longest, self._first * 2.0 ** (self.failures - 1))
        self.retry_at = now + wait
        refused = refusal(exc, self._path)
        said = refused or f"{type(exc).__name__}: {exc}"
        if said == self._said and now - self._said_at < REMIND_EVERY:
            return wait
        first_time = said != self._said
        self._said, self._said_at = said, now
        line = (f"{self.what} failed: {said.splitlines()[0] if said else type(exc).__name__} "
                f"(failure {self.failures}; trying again in {wait:.0f} s, less often while it "
                "fails)")
        if refused is None and first_time:
            self._log.error(line, exc_info=exc)  # ours, not the disk's: where it happened
        else:
            self._log.error(line)
        return wait

    def succeeded(self) -> None:
        if self.failures:
            self._log.warning("%s works again, after %d failed run%s", self.what,
                              self.failures, "" if self.failures == 1 else "s")
        self.failures = 0
        self.retry_at = 0.0
        self._said = ""


class GiveWay:
    """Background work that gives way to requests' writes: put off while the writer has been
    busy with them, but never longer than `longest` seconds in a row (the ready-made tables'
    refresh, the background classifier)."""

    def __init__(self) -> None:
        self.since: float | None = None  # monotonic: put off since
        self.deferred = 0  # runs put off, in all

    def defer(self, busy: bool, now: float, longest: float) -> bool:
        """Whether to put the run off now; `busy`: requests wrote very recently."""
        if not busy:
            self.since = None
            return False
        if self.since is None:
            self.since = now
        if now - self.since >= longest:
            self.since = None
            return False
        self.deferred += 1
        return True
