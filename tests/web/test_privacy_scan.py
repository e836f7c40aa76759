"""Every public response carries aggregates only: no e-mail, name, phone, postcode, id or free
text from the data, and no figure built from fewer than `min_public_count` contacts.

A real server runs on a small demo company plus planted records made to leak if anything
could: letters (3 of them, a small count) whose text holds an e-mail address, a name and an id.
A second runs on the real CFPB complaints (narratives, ZIP codes, complaint ids), classified,
with daily reports published, and a sample of them replayed through the API as today's.
"""

from __future__ import annotations

import csv
import json
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.browser.conftest import load_demo
from tests.conftest import SHARED_DATA
from tests.web.conftest import Server, create_key, start

from cxhub.services.public import reports
from cxhub.services.records.files import ingest_paths
from cxhub.warehouse import Warehouse

pytestmark = pytest.mark.slow

EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
# North American numbers as people write them: (555) 123-4567, 555-123-4567, +1 555.123.4567.
PHONE = re.compile(r"(?<![\w.])(?:\+?1[ .-]?)?(?:\(\d{3}\)|\d{3})[ .-]\d{3}[ .-]\d{4}(?![\w.])")
CFPB = SHARED_DATA / "cfpb" / "complaints.csv"
PLANTED_PHONE = "(415) 555-0199"
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
        """The text's first 24 characters, and 24 from its middle: a page quoting a part of a
        long narrative is caught too."""
        if value and len(value) >= 24:
            self.texts.add(value[:24])
            middle = len(value) // 2
            if len(value) >= 72:
                self.texts.add(value[middle:middle + 24])


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
    out += [f"phone {m!r}" for m in PHONE.findall(body)]
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
    # The site's own address (the feed's links) is not data, but its port may be a ZIP code.
    origin = server.url.split("//", 1)[1]
    with httpx.Client(base_url=server.url, timeout=60) as c:
        deadline = datetime.now() + timedelta(seconds=30)
        while "/reports/" not in bodies or "/reports/20" not in bodies["/reports/"]:
            assert datetime.now() < deadline, "no report was published at start-up"
            bodies["/reports/"] = c.get("/reports/").text
        for url in ["/", "/public/api/live", "/public/api/service", "/public/api/best-time",
                    "/public/api/summary", "/public/api/outlook", "/public/api/calendar",
                    "/reports/feed.atom", "/static/css/cxhub.css",
                    "/static/js/public.js"] + [f"/public/api/demand?grain={g}"
                                               for g in ("hour", "day", "week", "month")]:
            response = c.get(url)
            assert response.status_code == 200, url
            bodies[url] = response.text.replace(origin, "<origin>")
        for day in sorted(set(re.findall(r"/reports/(\d{4}-\d\d-\d\d)", bodies["/reports/"]))):
            for suffix in ("", ".json", ".csv"):
                response = c.get(f"/reports/{day}{suffix}")
                assert response.status_code == 200, day + suffix
                bodies[f"/reports/{day}{suffix}"] = response.text.replace(origin, "<origin>")
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


# --- the real CFPB complaints ----------------------------------------------------------------

LIVE_SAMPLE = 200  # complaints with a narrative, replayed through the API as today's


def forbidden_from_cfpb(rows: list[dict[str, str]]) -> Forbidden:
    """Each complaint's id (also as replayed live), its ZIP code and its narrative."""
    found = Forbidden()
    for row in rows:
        found.add_token(row["Complaint ID"])
        found.add_token(f"live-{row['Complaint ID']}")
        found.add_token(row["ZIP code"], min_len=5)
        found.add_text(row["Consumer complaint narrative"])
    for part in PLANTED_NAME.split():
        found.add_token(part)
    found.add_token(PLANTED_ID)
    found.add_text(PLANTED_TEXT)
    return found


def _replayed(row: dict[str, str], at: datetime) -> dict[str, Any]:
    return {"source": "cfpb-live", "external_id": f"live-{row['Complaint ID']}",
            "channel": "web", "created_at": at.isoformat(), "category": "complaint",
            "text": row["Consumer complaint narrative"], "product": row["Product"],
            "issue": row["Issue"], "company": row["Company"], "region": row["State"] or None,
            "postcode": row["ZIP code"] or None}


