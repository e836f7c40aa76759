"""Through a real server and the CLI: a contact POSTed to the API is labelled within seconds;
`cxhub classify evaluate --json` prints the figures a user's script reads."""

from __future__ import annotations

import csv
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from tests.conftest import run_cli
from tests.web.conftest import Server, create_key, start

ASKS = {
    "complaint": ["I want to make a formal complaint about {}", "{} is unacceptable, I'm angry",
                  "very disappointed with {}, I want to escalate"],
    "compliment": ["thank you so much for {}", "{} was excellent, well done",
                   "really impressed with {}"],
    "problem": ["{} is not working", "{} keeps failing with an error", "{} broke again"],
}
TOPICS = ["the bill", "the delivery", "the router", "the app", "the advisor", "my payment"]


def write_csv(path: Path, n_each: int, seed: int) -> Path:
    rng = np.random.default_rng(seed)
    with open(path, "w", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(["text", "label"])
        for label, frames in ASKS.items():
            for _ in range(n_each):
                out.writerow([str(rng.choice(frames)).format(rng.choice(TOPICS)), label])
    return path


def labels_of(server: Server, contact_id: int) -> dict[str, dict[str, Any]]:
    body = server.get(f"/api/v1/contacts/{contact_id}").json()
    return {row["dimension"]: row for row in body["labels"]}


def post_contact(server: Server, external_id: str, text: str) -> tuple[int, float]:
    response = server.post("/api/v1/contacts", {
        "source": "webform", "external_id": external_id, "channel": "web",
        "created_at": "2026-01-05T10:00:00", "text": text})
    assert response.status_code == 201, response.text
    return response.json()["id"], time.monotonic()


def wait_for(server: Server, contact_id: int, dimensions: set[str],
             timeout: float) -> tuple[dict[str, dict[str, Any]], float]:
    began = time.monotonic()
    while True:
        found = labels_of(server, contact_id)
        if dimensions <= set(found):
            return found, time.monotonic() - began
        assert time.monotonic() - began < timeout, (
            f"contact {contact_id} has {sorted(found)} after {timeout} s; log:\n"
            f"{server.log.read_text()[-3000:]}")
        time.sleep(0.1)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    """A server whose warehouse has a trained category model registered before it starts; cause
    has none, so the background classifier uses the zero-shot fallback for it."""
    home = tmp_path / "home"
    home.mkdir()
    train = write_csv(tmp_path / "train.csv", 20, seed=1)
    run_cli("classify", "train", "--dimension", "category", "--from-csv", str(train),
            home=home)
    key = create_key(home, "ingest", "read")[1]
    running = start(home)
    running.keys = {"ingest_read": key}
    try:
        yield running
    finally:
        running.stop()


@pytest.mark.slow
def test_a_contact_posted_to_the_api_is_labelled_by_the_background_loop(server: Server) -> None:
    # Nothing but the server's own loop labels these contacts. How fast (seconds, at the
    # loop's interval) is a figure for a benchmark, not a timed test: the waits below only
    # bound the polling on a busy machine.
    first, _ = post_contact(server, "w1", "The router is not working at all since Monday")
    wait_for(server, first, {"category", "cause"}, timeout=60)  # the loop may still warm up
    second, _ = post_contact(server, "w2", "I want to make a formal complaint about "
                                           "the advisor who hung up on me")
    found, _ = wait_for(server, second, {"category", "cause"}, timeout=60)
    assert found["category"]["label"] == "complaint"
    assert found["category"]["model"] == "linear" and not found["category"]["is_human"]
    assert found["cause"]["model"] == "zeroshot"
    assert 0 < found["category"]["score"] <= 1


@pytest.mark.slow
def test_evaluate_prints_accuracy_and_macro_f1_as_json(tmp_path: Path) -> None:
    train = write_csv(tmp_path / "train.csv", 30, seed=2)
    test = write_csv(tmp_path / "test.csv", 10, seed=3)
    proc = run_cli("classify", "evaluate", "--train", str(train), "--test", str(test),
                   "--text-col", "text", "--label-col", "label", "--json", home=tmp_path)
    result = json.loads(proc.stdout)
    assert result["n_test"] == 30 and result["n_train"] == 90
    assert result["accuracy"] >= 0.9 and 0.9 <= result["macro_f1"] <= 1
    few = json.loads(run_cli("classify", "evaluate", "--train", str(train), "--test", str(test),
                             "--per-class", "5", "--json", home=tmp_path).stdout)
    assert few["n_train"] == 15 and few["n_test"] == 30
    bad = run_cli("classify", "evaluate", "--train", str(train), "--test", str(test),
                  "--label-col", "intent", home=tmp_path, check=False)
    assert bad.returncode == 2 and "has no column intent" in bad.stderr


@pytest.mark.slow
def test_run_label_and_suggest_from_the_command_line(tmp_path: Path) -> None:
    from cxhub.warehouse import Warehouse

    rng = np.random.default_rng(4)
    with Warehouse.open(tmp_path / "cxhub.duckdb") as wh:
        wh.write(lambda con: con.executemany(
            "INSERT INTO contacts (contact_id, source, external_id, channel, created_at, text) "
            "VALUES (?, 'crm', ?, 'email', TIMESTAMP '2026-01-05 10:00:00', ?)",
            [[i, f"c{i}", str(rng.choice(ASKS[k])).format(rng.choice(TOPICS))]
             for i, k in enumerate([k for k in ASKS for _ in range(5)], start=1)]))
    # Keywords alone: these few texts need no sentence embeddings (nor their load time).
    run = json.loads(run_cli("classify", "run", "--zero-shot", "lexical", "--json",
                             home=tmp_path).stdout)
    assert run["written"]["contacts"]["category"] == 15
    assert run["models"]["category"]["kind"] == "zeroshot"
    run_cli("classify", "label", "contacts", "3", "--dimension", "category", "--label", "idea",
            "--user", "ana", home=tmp_path)
    bad = run_cli("classify", "label", "contacts", "3", "--dimension", "category", "--label",
                  "praise", home=tmp_path, check=False)
    assert bad.returncode == 2 and "'praise' is not a category" in bad.stderr
    suggested = json.loads(run_cli("classify", "suggest", "--limit", "4", "--zero-shot",
                                   "lexical", "--json", home=tmp_path).stdout)
    assert len(suggested) == 4 and all(s["id"] != 3 for s in suggested)
