"""A load killed midway leaves all of its batch or none of it, and the file stays usable."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from cxhub.ingest.loader import ingest_file
from cxhub.ingest.mapping import load_mapping
from cxhub.warehouse import Warehouse

ROWS = 2_000_000
BAD_EVERY = 400_000  # rows 7, 400,007 ... have a negative wait: quarantined in the same batch
BAD = len(range(7, ROWS, BAD_EVERY))

# The loader in its own process, announcing each phase so the test knows when rows are
# being inserted.
LOADER = """
import sys
from pathlib import Path
from cxhub.ingest.loader import ingest_file
from cxhub.ingest.mapping import load_mapping
from cxhub.warehouse import Warehouse

wh = Warehouse.open(sys.argv[1])
ingest_file(wh, load_mapping("generic", kind="contacts"), Path(sys.argv[2]),
            on_phase=lambda phase: print(phase, flush=True))
print("done", flush=True)
wh.close()
"""


def _write_contacts(path: Path) -> None:
    con = duckdb.connect()
    con.execute(f"""
        COPY (SELECT 'crm' AS source, 'c' || i AS external_id,
                     ['phone', 'email', 'chat', 'web'][1 + i % 4] AS channel,
                     TIMESTAMP '2024-01-01' + INTERVAL (i) SECOND AS created_at,
                     CASE WHEN i % {BAD_EVERY} = 7 THEN -1 ELSE i % 600 END AS wait_seconds,
                     'queue ' || (i % 7) AS queue
              FROM range({ROWS}) t(i))
        TO '{path}' (HEADER, DELIMITER ',')""")
    con.close()


def _kill_while_inserting(db: Path, csv: Path) -> None:
    """Start the loader; SIGKILL it once the insert has put uncommitted data in the file."""
    proc = subprocess.Popen([sys.executable, "-c", LOADER, str(db), str(csv)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        phases = []
        for line in proc.stdout:
            phases.append(line.strip())
            if phases[-1] == "writing":
                break
        assert phases[-1:] == ["writing"], f"loader stopped early: {phases} {proc.stderr.read()}"
        size = db.stat().st_size
        deadline = time.monotonic() + 120
        while (proc.poll() is None and db.stat().st_size < size + (1 << 20)
               and time.monotonic() < deadline):
            time.sleep(0.02)
        assert proc.poll() is None, "the load finished before it could be killed"
        assert db.stat().st_size >= size + (1 << 20), "no rows reached the file in time"
        proc.send_signal(signal.SIGKILL)
        assert proc.wait(timeout=30) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.mark.slow
def test_a_load_killed_midway_leaves_all_or_nothing(tmp_path: Path) -> None:
    db = tmp_path / "cxhub.duckdb"
    csv = tmp_path / "contacts.csv"
    _write_contacts(csv)
    mapping = load_mapping("generic", kind="contacts")
    earlier = tmp_path / "earlier" / "contacts.csv"
    earlier.parent.mkdir()
    earlier.write_text("source,external_id,channel,created_at\n"
                       + "".join(f"shop,s{i},web,2024-01-0{1 + i % 9}\n" for i in range(100)))
    with Warehouse.open(db) as wh:
        assert ingest_file(wh, mapping, earlier).loaded == 100

    _kill_while_inserting(db, csv)

    big = str(csv.resolve())
    with Warehouse.open(db) as wh:
        loaded = wh.read_one("SELECT count(*) FROM contacts WHERE source = 'crm'")[0]  # type: ignore[index]
        batches = wh.read("SELECT rows_loaded, status FROM ingest_batches WHERE path = ?", [big])
        quarantined = wh.read_one("SELECT count(*) FROM quarantine WHERE file = ?", [big])[0]  # type: ignore[index]
        assert (loaded, batches, quarantined) in [
            (0, [], 0), (ROWS - BAD, [(ROWS - BAD, "loaded")], BAD)
        ]
        # The batch committed before the crash is untouched.
        assert wh.read_one("SELECT count(*) FROM contacts WHERE source = 'shop'") == (100,)

        result = ingest_file(wh, mapping, csv)
        assert result.loaded + result.existing == ROWS - BAD
        assert wh.read_one(
            "SELECT count(*), count(DISTINCT external_id), count(DISTINCT contact_id) "
            "FROM contacts WHERE source = 'crm'") == (ROWS - BAD,) * 3
        assert wh.read_one("SELECT count(*) FROM quarantine WHERE file = ?", [big]) == (BAD,)
        assert wh.read_one("SELECT count(*) FROM ingest_batches WHERE path = ? "
                           "AND rows_loaded > 0", [big]) == (1,)
