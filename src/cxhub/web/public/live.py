"""One live computation per tick, shared by every visitor.

A background task computes the live figures every `interval` seconds while anyone listens and
keeps the result as ready-to-send JSON; each server-sent-events stream only waits for the next
tick and sends those bytes. So 500 open pages cost one query per tick, not 500.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import orjson

log = logging.getLogger(__name__)


class LiveTicker:
    def __init__(self, compute: Callable[[], dict[str, Any]], *, interval: float = 2.0,
                 warm_up: bool = True) -> None:
        self._compute = compute
        self.interval = interval
        # Compute once at start, so the first visitor does not wait (off for apps given a
        # warehouse, in tests: a first computation brings the ready-made tables up to date).
        self.warm_up = warm_up
        self.payload: str | None = None
        self.computed_at = 0.0  # monotonic time of the last successful tick
        self.ticks = 0
        self.listeners = 0
        self._tick = asyncio.Event()
        self._wanted = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._computing: asyncio.Task[None] | None = None  # the one computation under way

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="cxhub-live-ticker")

    async def stop(self) -> None:
        if self._computing is not None and not self._computing.done():
            self._computing.cancel()
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None

    async def _run(self) -> None:
        while True:
            if self.listeners == 0 and (self.payload is not None or not self.warm_up):
                # Nobody is watching: no query until somebody opens the page.
                self._wanted.clear()
                await self._wanted.wait()
            started = time.monotonic()
            await self.refresh()
            await asyncio.sleep(max(0.0, self.interval - (time.monotonic() - started)))

    async def refresh(self) -> None:
        """Compute the figures now; callers arriving while a computation runs share it (500
        pages opened at once after a quiet spell make one query, not 500)."""
        if self._computing is None or self._computing.done():
            self._computing = asyncio.create_task(self._compute_once())
        await asyncio.shield(self._computing)

    async def _compute_once(self) -> None:
        try:
            data = await asyncio.to_thread(self._compute)
        except Exception:  # a failed tick keeps the last figures; the next tick tries again
            log.exception("live figures failed")
            return
        self.payload = orjson.dumps(data).decode()
        self.computed_at = time.monotonic()
        self.ticks += 1
        tick, self._tick = self._tick, asyncio.Event()
        tick.set()

    async def current(self) -> str:
        """The latest figures, computed now if there are none or they are stale."""
        if self.payload is None or time.monotonic() - self.computed_at > 2 * self.interval:
            await self.refresh()
        return self.payload or "{}"

    async def stream(self) -> AsyncIterator[str]:
        """Every tick's figures, starting with the current ones, for as long as the client
        stays."""
        self.listeners += 1
        self._wanted.set()
        try:
            yield await self.current()
            while True:
                await self._tick.wait()
                if self.payload is not None:
                    yield self.payload
        finally:
            self.listeners -= 1
