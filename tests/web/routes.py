"""The app's own route list, for tests that go over every route (access rules, odd input)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fastapi.routing import APIRoute


def app_routes(routes: list[Any], prefix: str = "") -> Iterator[tuple[str, APIRoute]]:
    """(full path, route) for every API route, routers included lazily too."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield prefix + route.path, route
        elif hasattr(route, "original_router"):  # a router included lazily
            yield from app_routes(route.original_router.routes,
                                  prefix + route.include_context.prefix)
