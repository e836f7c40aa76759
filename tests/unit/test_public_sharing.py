"""The public page's shared computations: one live computation however many streams wait for
it, and chart data served from the cache while it is computed again."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

from cxhub.web.public.charts import TtlCache
from cxhub.web.public.live import LiveTicker


def test_streams_opened_at_once_share_one_computation() -> None:
    calls = []

    def compute() -> dict[str, Any]:
        calls.append(1)
        time.sleep(0.05)  # a query takes a while: every stream arrives while it runs
        return {"at": len(calls)}

    async def scenario() -> list[str]:
        ticker = LiveTicker(compute, interval=60)
        return await asyncio.gather(*(ticker.current() for _ in range(200)))

    # An event loop of its own, in a thread of its own (another test may have left one
    # running in this thread).
    payloads: list[str] = []
    runner = threading.Thread(target=lambda: payloads.extend(asyncio.run(scenario())))
    runner.start()
    runner.join(30)
    assert len(calls) == 1
    assert set(payloads) == {'{"at":1}'}


def test_a_stale_figure_is_served_while_one_thread_computes_it_again() -> None:
    cache = TtlCache(0.05, stale_for=60)
    started, release = threading.Event(), threading.Event()
    version = [0]

    def compute() -> int:
        version[0] += 1
        if version[0] > 1:
            started.set()
            release.wait(5)
        return version[0]

    assert cache.get(("k",), compute) == 1
    time.sleep(0.06)
    # Stale: the old figure at once, one recomputation in the background (not three).
    assert [cache.get(("k",), compute) for _ in range(3)] == [1, 1, 1]
    assert started.wait(5)
    release.set()
    deadline = time.monotonic() + 5
    while cache.get(("k",), compute) != 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert cache.get(("k",), compute) == 2
    assert version[0] == 2


def test_without_a_cache_period_every_ask_computes() -> None:
    cache = TtlCache(0)
    counter = iter(range(10))
    assert [cache.get(("k",), lambda: next(counter)) for _ in range(3)] == [0, 1, 2]
