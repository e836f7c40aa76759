"""Every public response carries aggregates only: no e-mail, name, id or free text from the data,
and no figure built from fewer than `min_public_count` contacts.

A real server runs on a small demo company plus planted records made to leak if anything
could: letters (3 of them, a small count) whose text holds an e-mail address, a name and an id.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.browser.conftest import load_demo
from tests.web.conftest import Server, create_key, start

from cxhub.services.records.files import ingest_paths
from cxhub.warehouse import Warehouse

EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
MIN = 10
PLANTED_NAME, PLANTED_ID = "Zebedee Quillfeather", "LEAKCHECK-4711"
PLANTED_TEXT = (f"My name is {PLANTED_NAME}, write to zebedee.q@mailbox.example about "
                f"account {PLANTED_ID}; the router has been dead since Monday")


@dataclass
class Forbidden:
    """Strings from the data that must never be public: whole tokens and text fragments."""

    tokens: set[str] = field(default_factory=set)
    texts: set[str] = field(default_factory=set)

    def add_token(self, value: str | None, min_len: int = 4) -> None:
        if value and len(value) >= min_len:
            self.tokens.add(value)

    def add_text(self, value: str | None) -> None:
        if value and len(value) >= 24:
            self.texts.add(value[:24])


def forbidden_from(data: Path) -> Forbidden:
    found = Forbidden()
    with open(data / "crm" / "source_records.csv", newline="") as fh:
        for row in csv.DictReader(fh):
            for column in ("first_name", "last_name", "external_id", "email"):
                found.add_token(row[column])
            found.add_text(row["address"])
    with open(data / "contact_centre" / "contacts.csv", newline="") as fh:
        for row in csv.DictReader(fh):
            for column in ("external_id", "customer_external_id", "agent"):
                found.add_token(row[column])
            found.add_text(row["text"])
    with open(data / "contact_centre" / "surveys.csv", newline="") as fh:
        for row in csv.DictReader(fh):
            found.add_text(row["comment"])
    for part in PLANTED_NAME.split():
        found.add_token(part)
    found.add_token(PLANTED_ID)
    found.add_text(PLANTED_TEXT)
    return found


def leaks(body: str, forbidden: Forbidden) -> list[str]:
    """What of the forbidden data (or anything shaped like an e-mail) the body holds."""
    out = [f"e-mail {m!r}" for m in EMAIL.findall(body)]
    tokens = set(re.findall(r"[\w'-]+", body))
    out += [f"token {t!r}" for t in sorted(tokens & forbidden.tokens)]
    out += [f"text {t!r}" for t in sorted(forbidden.texts) if t in body]
    return out


def small_figures(document: Any, path: str = "$") -> list[str]:
    """Figures shown although built from fewer than MIN contacts, and suppressed rows that
    still show a value."""
    out: list[str] = []
    if isinstance(document, dict):
        n = document.get("n")
        if isinstance(n, int | float) and n < MIN:
            out.append(f"{path}: n={n}")
        if document.get("suppressed") is True and document.get("value") is not None:
            out.append(f"{path}: suppressed but value={document['value']}")
        for key, value in document.items():
            out += small_figures(value, f"{path}.{key}")
    elif isinstance(document, list):
        for i, value in enumerate(document):
            out += small_figures(value, f"{path}[{i}]")
    return out


def _plant(home: Path, tmp: Path, day: datetime) -> None:
    path = tmp / "planted.csv"
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["source", "external_id", "customer_external_id", "channel", "created_at",
                    "agent", "text"])
        for i in range(3):
            w.writerow(["post", f"{PLANTED_ID}-{i}", PLANTED_ID, "letter",
                        (day + timedelta(hours=9 + i)).isoformat(sep=" "), PLANTED_NAME,
                        PLANTED_TEXT])
    with Warehouse.open(home / "cxhub.duckdb") as wh:
        ingest_paths(wh, "generic", [path], kind="contacts", source="post")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, Forbidden]]:
    home = tmp_path_factory.mktemp("privacy-home")
    data = tmp_path_factory.mktemp("privacy-data")
    yesterday = load_demo(home, data, customers=2000, days=30)
    _plant(home, data, datetime.combine(yesterday, datetime.min.time()))
    key = create_key(home, "ingest", name="privacy")[1]
    server = start(home, env={"CXHUB_MIN_PUBLIC_COUNT": str(MIN)})
    server.keys = {"ingest": key}
    now = datetime.now(UTC).replace(tzinfo=None)
    live = [{"source": "post", "external_id": f"{PLANTED_ID}-live-{i}", "channel": "letter",
             "customer_external_id": PLANTED_ID, "text": PLANTED_TEXT, "agent": PLANTED_NAME,
             "created_at": (now - timedelta(minutes=5)).isoformat()} for i in range(3)]
    # ... and a dozen web forms, so the live figures have something big enough to show.
    live += [{"source": "post", "external_id": f"web-live-{i}", "channel": "web",
              "created_at": (now - timedelta(minutes=5)).isoformat()} for i in range(12)]
    assert server.post("/api/v1/contacts", live, key="ingest").status_code == 201
    try:
        yield server, forbidden_from(data)
    finally:
        server.stop()


def live_event(url: str, until: Any = lambda data: True, timeout: float = 10.0) -> str:
    """The first live event (or the first for which `until(data)` holds) of the SSE stream."""
    deadline = datetime.now() + timedelta(seconds=timeout)
    with httpx.stream("GET", url, timeout=timeout) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        for line in response.iter_lines():
            if line.startswith("data:"):
                payload = line[5:].strip()
                if until(json.loads(payload)):
                    return payload
                assert datetime.now() < deadline, f"no matching live event in {timeout}s"
    raise AssertionError("the live stream ended")


def _web_shown(data: dict[str, Any]) -> bool:
    return any(c["channel"] == "web" and c["arrivals"]["value"] for c in data["channels"])


def public_responses(server: Server) -> dict[str, str]:
    """Every public page, chart feed, live figure and report download, by URL."""
    bodies: dict[str, str] = {}
    with httpx.Client(base_url=server.url, timeout=60) as c:
        deadline = datetime.now() + timedelta(seconds=30)
        while "/reports/" not in bodies or "/reports/20" not in bodies["/reports/"]:
            assert datetime.now() < deadline, "no report was published at start-up"
            bodies["/reports/"] = c.get("/reports/").text
        for url in ["/", "/public/api/live", "/public/api/service", "/public/api/best-time",
                    "/public/api/summary", "/reports/feed.atom", "/static/css/cxhub.css",
                    "/static/js/public.js"] + [f"/public/api/demand?grain={g}"
                                               for g in ("hour", "day", "week", "month")]:
            response = c.get(url)
            assert response.status_code == 200, url
            bodies[url] = response.text
        for day in sorted(set(re.findall(r"/reports/(\d{4}-\d\d-\d\d)", bodies["/reports/"]))):
            for suffix in ("", ".json", ".csv"):
                response = c.get(f"/reports/{day}{suffix}")
                assert response.status_code == 200, day + suffix
                bodies[f"/reports/{day}{suffix}"] = response.text
    bodies["/public/live"] = live_event(server.url + "/public/live", _web_shown)
    return bodies


def test_no_public_response_holds_personal_data_or_small_counts(site: tuple[Server, Forbidden]
                                                                ) -> None:
    server, forbidden = site
    assert len(forbidden.tokens) > 1000 and len(forbidden.texts) > 100  # the scan has teeth
    bodies = public_responses(server)
    found = {url: leaks(body, forbidden) for url, body in bodies.items()}
    assert not {url: f for url, f in found.items() if f}, found
    for url, body in bodies.items():
        if url.endswith(".json") or url.startswith("/public/"):
            assert not small_figures(json.loads(body)), (url, small_figures(json.loads(body)))


def test_the_three_letters_are_suppressed_everywhere(site: tuple[Server, Forbidden]) -> None:
    server, _ = site
    bodies = public_responses(server)
    live = json.loads(bodies["/public/live"])
    arrivals = {c["channel"]: c["arrivals"] for c in live["channels"]}
    assert arrivals["web"] == {"value": 12, "suppressed": False}
    # A channel with nothing to show is listed as suppressed, or not at all.
    assert arrivals.get("letter", {"value": None})["value"] is None
    day = re.findall(r"/reports/(\d{4}-\d\d-\d\d)", bodies["/reports/"])[0]
    report = json.loads(bodies[f"/reports/{day}.json"])
    rows = report["figures"]["sections"]["volume_by_channel"]["rows"]
    letters = [r for r in rows if r["channel"] == "letter"]
    assert letters and letters[0]["suppressed"] and letters[0]["value"] is None
    shown = [r for r in rows if not r["suppressed"]]
    assert shown and all(r["n"] >= MIN for r in shown)
    csv_rows = list(csv.DictReader(bodies[f"/reports/{day}.csv"].splitlines()))
    letter_csv = [r for r in csv_rows
                  if r["section"] == "volume_by_channel" and r["channel"] == "letter"]
    assert letter_csv and letter_csv[0]["value"] == "" and letter_csv[0]["suppressed"] == "True"
