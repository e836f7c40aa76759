"""The public side of cxhub: the transparency page, its live figures and the daily reports.

`install(app, settings)` adds everything to an app made by `create_app`: the routes, the static
files (with plotly.js from the installed `plotly` package: no CDN), and two background tasks
that live as long as the app: the shared live ticker and the daily auto-publisher.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from cxhub.settings import Settings
from cxhub.warehouse import Warehouse

log = logging.getLogger(__name__)
STATIC = Path(__file__).resolve().parents[1] / "static"
PUBLISH_DELAY = timedelta(minutes=5)  # after midnight, so the day's last writes are in


def plotly_js_path() -> Path:
    import plotly

    return Path(plotly.__file__).parent / "package_data" / "plotly.min.js"


def install(app: FastAPI, settings: Settings, *, live_interval: float = 2.0,
            chart_cache_seconds: float = 30.0, auto_publish: bool = True,
            warm_up: bool = True) -> None:
    from cxhub.services.public.outlook import live_snapshot
    from cxhub.web.public.charts import TtlCache
    from cxhub.web.public.live import LiveTicker
    from cxhub.web.public.routes import router

    plotly_js = plotly_js_path()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        wh = app.state.warehouse
        # The live figures with the forecast's expected wait (Erlang A) where there is one.
        def live() -> dict[str, Any]:
            with wh.gate.reading():  # on a thread of its own, outside any request (web.gate)
                return live_snapshot(wh, min_count=settings.min_public_count)

        ticker = LiveTicker(live, interval=live_interval, warm_up=warm_up)
        app.state.public_cache.around = wh.gate.reading  # it recomputes outside requests
        app.state.public_live = ticker
        ticker.start()
        publisher = (asyncio.create_task(publish_daily(app, settings), name="cxhub-publisher")
                     if auto_publish else None)
        try:
            yield
        finally:
            await ticker.stop()
            if publisher is not None:
                publisher.cancel()
                try:
                    await publisher
                except asyncio.CancelledError:
                    pass

    app.state.public_cache = TtlCache(chart_cache_seconds)
    tasks = APIRouter(lifespan=lifespan)  # runs inside the app's lifespan: the warehouse is open

    @tasks.get("/static/plotly.min.js", include_in_schema=False)
    def plotly_file() -> FileResponse:
        # Versioned by the package: a week of browser caching is safe.
        return FileResponse(plotly_js, media_type="text/javascript",
                            headers={"Cache-Control": "public, max-age=604800"})

    app.include_router(tasks)
    app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")


async def publish_daily(app: FastAPI, settings: Settings) -> None:
    """Publish yesterday's report now (a restart catches up) and after every midnight (UTC)."""
    from cxhub.services.backoff import refusal

    while True:
        now = datetime.now(UTC).replace(tzinfo=None)
        yesterday = now.date() - timedelta(days=1)
        try:
            done = await asyncio.to_thread(_publish, app.state.warehouse, yesterday,
                                           settings.min_public_count)
            if done.created:
                log.info("published the report of %s, revision %s", yesterday,
                         done.report.revision)
        except Exception as exc:  # the next midnight tries again; the server keeps serving
            refused = refusal(exc)
            if refused:  # a full or read-only disk: one line, not DuckDB's traceback
                log.error("publishing the report of %s failed: %s (tried again after "
                          "midnight, or with `cxhub publish`)", yesterday, refused)
            else:
                log.exception("publishing the report of %s failed", yesterday)
        next_run = datetime.combine(now.date() + timedelta(days=1), datetime.min.time())
        await asyncio.sleep(((next_run + PUBLISH_DELAY) - now).total_seconds())


def _publish(wh: Warehouse, day: date, min_count: int) -> Any:
    from cxhub.services.public import reports

    with wh.gate.reading():
        return reports.publish(wh, day, min_count=min_count)
