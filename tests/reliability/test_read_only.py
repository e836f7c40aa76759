"""A warehouse that may not be written (a read-only file, or a read-only folder where DuckDB
cannot create its write-ahead log): every command says which file and why in one line, with
no traceback; the server still serves what it can read and answers writes with 503; and the
file, made writable again, holds exactly what it held."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from tests.conftest import run_cli
from tests.reliability.disks import plain_user, wait_healthy
from tests.web.conftest import Server, create_key, free_port

pytestmark = pytest.mark.slow


@pytest.fixture
def home(tmp_path: Path) -> Iterator[Path]:
    """A warehouse with 100 contacts and an ingest key; its modes put back afterwards."""
    home = tmp_path / "home"
    data = tmp_path / "contacts.csv"
    data.write_text("source,external_id,channel,created_at\n"
                    + "".join(f"shop,s{i},web,2024-01-0{1 + i % 9}\n" for i in range(100)))
    run_cli("ingest", "generic", "--kind", "contacts", str(data), home=home)
    try:
        yield home
    finally:
        home.chmod(0o755)
        (home / "cxhub.duckdb").chmod(0o644)


def _cxhub(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`cxhub ARGS` as an ordinary user, for whom file permissions apply."""
    return subprocess.run([*plain_user(), sys.executable, "-m", "cxhub", *args],
                          capture_output=True, text=True, timeout=120,
                          env={**os.environ, "CXHUB_HOME": str(home)})


def _one_line(proc: subprocess.CompletedProcess[str]) -> str:
    said = " ".join((proc.stdout + proc.stderr).split())  # rich wraps long lines
    assert proc.returncode == 2, said
    assert "Traceback" not in said, said
    return said


def _unchanged(home: Path) -> None:
    """Writable again: the file opens, reads and holds what it held."""
    home.chmod(0o755)
    (home / "cxhub.duckdb").chmod(0o644)
    rows = json.loads(run_cli("status", "--json", home=home).stdout)["rows"]
    assert (rows["contacts"], rows["ingest_batches"], rows["quarantine"]) == (100, 1, 0)


def test_a_read_only_warehouse_file_is_named_by_every_command(home: Path,
                                                              tmp_path: Path) -> None:
    more = tmp_path / "more.csv"
    more.write_text("source,external_id,channel,created_at\nshop,new1,web,2024-02-01\n")
    db = home / "cxhub.duckdb"
    db.chmod(0o444)
    for args in (("status",), ("ingest", "generic", "--kind", "contacts", str(more)),
                 ("serve", "--port", str(free_port()))):
        said = _one_line(_cxhub(home, *args))
        assert f"the warehouse {db} cannot be opened for writing: Permission denied" in said
    _unchanged(home)


@pytest.mark.slow  # a server of its own, started and stopped: 30-50 s on a busy machine
def test_a_read_only_folder_refuses_writes_and_still_reads(home: Path, tmp_path: Path) -> None:
    key = create_key(home, "ingest", name="ro")[1]
    more = tmp_path / "more.csv"
    more.write_text("source,external_id,channel,created_at\nshop,new1,web,2024-02-01\n")
    db = home / "cxhub.duckdb"
    home.chmod(0o555)  # the file may be written, but DuckDB's log beside it not created

    said = _one_line(_cxhub(home, "ingest", "generic", "--kind", "contacts", str(more)))
    assert f"{more}: the warehouse {db} could not be written: Permission denied" in said, said
    status = _cxhub(home, "status", "--json")  # reading needs no write
    assert status.returncode == 0 and json.loads(status.stdout)["rows"]["contacts"] == 100

    port = free_port()
    log = tmp_path / "serve.log"
    with open(log, "wb") as fh:
        proc = subprocess.Popen([*plain_user(), sys.executable, "-m", "cxhub", "serve",
                                 "--port", str(port)], stdout=fh, stderr=subprocess.STDOUT,
                                env={**os.environ, "CXHUB_HOME": str(home)})
    server = Server(f"http://127.0.0.1:{port}", home, proc, log)
    try:
        wait_healthy(server)
        with httpx.Client(base_url=server.url, timeout=60,
                          headers={"Authorization": f"Bearer {key}"}) as c:
            answer = c.post("/api/v1/contacts", json=[{
                "source": "shop", "external_id": "api1", "channel": "web",
                "created_at": "2026-03-01T10:00:00"}])
            assert answer.status_code == 503, answer.text
            assert "Permission denied" in answer.json()["detail"]
            for _ in range(5):  # each read finds the ready-made tables behind
                assert c.get("/").status_code == 200
                assert c.get("/public/api/summary").status_code == 200
                time.sleep(0.5)
            said = log.read_text()
            # The background work says so once, in one line naming the file and the reason; no
            # traceback at every tick or query (there were 32 in these seconds).
            assert "Traceback" not in said, said
            failed = [line for line in said.splitlines()
                      if line.startswith("refreshing the ready-made tables failed")]
            assert len(failed) == 1, said
            assert f"the warehouse {db} could not be written: Permission denied" in failed[0]

            home.chmod(0o755)  # room again: writes and the tables' refresh work, unasked
            assert c.post("/api/v1/contacts", json=[{
                "source": "shop", "external_id": "api1", "channel": "web",
                "created_at": "2026-03-01T10:00:00"}]).status_code == 201
            deadline = time.monotonic() + 90  # the next try is at most a minute away
            while "refreshing the ready-made tables works again" not in log.read_text():
                assert time.monotonic() < deadline, log.read_text()
                assert c.get("/public/api/summary").status_code == 200
                time.sleep(1)
    finally:
        server.stop()
    assert "Traceback" not in log.read_text(), log.read_text()
    rows = json.loads(run_cli("status", "--json", home=home).stdout)["rows"]
    assert (rows["contacts"], rows["quarantine"]) == (101, 0)