@pytest.fixture(scope="module")
def cfpb_site(tmp_path_factory: pytest.TempPathFactory
              ) -> Iterator[tuple[Server, Forbidden, list[dict[str, str]]]]:
    if not CFPB.is_file():
        pytest.skip(f"real data file {CFPB} is absent (it sits beside the repo in CI)")
    from cxhub.services.classification import run as classification

    with open(CFPB, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    home = tmp_path_factory.mktemp("privacy-cfpb")
    with Warehouse.open(home / "cxhub.duckdb") as wh:
        assert not ingest_paths(wh, "cfpb", [CFPB]).failed
        # Causes and sentiment, for the breakdowns that show them (the lexical zero-shot: the
        # embeddings take minutes on this machine, and the scan is about what is published).
        classification.classify_pending(wh, zero_shot="lexical", adapt=False)
        per_day = Counter(datetime.strptime(r["Date received"], "%Y/%m/%d").date()
                          for r in rows)
        for day, _ in per_day.most_common(3):
            assert reports.publish(wh, day, min_count=MIN).created
    key = create_key(home, "ingest", name="privacy-cfpb")[1]
    server = start(home, env={"CXHUB_MIN_PUBLIC_COUNT": str(MIN)})
    server.keys = {"ingest": key}
    at = datetime.now(UTC).replace(tzinfo=None) - timedelta(minutes=5)
    narrated = [r for r in rows if r["Consumer complaint narrative"]][:LIVE_SAMPLE]
    live = [_replayed(r, at) for r in narrated]
    live += [{"source": "post", "external_id": f"{PLANTED_ID}-cfpb-{i}", "channel": "letter",
              "created_at": at.isoformat(), "customer_external_id": PLANTED_ID,
              "text": f"{PLANTED_TEXT}; call me on {PLANTED_PHONE}", "postcode": "94110",
              "agent": PLANTED_NAME} for i in range(3)]
    answer = server.post("/api/v1/contacts", live, key="ingest")
    assert answer.status_code == 201, answer.text
    try:
        yield server, forbidden_from_cfpb(rows), rows
    finally:
        server.stop()


@pytest.mark.realdata
@pytest.mark.slow
def test_no_public_response_on_cfpb_complaints_holds_personal_data(
        cfpb_site: tuple[Server, Forbidden, list[dict[str, str]]]) -> None:
    server, forbidden, rows = cfpb_site
    zips = {r["ZIP code"] for r in rows if len(r["ZIP code"]) >= 5}
    narratives = sum(bool(r["Consumer complaint narrative"]) for r in rows)
    # The scan has teeth: every id, ZIP and narrative of the file is looked for.
    assert len(rows) == 5259 and narratives > 1000 and len(zips) > 1000
    assert zips <= forbidden.tokens and len(forbidden.texts) > 2 * 1000
    assert leaks(f"x {PLANTED_PHONE} y", forbidden) == [f"phone {PLANTED_PHONE!r}"]
    a_zip, an_id = sorted(zips)[0], rows[0]["Complaint ID"]
    assert leaks(f'{{"zip": "{a_zip}", "id": {an_id}}}', forbidden) == [
        f"token {t!r}" for t in sorted([a_zip, an_id])]
    bodies = public_responses(server)
    assert sum(url.startswith("/reports/20") for url in bodies) == 3 * 3  # page, JSON, CSV
    found = {url: leaks(body, forbidden) for url, body in bodies.items()}
    assert not {url: f for url, f in found.items() if f}, found
    for url, body in bodies.items():
        if url.endswith(".json") or url.startswith("/public/"):
            assert not small_figures(json.loads(body)), (url, small_figures(json.loads(body)))
    live = json.loads(bodies["/public/live"])
    web = {c["channel"]: c["arrivals"] for c in live["channels"]}["web"]
    assert web["value"] >= LIVE_SAMPLE  # the replayed complaints are counted, not quoted
