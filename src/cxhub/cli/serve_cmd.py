"""`cxhub serve`"""

from __future__ import annotations

import gc
import os
import sys

import click

from cxhub.cli.common import console, fail, settings_from
from cxhub.domain.errors import CxhubError
from cxhub.services import heap
from cxhub.settings import Settings
from cxhub.warehouse import Warehouse


@click.command()
@click.option("--host", help="Address to listen on (default 127.0.0.1).")
@click.option("--port", type=int, help="Port (default 8000).")
@click.pass_context
def serve(ctx: click.Context, host: str | None, port: int | None) -> None:
    """Serve the REST API (OpenAPI at /docs) and the web pages."""
    # Before any thread has run (DuckDB's, opened just below, among them): the allocator's
    # limits hold only for what comes after (services/heap.py).
    heap.settle()
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


YOUNG_GENERATION = 20_000
SWITCH_INTERVAL_SECONDS = 0.001


def freeze_startup_objects() -> None:
    """Leave what exists at start-up (every library imported) out of garbage collections.

    A full collection walked all of it, a tenth of a second and more, and under a stream of
    requests those pauses made the slowest 1 % wait. Frozen, a full collection walks only what
    was made since, so it stays cheap and keeps CPython's usual pace. (Making full collections
    a hundred times rarer as well, as before, let the cyclic garbage of every query, the SQL
    trees Ibis builds, pile up: the server's memory grew by about 0.7 GB an hour at rest.)
    """
    gc.collect()
    gc.freeze()
    # A young generation of 20,000 objects rather than CPython's 700: a request's objects (a
    # decision's rows waiting a few milliseconds for the writer, a batch's dicts) are freed
    # before a collection sees them, instead of surviving into the old generations and
    # bringing on full collections every second or so that walk everything loaded since the
    # start (the offers engine's 58,000 profiles): with 700, the slowest 1 % of decisions
    # waited 190-900 ms; with 20,000, 21-33 ms on the same busy machine (BENCHMARKS.md). The
    # older generations keep CPython's pace, so cyclic garbage is still freed (the test).
    gc.set_threshold(YOUNG_GENERATION, 10, 10)
    # CPython runs a full collection only once the objects waiting for one reach a quarter of
    # those that survived the last: count from the now nearly empty heap, not from the frozen.
    gc.collect()


def ensure_port_free(settings: Settings) -> None:
    """Stop with one line when another process listens on the address: uvicorn finds out only
    after the app has started (warehouse open, background threads running), and their shutdown
    then printed tracebacks under its own message."""
    import socket

    family = socket.AF_INET6 if ":" in settings.host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((settings.host, settings.port))
        except OSError as exc:
            fail(f"cannot listen on {settings.host}:{settings.port} ({exc.strerror or exc}): "
                 "another server holds the port; stop it, or pick another port with --port "
                 "(cxhub serve) or CXHUB_PORT")


def serve_afresh(settings: Settings) -> None:
    """Become `cxhub serve` with these settings: a new program in this process (same id,
    same terminal), so the server starts with the allocator settled before any thread and
    without what the work before it left in memory (`cxhub demo`). Where programs cannot be
    replaced so, it serves from this one."""
    if os.name != "posix":
        run_server(settings)
        return
    env = {**os.environ, "CXHUB_HOME": str(settings.home), "CXHUB_HOST": settings.host,
           "CXHUB_PORT": str(settings.port),
           "CXHUB_DEMO_LIVE_FEED": "true" if settings.demo_live_feed else "false"}
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(sys.executable, [sys.executable, "-m", "cxhub", "serve"], env)


def run_server(settings: Settings) -> None:
    import uvicorn

    ensure_port_free(settings)
    from cxhub.web.app import create_app

    app = create_app(settings)
    freeze_startup_objects()
    # A thread that wants the interpreter waits at most 1 ms for another to give it up, not
    # CPython's 5: requests on the event loop wait less behind the writer and the background
    # loops (decisions' p99 at 4,500 a second: 7.4-17.4 ms at 5 ms, 4.3-5.6 ms at 1 ms).
    sys.setswitchinterval(SWITCH_INTERVAL_SECONDS)
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
