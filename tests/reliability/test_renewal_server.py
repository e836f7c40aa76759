"""A server that renews its warehouse's DuckDB instance every 1.2 s (`CXHUB_RENEW_MINUTES`,
10 minutes by default) while clients post batches of contacts and read the public page and a
metric: every request answers, every acknowledged contact is stored once, and the renewals
happened. In-process (uvicorn in a thread), so that the app's renewal count can be read; the
HTTP, the warehouse file and every background thread are the real ones."""

from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from tests.web.conftest import create_key, free_port

from cxhub.settings import Settings
from cxhub.warehouse import Warehouse
from cxhub.web.app import create_app

READS = ["/", "/public/api/summary", "/public/api/demand?grain=hour", "/public/api/live",
         "/api/v1/metrics/contacts?by=day"]


def _batch(writer: int, n: int) -> list[dict[str, Any]]:
    at = datetime.now(UTC).replace(tzinfo=None) - timedelta(minutes=5)
    return [{"source": "shop", "external_id": f"w{writer}-{n}-{i}", "channel": "chat",
             "created_at": at.isoformat(timespec="seconds"), "wait_seconds": 20 + i % 90,
             "text": "where is my parcel"} for i in range(200)]


def test_renewals_while_serving_lose_nothing_and_fail_nothing(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    key = create_key(home, "ingest", "read", name="renewals")[1]
    app = create_app(Settings(home=home, renew_minutes=0.02))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=free_port(),
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the server did not start"
        time.sleep(0.05)
    url = f"http://127.0.0.1:{server.config.port}"
    stop = threading.Event()
    statuses: Counter[str] = Counter()
    acked: list[int] = []

    def write(writer: int) -> None:
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"},
                          timeout=30) as client:
            n = 0
            while not stop.is_set():
                answer = client.post("/api/v1/contacts", json=_batch(writer, n))
                statuses[f"POST {answer.status_code}"] += 1
                if answer.status_code == 201:
                    acked.extend(answer.json()["ids"])
                n += 1

    def read() -> None:
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"},
                          timeout=30) as client:
            while not stop.is_set():
                for path in READS:
                    statuses[f"GET {client.get(path).status_code}"] += 1

    workers = [threading.Thread(target=write, args=(w,)) for w in range(3)]
    workers.append(threading.Thread(target=read))
    try:
        for w in workers:
            w.start()
        time.sleep(12)
    finally:
        stop.set()
        for w in workers:
            w.join(60)
        renewal, wh = app.state.renewal, app.state.warehouse
        renewed, generation = renewal.renewed, wh.generation
        server.should_exit = True
        thread.join(60)

    assert set(statuses) <= {"POST 201", "GET 200"}, statuses
    assert statuses["GET 200"] > 20 and statuses["POST 201"] > 20
    assert renewed >= 3 and generation >= renewed, (renewed, generation)
    with Warehouse.open(home / "cxhub.duckdb") as stored:
        count, distinct = stored.read_one(
            "SELECT count(*), count(DISTINCT external_id) FROM contacts WHERE source = 'shop'")
    assert count == distinct == len(acked) == len(set(acked))
