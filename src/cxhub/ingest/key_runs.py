"""The key index's older keys, in files, so that a server's memory does not grow with its keys.

The writer's key index (`keys.KeyIndex`) keeps the 64-bit hash and the id of every stored key,
16 bytes a key: at 1,000 contacts a second, 58 MB more every hour for as long as the server
runs (`docs/reliability.md`, the soak). So it keeps only its latest keys in memory (at most
`RUN_KEYS`) and writes the rest out as sorted runs, files beside the warehouse: all the hashes,
then the ids in the same order. A look-up maps each run, binary-searches it (a flush's hashes
sorted, so each search starts where the last ended) and lets the pages go again within a second:
what it read stays in the operating system's file cache, which the kernel gives back when it
needs the memory, not in the server's own. Like a log-structured merge tree, a new run that is
as large as the one before it is merged with it, streaming a chunk at a time, so there are at
most about log2(keys / RUN_KEYS) + 1 runs (6 at 10 million keys).

The files are a cache of what the tables hold: made again from the table at every start, never
read by another process, removed when the server stops (and, after a crash, at its next start).
"""

from __future__ import annotations

import mmap
import os
import shutil
import tempfile
import time
import weakref
from pathlib import Path

import numpy as np

from cxhub.domain.errors import WarehouseUnavailableError

RUN_KEYS = 1 << 18  # keys kept in memory before they are written out: 4 MB
MERGE_CHUNK = 1 << 20  # keys of each run read at a time while merging two runs
RELEASE_SECONDS = 1.0  # how long a run's pages stay mapped after a look-up


class Run:
    """One sorted run: `n` hashes (uint64, ascending), then their ids (int64), in one file."""

    def __init__(self, path: Path, n: int) -> None:
        self.path, self.n = path, n
        with open(path, "rb") as fh:
            self._map = mmap.mmap(fh.fileno(), 0, prot=mmap.PROT_READ)
        self.hashes = np.frombuffer(self._map, np.uint64, n, 0)
        self.ids = np.frombuffer(self._map, np.int64, n, n * 8)

    def release(self) -> None:
        """Unmap the pages read so far (they stay in the file cache, out of this process)."""
        self._map.madvise(mmap.MADV_DONTNEED)

    def remove(self) -> None:
        del self.hashes, self.ids
        try:
            self._map.close()
        except BufferError:  # a view of it still alive: unmapped when that goes
            pass
        self.path.unlink(missing_ok=True)


class Runs:
    """The runs of one record table. Only the writer thread touches them."""

    def __init__(self, folder: Path, name: str) -> None:
        self._folder, self._name = folder, name
        self.runs: list[Run] = []
        self._made = 0
        self._released = time.monotonic()

    def __len__(self) -> int:
        return sum(r.n for r in self.runs)

    def add(self, hashes: np.ndarray, ids: np.ndarray) -> None:
        """Write keys sorted by hash as a new run, then merge while the last two are alike. A
        disk that refuses (full, read-only) fails the caller's write as the warehouse's would."""
        if not len(ids):
            return
        try:
            path = self._path()
            with open(path, "wb") as fh:
                np.ascontiguousarray(hashes, np.uint64).tofile(fh)
                np.ascontiguousarray(ids, np.int64).tofile(fh)
            self.runs.append(Run(path, len(ids)))
            while len(self.runs) >= 2 and self.runs[-1].n >= self.runs[-2].n:
                b, a = self.runs.pop(), self.runs.pop()
                self.runs.append(self._merge(a, b))
        except OSError as exc:
            reason = exc.strerror or str(exc)
            raise WarehouseUnavailableError(
                f"the key index beside the warehouse ({self._folder}) could not be written: "
                f"{reason}; nothing of this write was kept", reason=reason) from exc

    def find(self, hashes: np.ndarray) -> dict[int, int]:
        """hash -> id of those `hashes` found in a run (a match is checked by the caller)."""
        out: dict[int, int] = {}
        if not self.runs or not len(hashes):
            return out
        order = np.argsort(hashes)
        wanted = hashes[order]
        for run in self.runs:
            pos = np.searchsorted(run.hashes, wanted)
            np.minimum(pos, run.n - 1, out=pos)
            hit = np.flatnonzero(run.hashes[pos] == wanted)
            if len(hit):
                out.update(zip(wanted[hit].tolist(), run.ids[pos[hit]].tolist(), strict=True))
        now = time.monotonic()
        if now - self._released >= RELEASE_SECONDS:
            self._released = now
            for run in self.runs:
                run.release()
        return out

    def clear(self) -> None:
        for run in self.runs:
            run.remove()
        self.runs = []

    def _path(self) -> Path:
        self._made += 1
        return self._folder / f"{self._name}-{self._made}.keys"

    def _merge(self, a: Run, b: Run) -> Run:
        """One run of `a` and `b`, a chunk of each at a time (memory: two chunks, not the runs)."""
        n = a.n + b.n
        path = self._path()
        with open(path, "wb") as fh:
            fh.truncate(n * 16)
            fd, i, j, out = fh.fileno(), 0, 0, 0
            top = np.iinfo(np.uint64).max
            while i < a.n or j < b.n:
                # Up to the smaller of the two chunks' last hashes: nothing after it in either
                # run can come before it, so this much is final.
                cut = min(a.hashes[i + MERGE_CHUNK - 1] if i + MERGE_CHUNK < a.n else top,
                          b.hashes[j + MERGE_CHUNK - 1] if j + MERGE_CHUNK < b.n else top)
                i2 = a.n if cut == top else int(np.searchsorted(a.hashes, cut, "right"))
                j2 = b.n if cut == top else int(np.searchsorted(b.hashes, cut, "right"))
                h = np.concatenate([a.hashes[i:i2], b.hashes[j:j2]])
                order = np.argsort(h, kind="stable")  # two sorted runs: a linear merge
                os.pwrite(fd, h[order].tobytes(), out * 8)
                ids = np.concatenate([a.ids[i:i2], b.ids[j:j2]])
                os.pwrite(fd, ids[order].tobytes(), (n + out) * 8)
                out, i, j = out + len(h), i2, j2
        a.remove()
        b.remove()
        return Run(path, n)


def runs_folder(warehouse: str | None, owner: object) -> Path:
    """A new folder for one server's runs, beside its warehouse file (in the system's temporary
    folder for a warehouse in memory), removed when `owner` goes or the process ends. Folders
    left by a server that crashed are removed first: only one process at a time can write a
    warehouse, so any other is stale."""
    if warehouse:
        parent, prefix = Path(warehouse).parent, f".{Path(warehouse).name}.keys-"
        for stale in parent.glob(f"{prefix}*"):
            shutil.rmtree(stale, ignore_errors=True)
    else:
        parent, prefix = Path(tempfile.gettempdir()), ".cxhub-memory.keys-"
    folder = Path(tempfile.mkdtemp(prefix=prefix, dir=parent))
    weakref.finalize(owner, shutil.rmtree, str(folder), True)
    return folder
