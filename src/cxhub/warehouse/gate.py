"""The door between readers and the warehouse's renewal (`Warehouse.renew`).

DuckDB gives back the memory its instance gathered (its buffer pool's blocks, its own
allocator's pages) only when the instance closes (docs/reliability.md), so a server that runs
for days closes it now and then and opens the file again. No query may be running on the old
instance when it closes, and none may start until the new one is open: readers pass this door,
and a renewal shuts it for the moment of the swap.

Readers are counted, not owned by a thread: a web request enters on the event loop and leaves
once its response is sent, whichever threads worked for it (`enter`/`leave`); background work
wraps each of its rounds in `reading()`, which a thread may nest. A renewal that wants the door
stops new readers and waits for those inside to leave, for a bounded time: a reader that waits
for the writer while the writer waits for the door would otherwise hold both, so the renewal
gives up and opens the door again, to try later.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager


class Gate:
    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._inside = 0  # readers in
        self._shut = False  # a renewal wants the door or holds it
        self._local = threading.local()  # how deep the calling thread is in `reading()`

    def try_enter(self) -> bool:
        """Enter at once if the door is open (the web's fast path, on the event loop)."""
        with self._cond:
            if self._shut:
                return False
            self._inside += 1
            return True

    def enter(self) -> None:
        """Enter, waiting while a renewal has the door shut."""
        with self._cond:
            while self._shut:
                self._cond.wait()
            self._inside += 1

    def leave(self) -> None:
        with self._cond:
            self._inside -= 1
            if self._inside == 0:
                self._cond.notify_all()

    @contextmanager
    def reading(self) -> Iterator[None]:
        """One round of reads on this thread (nested rounds enter once)."""
        depth = getattr(self._local, "depth", 0)
        if depth == 0:
            self.enter()
        self._local.depth = depth + 1
        try:
            yield
        finally:
            self._local.depth = depth
            if depth == 0:
                self.leave()

    def shut(self, timeout: float) -> bool:
        """Stop new readers and wait up to `timeout` seconds for the others to leave; whether
        the door is now shut (then `open` it once done)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            if self._shut:
                return False  # another renewal has it
            self._shut = True
            while self._inside:
                left = deadline - time.monotonic()
                if left <= 0:
                    self._shut = False
                    self._cond.notify_all()
                    return False
                self._cond.wait(left)
            return True

    def open(self) -> None:
        with self._cond:
            self._shut = False
            self._cond.notify_all()

    @property
    def readers(self) -> int:
        return self._inside
