"""Each web request passes the warehouse's gate (`warehouse.gate`) while it is served, so that
a renewal of the warehouse's DuckDB instance (`Warehouse.renew`) never closes it under a query.

The request enters on the event loop at once when the gate is open (a lock and a counter); while
a renewal has it shut (a few tenths of a second, every `Settings.renew_minutes`) it waits in a
worker thread, not on the loop. The live stream is let through: it is endless, and the figures
it sends are computed on a thread of their own that passes the gate each time
(`public.live.LiveTicker`).
"""

from __future__ import annotations

import asyncio

from starlette.types import ASGIApp, Receive, Scope, Send

ENDLESS = frozenset({"/public/live"})


class ReadGate:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        wh = getattr(scope["app"].state, "warehouse", None) if "app" in scope else None
        if scope["type"] != "http" or wh is None or scope["path"] in ENDLESS:
            await self.app(scope, receive, send)
            return
        gate = wh.gate
        if not gate.try_enter():
            entering = asyncio.ensure_future(asyncio.to_thread(gate.enter))
            try:
                await asyncio.shield(entering)
            except asyncio.CancelledError:  # the client left while waiting: the thread still
                entering.add_done_callback(lambda _: gate.leave())  # enters; leave after it
                raise
        try:
            await self.app(scope, receive, send)
        finally:
            gate.leave()
