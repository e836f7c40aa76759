"""Keep the server's resident memory to what it uses: glibc's allocator, told how to behave.

DuckDB allocates through its own jemalloc, so this is about the rest: Python's larger objects,
numpy's arrays (the writer's key index among them), request bodies and responses. Three habits
of glibc made a server under a steady stream of contacts grow without bound (the soak,
docs/reliability.md):

- a large block (from 128 KB) is mapped on its own and unmapped when freed, but each such free
  raises the size from which blocks are mapped to that block's (up to 32 MB). The key index's
  arrays grow at every merge, so after the first merge every new, larger array came from the
  heap, and the old ones left holes that no later, larger array fits: the heap's free space grew
  with the index. `settle` fixes the threshold at `MMAP_THRESHOLD`, so large blocks are always
  mapped and given back when freed;
- freed pages stay in the arenas until the arena's top is free: `give_back` (`malloc_trim(0)`)
  returns them, after large short-lived work such as a refresh of the ready-made tables;
- a thread's first allocation opens an arena of its own while there are fewer than eight per
  core (`tests/unit/test_heap.py`: 9 arenas after 8 threads), and each keeps its own free
  space and fragments: in an hour's soak the threads' arenas held 20 -> 38 MB while
  the web server's pool of threads and the background ones took turns. `settle` allows
  `ARENAS` (two); most allocations happen under Python's lock anyway, so threads rarely wait.
  The limit only stops new arenas: a thread that ends leaves its arena on a list from which
  the next threads take one, however many there are. So `settle` must come before any thread
  has allocated: before DuckDB is opened (its threads), before pyarrow is imported. The server
  used to open the warehouse once before it (to refuse a second server in one line), and
  DuckDB's threads left 11 arenas that the server's threads then shared: 16 in all.

Elsewhere than glibc (macOS, musl) none of this is done.

Arrow's buffers (query results on their way to pandas, the API's lingering rows) came from
mimalloc, pyarrow's default, which reserves a region of a gigabyte and keeps each thread's
freed pages for later (in 12-minute soaks the mappings of a gigabyte or more held 4 -> 10 MB;
with the system allocator there were none; docs/reliability.md). `settle` gives Arrow glibc's
allocator too, so its large buffers are mapped and given back like the rest.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
from functools import cache
from typing import Any

log = logging.getLogger(__name__)


# glibc's malloc.h
_M_MMAP_THRESHOLD = -3
_M_ARENA_MAX = -8
MMAP_THRESHOLD = 256 * 1024
ARENAS = 2


@cache
def _glibc() -> Any | None:
    """The C library when it is glibc (it has `malloc_trim` and `mallopt`), else None."""
    name = ctypes.util.find_library("c")
    if not name:
        return None
    try:
        lib = ctypes.CDLL(name)
        lib.malloc_trim.argtypes = [ctypes.c_size_t]
        lib.mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    except (OSError, AttributeError):
        return None  # musl, macOS
    lib.malloc_trim.restype = lib.mallopt.restype = ctypes.c_int
    return lib


def settle() -> bool:
    """Map every block of `MMAP_THRESHOLD` or more on its own, for the life of the process,
    keep to `ARENAS` arenas, and let Arrow allocate through the same allocator; whether it
    could (glibc only). `cxhub serve` calls this first, before any thread has run."""
    lib = _glibc()
    if lib is None:
        return False
    arenas = lib.mallopt(_M_ARENA_MAX, ARENAS)  # first: importing pyarrow starts a thread
    mapped = lib.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)
    import pyarrow

    pyarrow.set_memory_pool(pyarrow.system_memory_pool())
    return bool(arenas and mapped)


def give_back() -> bool:
    """Return the allocator's free pages to the system; whether it could (glibc only)."""
    lib = _glibc()
    if lib is None:
        return False
    lib.malloc_trim(0)
    return True
