"""How the warehouse file is opened: attached with cxhub's row group size (so a checkpoint under
steady writes has little to write again), its cursors reading the file's tables, spills beside
the file, and a second open of the same file in one process refused with a clear error."""

from __future__ import annotations

import threading
from pathlib import Path

import duckdb
import pytest

from cxhub.domain.errors import WarehouseBusyError
from cxhub.warehouse import Warehouse
from cxhub.warehouse.database import ROW_GROUP_SIZE


def _append(wh: Warehouse, first: int, n: int) -> None:
    wh.write(lambda con: con.execute(
        "INSERT INTO t SELECT range, 'x' || range FROM range(?, ?)", [first, first + n]))


def test_appended_rows_go_into_row_groups_of_cxhubs_size(tmp_path: Path) -> None:
    with Warehouse.open(tmp_path / "cxhub.duckdb") as wh:
        wh.write(lambda con: con.execute("CREATE TABLE t (i BIGINT, s VARCHAR)"))
        for k in range(8):  # appends of 20,000 rows with a checkpoint after each
            _append(wh, k * 20_000, 20_000)
            wh.write(lambda con: con.execute("CHECKPOINT"), groupable=False)
        sizes = [n for (n,) in wh.read(
            "SELECT max(count) FROM pragma_storage_info('t') GROUP BY row_group_id")]
    assert sum(sizes) == 160_000
    # DuckDB's default would keep up to 122,880 rows a group (and write one again whole at
    # every checkpoint until it is full).
    assert ROW_GROUP_SIZE < 122_880
    assert max(sizes) == ROW_GROUP_SIZE


def test_cursors_read_the_files_tables_in_any_thread(tmp_path: Path) -> None:
    with Warehouse.open(tmp_path / "cxhub.duckdb") as wh:
        wh.write(lambda con: con.execute("CREATE TABLE t (i BIGINT, s VARCHAR)"))
        _append(wh, 0, 3)
        seen: list[object] = []
        thread = threading.Thread(target=lambda: seen.append(wh.read("SELECT count(*) FROM t")))
        thread.start()
        thread.join()
        assert seen == [[(3,)]]
        own = wh.new_cursor()
        assert own.execute("SELECT count(*), current_database() FROM t").fetchall() == [
            (3, "cxhub")]
        # A bare DuckDB cursor of the connection starts in the in-memory catalog.
        with pytest.raises(duckdb.CatalogException):
            own.cursor().execute("SELECT count(*) FROM t")
        directory = wh.read("SELECT current_setting('temp_directory')")[0][0]
    assert Path(directory) == tmp_path / "cxhub.duckdb.tmp"


def test_a_file_written_with_duckdbs_defaults_opens_and_grows(tmp_path: Path) -> None:
    path = tmp_path / "old.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE t AS SELECT range AS i, 'x' AS s FROM range(200000)")
    con.close()
    with Warehouse.open(path) as wh:
        _append(wh, 200_000, 1_000)
        assert wh.read("SELECT count(*), count(DISTINCT i) FROM t") == [(201_000, 201_000)]
    with Warehouse.open(path, read_only=True) as wh:
        assert wh.read("SELECT max(i) FROM t") == [(200_999,)]


def test_a_second_open_in_the_same_process_is_refused_not_shared(tmp_path: Path) -> None:
    path = tmp_path / "cxhub.duckdb"
    with Warehouse.open(path):
        with pytest.raises(WarehouseBusyError, match="already open in this process"):
            Warehouse.open(path)
    with Warehouse.open(path) as again:  # once closed, it opens
        assert again.version > 0
