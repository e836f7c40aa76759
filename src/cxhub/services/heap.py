"""Give freed memory back to the operating system after large, short-lived work.

A refresh of the ready-made tables under a steady stream of contacts sums a whole day again:
DuckDB takes hundreds of megabytes for it and frees them at the end, but glibc's allocator
keeps freed pages in its arenas (one per thread that allocated), so the server's resident
memory rose with the largest refresh so far. `malloc_trim(0)` returns the free pages of every
arena. Elsewhere than glibc (macOS, musl) this does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
from functools import cache

log = logging.getLogger(__name__)


@cache
def _trim() -> object | None:
    name = ctypes.util.find_library("c")
    if not name:
        return None
    try:
        fn = ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError):
        return None  # not glibc
    fn.argtypes = [ctypes.c_size_t]
    fn.restype = ctypes.c_int
    return fn


def give_back() -> bool:
    """Return the allocator's free pages to the system; whether it could (glibc only)."""
    fn = _trim()
    if fn is None:
        return False
    fn(0)  # type: ignore[operator]
    return True
