"""Freed memory goes back to the system when asked: what the server does after a refresh of
the ready-made tables (glibc keeps freed pages in its arenas otherwise)."""

from __future__ import annotations

import platform
from pathlib import Path

import pytest

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
