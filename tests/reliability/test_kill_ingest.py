"""`cxhub ingest` killed with SIGKILL while it writes a large file: nothing of that load is
visible afterwards, the load before it is untouched, and running the command again loads the
file once. (tests/warehouse/test_ingest_crash.py kills the loader function in a process of its
own with a quarantined row; this kills the command a user runs.)"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest
from tests.conftest import run_cli

from cxhub.warehouse import Warehouse

ROWS = 600_000
GROWTH = 1 << 20  # bytes the warehouse must grow by before the kill: rows are being written


def _write_contacts(path: Path) -> None:
    con = duckdb.connect()
    con.execute(f"""
        COPY (SELECT 'crm' AS source, 'c' || i AS external_id,
                     ['phone', 'email', 'chat', 'web'][1 + i % 4] AS channel,
                     TIMESTAMP '2024-01-01' + INTERVAL (i) SECOND AS created_at,
                     i % 600 AS wait_seconds, 'queue ' || (i % 7) AS queue
              FROM range({ROWS}) t(i))
        TO '{path}' (HEADER, DELIMITER ',')""")
    con.close()


def _size(home: Path) -> int:
    return sum(p.stat().st_size for p in home.glob("cxhub.duckdb*"))


def _counts(db: Path, big: Path) -> tuple[int, int, int, int]:
    with Warehouse.open(db) as wh:
        return (
            wh.read_one("SELECT count(*) FROM contacts WHERE source = 'crm'")[0],  # type: ignore[index]
            wh.read_one("SELECT count(*) FROM ingest_batches WHERE path = ?", [str(big)])[0],  # type: ignore[index]
            wh.read_one("SELECT count(*) FROM quarantine")[0],  # type: ignore[index]
            wh.read_one("SELECT count(*) FROM contacts WHERE source = 'shop'")[0],  # type: ignore[index]
        )


@pytest.mark.slow
def test_ingest_killed_midway_leaves_nothing_and_runs_again_once(tmp_path: Path) -> None:
    home, big = tmp_path / "home", (tmp_path / "contacts.csv").resolve()
    _write_contacts(big)
    earlier = tmp_path / "earlier.csv"
    earlier.write_text("source,external_id,channel,created_at\n"
                       + "".join(f"shop,s{i},web,2024-01-0{1 + i % 9}\n" for i in range(100)))
    run_cli("ingest", "generic", "--kind", "contacts", str(earlier), home=home)

    before = _size(home)
    proc = subprocess.Popen(
        [sys.executable, "-m", "cxhub", "--home", str(home), "ingest", "generic", "--kind",
         "contacts", "--json", str(big)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 180
        while (proc.poll() is None and _size(home) < before + GROWTH
               and time.monotonic() < deadline):
            time.sleep(0.01)
        assert proc.poll() is None, "the load finished before it could be killed"
        assert _size(home) >= before + GROWTH, "no rows reached the warehouse in time"
        proc.send_signal(signal.SIGKILL)
        assert proc.wait(timeout=30) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()

    # Nothing of the killed load: no rows, no batch, no quarantine; the earlier load whole.
    assert _counts(home / "cxhub.duckdb", big) == (0, 0, 0, 100)

    first = run_cli("ingest", "generic", "--kind", "contacts", "--json", str(big), home=home)
    assert '"loaded": 600000' in first.stdout, first.stdout
    again = run_cli("ingest", "generic", "--kind", "contacts", "--json", str(big), home=home)
    assert '"loaded": 0' in again.stdout and '"existing": 600000' in again.stdout, again.stdout
    assert _counts(home / "cxhub.duckdb", big) == (ROWS, 2, 0, 100)
    with Warehouse.open(home / "cxhub.duckdb") as wh:
        assert wh.read_one("SELECT count(DISTINCT external_id), count(DISTINCT contact_id) "
                           "FROM contacts WHERE source = 'crm'") == (ROWS, ROWS)
        assert wh.read("SELECT rows_loaded FROM ingest_batches WHERE path = ? "
                       "ORDER BY batch_id", [str(big)]) == [(ROWS,), (0,)]
