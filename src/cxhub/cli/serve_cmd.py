"""`cxhub serve`"""

from __future__ import annotations

import click

from cxhub.cli.common import console, fail, settings_from
from cxhub.domain.errors import CxhubError
from cxhub.settings import Settings
from cxhub.warehouse import Warehouse


@click.command()
@click.option("--host", help="Address to listen on (default 127.0.0.1).")
@click.option("--port", type=int, help="Port (default 8000).")
@click.pass_context
def serve(ctx: click.Context, host: str | None, port: int | None) -> None:
    """Serve the REST API (OpenAPI at /docs) and the web pages."""
    settings = settings_from(ctx)
    if host:
        settings.host = host
    if port:
        settings.port = port
    # The server opens the file inside its start-up, where a refusal became a traceback: a
    # second `cxhub serve` on the same home is told in one line instead.
    try:
        Warehouse.open(settings.warehouse_path).close()
    except CxhubError as exc:
        fail(str(exc))
    run_server(settings)


def run_server(settings: Settings) -> None:
    import gc

    import uvicorn

    from cxhub.web.app import create_app

    app = create_app(settings)
    # A full garbage collection walks every object of every library imported, a tenth of a
    # second and more: under a stream of requests CPython ran one every second or two, and
    # they made the slowest 1 % of requests wait. What exists now lives as long as the
    # server and is left out of collections; full ones come a hundred times less often.
    gc.collect()
    gc.freeze()
    gc.set_threshold(700, 10, 1000)
    console.print(f"cxhub serving on http://{settings.host}:{settings.port}  "
                  f"(API docs: http://{settings.host}:{settings.port}/docs)")
    try:
        # uvicorn believes X-Forwarded-For from loopback by default, which let any local
        # client pick the address that login throttling counts: only named proxies are.
        uvicorn.run(app, host=settings.host, port=settings.port, log_level="warning",
                    access_log=False, proxy_headers=bool(settings.trusted_proxies),
                    forwarded_allow_ips=settings.trusted_proxies or "")
    finally:
        # Frozen objects are never collected, not even at exit, where DuckDB's bindings then
        # report the objects still alive as leaked: give them back to the collector.
        gc.unfreeze()
        gc.collect()
