"""The key index keeps only its latest keys in memory and writes older ones out as sorted runs
beside the warehouse (`cxhub.ingest.key_runs`), so a server's memory does not grow with its
tables; it must still tell every stored key from a new one, whether the index was built from the
table at the start or grew flush by flush, and leave no file behind. Runs are made tiny here so
that a few hundred keys use several of them."""

from __future__ import annotations

import errno
import shutil
from pathlib import Path

import numpy as np
import pytest
from tests.warehouse.test_write_path import check_consistent, contact

from cxhub.domain.canonical import CONTACTS
from cxhub.domain.errors import WarehouseUnavailableError
from cxhub.ingest import key_runs
from cxhub.ingest import keys as keys_module
from cxhub.ingest.key_runs import Runs
from cxhub.ingest.keys import known
from cxhub.ingest.sink import RecordSink
from cxhub.ingest.upsert import write_rows
from cxhub.warehouse import Warehouse


@pytest.fixture
def small_runs(monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr(keys_module, "RUN_KEYS", 16)
    monkeypatch.setattr(keys_module, "RECENT_KEYS", 4)
    monkeypatch.setattr(key_runs, "MERGE_CHUNK", 8)
    return 16


def run_files(wh: Warehouse) -> list[Path]:
    return sorted(wh.path.parent.glob(f".{wh.path.name}.keys-*/*.keys"))


def test_keys_built_from_the_table_into_a_run_are_all_found(
    warehouse: Warehouse, small_runs: int
) -> None:
    """200 stored keys, then a sink (its index built from the table): 192 keys go to a run on
    disk, the latest 8 stay in memory; each stored key, asked again, gets its id."""
    names = [f"k{i}" for i in range(200)]
    warehouse.write(lambda con: write_rows(con, CONTACTS, [[contact(k) for k in names]]))
    stored = dict(warehouse.read("SELECT external_id, contact_id FROM contacts"))
    sink = RecordSink(warehouse)
    index = warehouse.writer.run(lambda con: known(con).index(CONTACTS))
    assert index._runs is not None and [r.n for r in index._runs.runs] == [192]
    assert sorted(index._ids.tolist()) == [stored[f"k{i}"] for i in range(192, 200)]
    asked = names[::7] + ["new-1", "new-2"]
    written = sink.submit("contacts", [contact(k) for k in asked]).result(timeout=30)
    assert [(w.id, w.created) for w in written[:-2]] == [(stored[k], False) for k in names[::7]]
    assert [w.created for w in written[-2:]] == [True, True]
    assert warehouse.read_one("SELECT count(*) FROM contacts") == (202,)
    check_consistent(warehouse)


def test_keys_written_out_flush_by_flush_are_all_found(
    warehouse: Warehouse, small_runs: int
) -> None:
    """A sink on an empty table, 150 keys in flushes of 5: the index writes runs of 16 keys as
    it goes and merges them (at most one run of each size), and every key sent again (alone,
    with new ones, from several runs at once) gets its first id."""
    sink = RecordSink(warehouse)
    ids = {}
    for start in range(0, 150, 5):
        batch = [f"s{i}" for i in range(start, start + 5)]
        for key, w in zip(batch, sink.submit("contacts", [contact(k) for k in batch]).result(30),
                          strict=True):
            assert w.created
            ids[key] = w.id
    index = warehouse.writer.run(lambda con: known(con).index(CONTACTS))
    assert index._runs is not None
    sizes = [r.n for r in index._runs.runs]
    assert sizes == sorted(sizes, reverse=True) and len(set(sizes)) == len(sizes)
    assert sum(sizes) + len(index._ids) + len(index._recent) == 150 and sum(sizes) >= 128
    assert len(run_files(warehouse)) == len(sizes)
    again = ["s0", "s77", "s149", "brand-new", "s16", "s31"]
    written = sink.submit("contacts", [contact(k) for k in again]).result(timeout=30)
    assert [(w.id, w.created) for w in written] == [
        (ids[k], False) if k in ids else (151, True) for k in again]
    check_consistent(warehouse)


def test_merged_runs_hold_every_key_in_order(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """Runs merged a few keys at a time (hashes that interleave, repeat across chunks' ends,
    and sit at either end of the range) are one sorted run with each hash's own id."""
    monkeypatch.setattr(key_runs, "MERGE_CHUNK", 3)
    rng = np.random.default_rng(7)
    top = np.iinfo(np.uint64).max
    hashes = np.unique(np.concatenate([rng.integers(0, 2**63, 40, dtype=np.uint64) * 2,
                                       np.array([0, 1, top - 1], np.uint64)]))
    ids = rng.permutation(len(hashes)).astype(np.int64)
    runs = Runs(tmp_path, "t")
    parts = np.array_split(rng.permutation(len(hashes)), 4)
    for part in parts:
        part = np.sort(part)  # each run sorted by hash, as the index writes them
        runs.add(hashes[part], ids[part])
    assert len(runs.runs) < 4 and len(runs) == len(hashes)
    everything = {int(h): int(i) for h, i in zip(hashes, ids, strict=True)}
    assert runs.find(hashes) == everything
    assert runs.find(np.array([3, 5, top - 3], np.uint64)) == {}
    for run in runs.runs:
        assert np.all(np.diff(run.hashes.astype(np.float64)) >= 0)
    runs.clear()
    assert not list(tmp_path.iterdir())


def test_the_runs_go_when_the_warehouse_closes_and_stale_ones_at_the_next_start(
    tmp_path: Path, migrated_file: Path, small_runs: int
) -> None:
    path = tmp_path / "cxhub.duckdb"
    shutil.copyfile(migrated_file, path)
    stale = tmp_path / f".{path.name}.keys-left-by-a-crash"
    stale.mkdir()
    (stale / "contacts-1.keys").write_bytes(b"\0" * 32)
    wh = Warehouse.open(path)
    try:
        sink = RecordSink(wh)
        sink.submit("contacts", [contact(f"c{i}") for i in range(40)]).result(timeout=30)
        assert run_files(wh) and not stale.exists()
    finally:
        wh.close()
    assert not list(tmp_path.glob(f".{path.name}.keys-*"))


def test_a_run_the_disk_refuses_fails_its_flush_cleanly(
    warehouse: Warehouse, small_runs: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A full disk when the index writes a run: the flush is refused with the warehouse's
    disk error (the API's 503), nothing of it is stored, and once there is room the same rows
    are stored exactly once."""
    sink = RecordSink(warehouse)
    sink.submit("contacts", [contact(f"a{i}") for i in range(12)]).result(timeout=30)

    def full(*_: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    rows = [contact(f"b{i}") for i in range(12)]
    with monkeypatch.context() as disk_full:
        disk_full.setattr(Runs, "_path", full)  # the run's file cannot be made
        with pytest.raises(WarehouseUnavailableError, match="No space left on device"):
            sink.submit("contacts", rows).result(timeout=30)
    assert warehouse.read_one("SELECT count(*) FROM contacts") == (12,)
    written = sink.submit("contacts", rows).result(timeout=30)
    assert [w.created for w in written] == [True] * 12
    index = warehouse.writer.run(lambda con: known(con).index(CONTACTS))
    assert index._runs is not None and len(index._runs) >= 16  # written this time
    again = sink.submit("contacts", rows[:3] + [contact("a5")]).result(timeout=30)
    assert [w.created for w in again] == [False] * 4
    assert warehouse.read_one("SELECT count(*) FROM contacts") == (24,)
    check_consistent(warehouse)
