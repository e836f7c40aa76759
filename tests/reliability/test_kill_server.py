"""`cxhub serve` killed with SIGKILL while clients post batches, then started again: every
batch it acknowledged is stored with the ids it gave, a batch it had not yet answered is stored
whole or not at all, and sending every batch again changes nothing.

Real processes: the server, four client threads posting batches of contacts, and a second
server on the same warehouse file after the kill.
"""

from __future__ import annotations

import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.web.conftest import Server, create_key, start

from cxhub.warehouse import Warehouse

CLIENTS, BATCH = 4, 500
ACKED_BEFORE_KILL = 12  # batches answered before the kill: writes are under way by then


def _batch(client: int, n: int) -> list[dict[str, Any]]:
    return [{"source": "shop", "external_id": f"k{client}-{n}-{i}", "channel": "web",
             "created_at": f"2026-03-0{1 + i % 9}T10:{i % 60:02d}:00",
             "wait_seconds": i % 300, "text": f"order {n} of client {client}"}
            for i in range(BATCH)]


class Clients:
    """Threads posting new batches until the server goes away; what each batch got back."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.sent: dict[tuple[int, int], list[dict[str, Any]]] = {}
        self.acked: dict[tuple[int, int], list[int]] = {}  # batch -> ids the server gave
        self.lock = threading.Lock()
        self.stop = threading.Event()

    def run(self, client: int) -> None:
        with self.server.client("ingest") as c:
            for n in range(10_000):
                if self.stop.is_set():
                    return
                rows = _batch(client, n)
                with self.lock:
                    self.sent[(client, n)] = rows
                try:
                    answer = c.post("/api/v1/contacts", json=rows)
                except httpx.TransportError:  # the server was killed mid-request
                    return
                assert answer.status_code == 201, answer.text
                with self.lock:
                    self.acked[(client, n)] = answer.json()["ids"]


def _post_all(server: Server, batches: dict[tuple[int, int], list[dict[str, Any]]]
              ) -> dict[tuple[int, int], dict[str, Any]]:
    def post(item: tuple[tuple[int, int], list[dict[str, Any]]]) -> tuple[Any, Any]:
        with server.client("ingest") as c:
            answer = c.post("/api/v1/contacts", json=item[1])
        assert answer.status_code in (200, 201), answer.text
        return item[0], answer.json()

    with ThreadPoolExecutor(CLIENTS) as pool:
        return dict(pool.map(post, batches.items()))


@pytest.mark.slow
def test_server_killed_during_batch_writes_loses_nothing_acknowledged(tmp_path: Path) -> None:
    key = create_key(tmp_path, "ingest", name="kill")[1]
    server = start(tmp_path)
    server.keys = {"ingest": key}
    clients = Clients(server)
    threads = [threading.Thread(target=clients.run, args=(i,)) for i in range(CLIENTS)]
    try:
        for t in threads:
            t.start()
        deadline = time.monotonic() + 120
        while len(clients.acked) < ACKED_BEFORE_KILL:
            assert time.monotonic() < deadline, "the server acknowledged too few batches"
            assert all(t.is_alive() for t in threads), "a client stopped before the kill"
            time.sleep(0.01)
        server.process.send_signal(signal.SIGKILL)
        assert server.process.wait(timeout=30) == -signal.SIGKILL
    finally:
        clients.stop.set()
        for t in threads:
            t.join(timeout=60)
        server.stop()
    acked = dict(clients.acked)
    unanswered = {b: rows for b, rows in clients.sent.items() if b not in acked}
    assert unanswered, "every batch was answered: the kill came between two batches"

    again = start(tmp_path)
    again.keys = {"ingest": key}
    try:
        first = _post_all(again, clients.sent)
        second = _post_all(again, clients.sent)
    finally:
        again.stop()

    for batch, ids in acked.items():  # stored, under the ids the server gave
        assert first[batch] == {"ids": ids, "created": 0, "existing": BATCH}, batch
    for batch in unanswered:  # stored whole, or not at all
        assert (first[batch]["created"], first[batch]["existing"]) in [(BATCH, 0), (0, BATCH)]
    for batch, answer in second.items():  # and sending it all again changes nothing
        assert answer == {"ids": first[batch]["ids"], "created": 0, "existing": BATCH}, batch

    with Warehouse.open(tmp_path / "cxhub.duckdb") as wh:
        rows, keys, ids = wh.read_one(
            "SELECT count(*), count(DISTINCT external_id), count(DISTINCT contact_id) "
            "FROM contacts")  # type: ignore[misc]
        stored = {r[0]: r[1] for r in wh.read("SELECT external_id, contact_id FROM contacts")}
    assert rows == keys == ids == BATCH * len(clients.sent)
    for batch, rows_sent in clients.sent.items():
        assert [stored[r["external_id"]] for r in rows_sent] == first[batch]["ids"]
