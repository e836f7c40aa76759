"""A full disk: the server answers 503 with the reason and keeps running, the CLI says which
file could not be written, nothing half-written stays in the warehouse, and once there is room
again the same requests store everything exactly once. (The disk is a small tmpfs that really
fills up: see disks.py.)"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import httpx
import pytest
from tests.reliability.disks import SmallDisk

BATCH = 1000
TEXT = "the router has been dead since Monday and nobody calls back " * 6


@pytest.fixture
def disk(tmp_path: Path) -> Iterator[SmallDisk]:
    small = SmallDisk(tmp_path / "disk", "8m")
    try:
        yield small
    finally:
        small.close()


def _rows(disk: SmallDisk) -> dict[str, int]:
    status = disk.cxhub("status", "--json")
    assert status.returncode == 0, status.stderr
    return json.loads(status.stdout)["rows"]  # type: ignore[no-any-return]


def _batch(n: int) -> list[dict[str, Any]]:
    return [{"source": "shop", "external_id": f"f{n}-{i}", "channel": "email",
             "created_at": "2026-03-02T10:00:00", "text": f"{TEXT} {n}-{i}"}
            for i in range(BATCH)]


@pytest.mark.slow
def test_a_full_disk_refuses_api_writes_cleanly_and_recovers(disk: SmallDisk,
                                                             tmp_path: Path) -> None:
    made = disk.cxhub("keys", "create", "--name", "full", "--scope", "ingest")
    assert made.returncode == 0, made.stderr
    key = made.stdout.strip().splitlines()[0]
    disk.fill("filler", 3 << 20)  # removed later: the operator making room
    server = disk.serve(tmp_path / "serve.log")
    headers = {"Authorization": f"Bearer {key}"}
    acked: dict[int, list[int]] = {}
    refused: list[int] = []
    try:
        with httpx.Client(base_url=server.url, headers=headers, timeout=60) as c:
            for n in range(60):
                answer = c.post("/api/v1/contacts", json=_batch(n))
                if answer.status_code == 503:
                    refused.append(n)
                    detail = answer.json()["detail"]
                    assert "No space left on device" in detail, detail
                    assert "nothing of this request was stored" in detail, detail
                    if len(refused) == 3:
                        break
                    continue
                assert answer.status_code == 201, answer.text
                acked[n] = answer.json()["ids"]
            assert acked and len(refused) == 3, (len(acked), refused)
            # Still serving, and reads answer.
            assert c.get("/healthz").status_code == 200
            assert c.get("/").status_code == 200

            gone = disk.run("rm", str(disk.at / "filler"))
            assert gone.returncode == 0, gone.stderr
            for n in refused:  # the same requests, once there is room: stored, whole
                answer = c.post("/api/v1/contacts", json=_batch(n))
                assert answer.status_code == 201, answer.text
                assert answer.json()["created"] == BATCH
            for n, ids in acked.items():  # and what was acknowledged is there as it was
                answer = c.post("/api/v1/contacts", json=_batch(n))
                assert answer.json() == {"ids": ids, "created": 0, "existing": BATCH}
    finally:
        server.stop()
    log = server.log.read_text()
    assert f"the warehouse {disk.at / 'cxhub.duckdb'} could not be written: No space left on " \
        "device" in log, log[-3000:]
    rows = _rows(disk)
    assert rows["contacts"] == BATCH * (len(acked) + len(refused))


@pytest.mark.slow
def test_a_full_disk_stops_a_load_with_the_file_named(disk: SmallDisk, tmp_path: Path) -> None:
    earlier = tmp_path / "earlier.csv"
    earlier.write_text("source,external_id,channel,created_at\n"
                       + "".join(f"shop,s{i},web,2024-01-0{1 + i % 9}\n" for i in range(100)))
    assert disk.cxhub("ingest", "generic", "--kind", "contacts", str(earlier)).returncode == 0
    big = tmp_path / "contacts.csv"
    duckdb.connect().execute(f"""
        COPY (SELECT 'crm' AS source, 'c' || i AS external_id, 'email' AS channel,
                     TIMESTAMP '2024-01-01' + INTERVAL (i) SECOND AS created_at,
                     '{TEXT}' || i AS text
              FROM range(200000) t(i)) TO '{big}' (HEADER)""")
    before = _rows(disk)

    load = disk.cxhub("ingest", "generic", "--kind", "contacts", str(big))

    assert load.returncode == 2, load.stdout + load.stderr
    said = " ".join((load.stdout + load.stderr).split())  # rich wraps long lines
    assert "Traceback" not in said
    assert str(disk.at / "cxhub.duckdb") in said and "No space left on device" in said, said
    assert str(big) in said, said
    # Nothing of it stored, the earlier load whole, and the file opens and reads as before.
    assert _rows(disk) == before
    assert before["contacts"] == 100 and before["ingest_batches"] == 1
