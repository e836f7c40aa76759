"""Freed memory goes back to the system: when asked, as the server does after a refresh of
the ready-made tables (glibc keeps freed pages in its arenas otherwise), and at once for large
blocks once the server has settled the allocator at its start."""

from __future__ import annotations

import platform
import subprocess
import sys
from pathlib import Path

import pytest

from cxhub.services import heap
from cxhub.services.heap import give_back


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


@pytest.mark.skipif(platform.system() != "Linux" or platform.libc_ver()[0] != "glibc",
                    reason="malloc_trim is glibc's")
def test_freed_pages_go_back_to_the_system() -> None:
    start = _rss_mb()
    # 300 MB in 2 KB pieces (glibc's malloc, not Python's small-object pool); every 64th kept,
    # so the freed pages lie between live ones and the heap's top cannot simply shrink.
    pieces = [bytes(2048) for _ in range(150_000)]
    kept = pieces[::64]
    del pieces
    held = _rss_mb()
    assert held - start > 150, "the freed pieces should still be resident before the trim"
    assert give_back()
    after = _rss_mb()
    assert held - after > 100, f"RSS {held:.0f} -> {after:.0f} MB"
    assert len(kept) == 2344


_BLOCKS = """
import sys
from pathlib import Path
from cxhub.services import heap

def rss_mb():
    line = next(x for x in Path("/proc/self/status").read_text().splitlines()
                if x.startswith("VmRSS:"))
    return int(line.split()[1]) / 1024

import pyarrow
if sys.argv[1] == "settled":
    assert heap.settle()
    # Arrow's buffers from the same allocator, not mimalloc (which keeps freed pages)
    assert pyarrow.default_memory_pool().backend_name == "system"
else:
    assert pyarrow.default_memory_pool().backend_name != "system"
big = bytearray(16 << 20)  # one large block freed: glibc maps no block under 16 MB after it
del big
blocks = [bytearray(1 << 20) for _ in range(200)]  # 200 MB in blocks of 1 MB (a key index's)
held = rss_mb()
del blocks[::2]  # every other one freed, between live ones: holes in the heap
print(round(held - rss_mb()))
"""


@pytest.mark.skipif(platform.system() != "Linux" or platform.libc_ver()[0] != "glibc",
                    reason="mallopt is glibc's")
def test_large_blocks_freed_go_back_at_once_once_settled() -> None:
    """What the server does when it starts: without it, large blocks freed between live ones
    stayed resident (the key index's arrays, growing at each merge, left such holes)."""
    def freed_mb(mode: str) -> int:
        out = subprocess.run([sys.executable, "-c", _BLOCKS, mode], capture_output=True,
                             text=True, check=True, timeout=120)
        return int(out.stdout.strip())

    assert freed_mb("default") < 20  # glibc on its own keeps the 100 MB of holes
    assert freed_mb("settled") > 80


_COUNT_ARENAS = """
import ctypes, threading

def arenas_after_threads():
    libc = ctypes.CDLL("libc.so.6")
    libc.open_memstream.restype = ctypes.c_void_p
    libc.malloc_info.argtypes = [ctypes.c_int, ctypes.c_void_p]
    libc.fclose.argtypes = [ctypes.c_void_p]
    kept, ready = [], threading.Barrier(8)

    def work():
        ready.wait()  # all at once: each thread's first allocation finds the others' busy
        kept.append([bytes(4096) for _ in range(2000)])

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    text, size = ctypes.c_char_p(), ctypes.c_size_t()
    stream = libc.open_memstream(ctypes.byref(text), ctypes.byref(size))
    libc.malloc_info(0, stream)
    libc.fclose(stream)
    print(text.value.decode().count("<heap nr="))
"""

_ARENAS = _COUNT_ARENAS + """
import sys
from cxhub.services import heap

if sys.argv[1] == "settled":
    assert heap.settle()
arenas_after_threads()
"""

# `cxhub serve` as a user starts it, up to the point where uvicorn would take over: there the
# threads of a server start and allocate.
_SERVE = _COUNT_ARENAS + """
import sys
from cxhub.cli import serve_cmd
from cxhub.cli.main import main

serve_cmd.run_server = lambda settings: arenas_after_threads()
main(["--home", sys.argv[1], "serve"], standalone_mode=False)
"""


@pytest.mark.skipif(platform.system() != "Linux" or platform.libc_ver()[0] != "glibc",
                    reason="mallopt is glibc's")
def test_threads_share_two_arenas_once_settled() -> None:
    """Each thread that allocated opened an arena of its own, with its own free space."""
    def arenas(mode: str) -> int:
        out = subprocess.run([sys.executable, "-c", _ARENAS, mode], capture_output=True,
                             text=True, check=True, timeout=120)
        return int(out.stdout.strip())

    assert arenas("default") > 2
    assert arenas("settled") <= heap.ARENAS


@pytest.mark.skipif(platform.system() != "Linux" or platform.libc_ver()[0] != "glibc",
                    reason="mallopt is glibc's")
def test_the_server_settles_before_any_thread_has_run(tmp_path: Path) -> None:
    """The limit stops only new arenas, and the arenas of threads that ended are handed to the
    next ones: `cxhub serve` opened the warehouse (DuckDB's threads) before it settled, and its
    threads then shared 11 and more."""
    out = subprocess.run([sys.executable, "-c", _SERVE, str(tmp_path)], capture_output=True,
                         text=True, check=True, timeout=120)
    assert int(out.stdout.strip()) <= heap.ARENAS
