"""`create_app(settings)`: the FastAPI application. Nothing is built at import time."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from cxhub import __version__
from cxhub.domain.errors import WarehouseUnavailableError
from cxhub.services.access.keys import KeyCache, RevocationInbox
from cxhub.services.records.api import RecordSink
from cxhub.settings import Settings
from cxhub.warehouse import Warehouse
from cxhub.warehouse.schema import edge_sql
from cxhub.web import api_docs
from cxhub.web.api.v1 import keys, read, records
from cxhub.web.gate import ReadGate
from cxhub.web.limits import BodySizeLimit

log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None, warehouse: Warehouse | None = None) -> FastAPI:
    """The app. Opens the warehouse at start-up unless one is given (tests share theirs)."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        wh = warehouse or Warehouse.open(settings.warehouse_path,
                                         memory_limit=settings.memory_limit)
        app.state.warehouse = wh
        app.state.sink = RecordSink(wh)
        from cxhub.services.offers.runtime import OffersRuntime

        # The next best action's engine loads its profiles in the background (issue 14).
        app.state.offers = OffersRuntime(wh, app.state.sink, settings.home / "models" / "offers",
                                         learn_at_start=warehouse is None).start()
        app.state.key_cache = KeyCache()
        inbox = None
        if warehouse is None:
            inbox = RevocationInbox(wh, settings.home, app.state.key_cache)
            inbox.start()
        if warehouse is None:
            from cxhub.services.metrics import ready_tables

            # The metrics' ready-made tables, built or brought up to date in the background
            # (apps given a warehouse, in tests, refresh them when a query finds them behind).
            ready_tables.start_background(wh)
        feed = None
        if settings.demo_live_feed:
            from cxhub.services.demo.live_feed import LiveFeed

            feed = LiveFeed.for_demo(app.state.sink, wh)
            newest = wh.read_one("SELECT " + edge_sql("contacts", "created_at", "max"))
            feed.start(since=newest[0] if newest and newest[0] else None)
        renewal = None
        if settings.renew_minutes > 0 and warehouse is None:  # tests renew theirs by hand
            from cxhub.services import heap
            from cxhub.warehouse.renewal import Renewal

            # glibc's free pages too: 4 -> 33 MB of free space kept in its arenas in an hour
            renewal = Renewal(wh, settings.renew_minutes, after=heap.give_back).start()
        app.state.renewal = renewal
        classifier = None
        if settings.classify_interval > 0 and warehouse is None:
            # Contacts from the API get labels within seconds (not for apps given a warehouse:
            # tests that share theirs count its labels).
            from cxhub.services.classification.loop import BackgroundClassifier

            classifier = BackgroundClassifier(wh, interval=settings.classify_interval)
            classifier.start()
        try:
            yield
        finally:
            if renewal is not None:
                renewal.stop()
            app.state.offers.stop()
            if classifier is not None:
                classifier.stop()
            if inbox is not None:
                inbox.stop()
            if feed is not None:
                feed.stop()
            app.state.sink.close(timeout=30)  # rows still lingering (decisions), batches' counts
            if warehouse is None:
                ready_tables.stop_background(wh, timeout=0)
                wh.close()

    app = FastAPI(title="cxhub", version=__version__, lifespan=lifespan, docs_url=None,
                  description="The customer-experience hub's REST API. Keys: `cxhub keys create`.")
    app.state.settings = settings
    app.include_router(records.router)
    app.include_router(read.router)
    app.include_router(keys.router)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.exception_handler(WarehouseUnavailableError)
    async def disk_refused(request: Request, exc: WarehouseUnavailableError) -> JSONResponse:
        # A full or read-only disk was a 500 with a traceback. The write was rolled back, so
        # the client may send the same request again once the operator has made room; the
        # log names the file, the answer only the reason.
        log.error("%s", exc)
        return JSONResponse(
            {"detail": f"the warehouse cannot store data now ({exc.reason or 'disk error'}); "
                       "nothing of this request was stored: send it again later"},
            status_code=503, headers={"Retry-After": "60"})

    from cxhub.web import dashboard, public
    from cxhub.web.api.v1 import calendar as calendar_api
    from cxhub.web.api.v1 import metrics as metrics_api
    from cxhub.web.api.v1 import offers as offers_api
    from cxhub.web.api.v1 import problems as problems_api

    app.include_router(metrics_api.router)
    app.include_router(problems_api.router)
    app.include_router(offers_api.router)
    app.include_router(calendar_api.router)
    # Apps given a warehouse (tests) neither publish yesterday's report nor compute the live
    # figures at start: each test would pay for both (about a second) and count their rows.
    public.install(app, settings, auto_publish=warehouse is None, warm_up=warehouse is None)
    dashboard.install(app, settings)
    api_docs.install(app)
    from cxhub.web.api.v1.decisions_fast import DecisionFastPath

    # Ordinary decisions skip the routing (issue 14's speed); inside the body-size limit.
    app.add_middleware(DecisionFastPath)
    from cxhub.web.api.v1.records_fast import RecordsFastPath

    app.add_middleware(RecordsFastPath)  # ordinary record POSTs too (issue 12's speed)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(ReadGate)  # outermost: every request is inside while it is served
    return app
