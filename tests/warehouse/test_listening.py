"""Listening over a warehouse: a planted burst becomes one alert, found again without a second
alert; alerts reach a real local webhook with retries; mentions that need service become
contacts once; the CLI and the pipeline step."""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from tests.conftest import run_cli
from tests.warehouse.listening_data import BURST, load_company

from cxhub.services import pipeline
from cxhub.services.listening import detect as listening
from cxhub.services.listening import route as listening_route
from cxhub.services.listening import webhook as listening_webhook
from cxhub.warehouse import Warehouse

pytestmark = pytest.mark.filterwarnings(
    "ignore:fetch_arrow_table\\(\\) is deprecated:DeprecationWarning")


@pytest.fixture
def company(warehouse: Warehouse, tmp_path: Path) -> Warehouse:
    load_company(warehouse, tmp_path / "files")
    return warehouse


def test_a_burst_becomes_one_alert_per_series_and_a_rerun_adds_none(company: Warehouse) -> None:
    report = listening.detect(company)
    found = {(s["target"], s["dimension"], s["value"]): s for s in report.spikes}
    product = found[("contacts", "cause", "product")]
    assert BURST <= product["detected_at"] <= BURST + dt.timedelta(hours=2)
    assert product["window_start"] <= BURST + dt.timedelta(hours=1)
    assert product["observed"] > 3 * product["expected"]
    assert product["terms"][0]["term"] in {"update", "router", "broken"}
    assert ("mentions", "total", "all") in found
    assert ("contacts", "cause", "billing") not in found
    assert all(s["window_start"] >= BURST - dt.timedelta(hours=6) for s in report.spikes)
    assert len(report.new_alerts) == len(report.spikes) and report.updated_alerts == 0

    again = listening.detect(company)
    assert again.new_alerts == [] and again.updated_alerts == 0
    stored = listening.list_alerts(company)
    assert len(stored) == len(report.spikes)
    alert = next(a for a in stored if a["value"] == "product")
    assert alert["kind"] == "contact_spike" and alert["status"] == "open"
    assert alert["detail"]["examples"] and alert["detail"]["target"] == "contacts"
    assert listening.set_alert_status(company, alert["alert_id"], "closed")
    assert not listening.set_alert_status(company, 9999, "closed")


class _Hook(BaseHTTPRequestHandler):
    answers: list[int] = []  # status codes to answer, in order (then 200)
    received: list[dict] = []

    def do_POST(self) -> None:  # noqa: N802
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append(json.loads(body))
        code = type(self).answers.pop(0) if type(self).answers else 200
        self.send_response(code)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def hook() -> Iterator[tuple[str, type[_Hook]]]:
    handler = type("Hook", (_Hook,), {"answers": [], "received": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hooks/secret-token", handler
    finally:
        server.shutdown()
        server.server_close()


def test_alerts_reach_a_webhook_after_retries(company: Warehouse,
                                              hook: tuple[str, type[_Hook]]) -> None:
    url, handler = hook
    listening.detect(company)
    newest = company.read_one("SELECT max(created_at) FROM contacts")[0]
    n = len(listening.list_alerts(company))
    handler.answers = [503, 503]  # the first alert gets through on its third try
    report = listening_webhook.deliver_pending(company, url, newest=newest, backoff=0.01,
                                               max_age=dt.timedelta(days=60))
    assert len(report.delivered) == n and not report.failed
    first = min(listening.list_alerts(company), key=lambda a: a["alert_id"])
    assert first["webhook_attempts"] == 3 and first["webhook_status"] == "delivered (HTTP 200)"
    assert first["delivered_at"] is not None
    assert first["webhook_url"] == f"{url.split('/hooks')[0]}/..."  # the token is not stored
    body = handler.received[-1]
    assert {"alert_id", "kind", "dimension", "value", "window_start", "observed", "expected",
            "detail", "text"} <= set(body)
    # Delivered alerts are not sent again.
    sent = len(handler.received)
    assert listening_webhook.deliver_pending(company, url, newest=newest).delivered == []
    assert len(handler.received) == sent


def test_failed_deliveries_are_recorded_and_retried_later(company: Warehouse,
                                                          hook: tuple[str, type[_Hook]]) -> None:
    url, handler = hook
    listening.detect(company)
    newest = company.read_one("SELECT max(created_at) FROM contacts")[0]
    handler.answers = [500] * 100
    report = listening_webhook.deliver_pending(company, url, newest=newest, backoff=0.0,
                                               max_age=dt.timedelta(days=60))
    assert report.delivered == [] and len(report.failed) >= 1
    rows = listening.list_alerts(company)
    assert {r["webhook_status"] for r in rows} == {"failed: HTTP 500"}
    assert {r["webhook_attempts"] for r in rows} == {3}
    handler.answers = []
    again = listening_webhook.deliver_pending(company, url, newest=newest, backoff=0.0,
                                              max_age=dt.timedelta(days=60))
    assert sorted(again.delivered) == sorted(report.failed)
    assert {r["webhook_attempts"] for r in listening.list_alerts(company)} == {4}
    # A webhook nobody listens on: the reason is recorded.
    down = listening_webhook.post_json("http://127.0.0.1:9/x", {}, retries=2, backoff=0.0)
    assert not down.ok and down.attempts == 2 and down.status.startswith("failed:")


def test_old_alerts_are_history_not_news(company: Warehouse,
                                         hook: tuple[str, type[_Hook]]) -> None:
    url, handler = hook
    listening.detect(company)
    later = BURST + dt.timedelta(days=10)
    report = listening_webhook.deliver_pending(company, url, newest=later)
    assert report.delivered == [] and len(report.skipped) == len(listening.list_alerts(company))
    assert handler.received == []


def _label(wh: Warehouse, mention_id: int, dimension: str, label: str) -> None:
    wh.write(lambda con: con.execute(
        "INSERT INTO labels (target, target_id, dimension, label, score, model, model_version,"
        " is_human) VALUES ('mentions', ?, ?, ?, 0.9, 'test-model', '1', false)",
        [mention_id, dimension, label]))


def test_mentions_that_need_service_become_contacts_once(company: Warehouse) -> None:
    ids = [r[0] for r in company.read(
        "SELECT mention_id FROM mentions ORDER BY created_at DESC LIMIT 4")]
    for mention_id, category in zip(ids, ("problem", "complaint", "compliment", "problem"),
                                    strict=True):
        _label(company, mention_id, "category", category)
    _label(company, ids[0], "cause", "product")
    answered = company.read_one("SELECT external_id, source FROM mentions WHERE mention_id = ?",
                                [ids[3]])
    company.write(lambda con: con.execute(
        "INSERT INTO mentions (mention_id, source, external_id, inbound, created_at, text, "
        "in_reply_to) SELECT max(mention_id) + 1, ?, 'reply-1', false, now()::TIMESTAMP, "
        "'We are on it', ? FROM mentions", [answered[1], answered[0]]))
    report = listening_route.route_mentions(company)
    assert report.candidates == 2 and len(report.created) == 2 and report.linked == 2
    rows = company.read(
        "SELECT c.source, c.external_id, c.channel, c.category, c.cause, c.text, m.text, "
        "l.reason FROM mention_contacts l JOIN contacts c USING (contact_id) "
        "JOIN mentions m USING (mention_id) ORDER BY l.mention_id DESC")
    assert [r[3] for r in rows] == ["problem", "complaint"]
    newest = company.read_one("SELECT external_id FROM mentions WHERE mention_id = ?", [ids[0]])
    assert rows[0][:3] == ("listening", f"social:{newest[0]}", "social")
    assert rows[0][4] == "product" and rows[0][5] == rows[0][6]
    assert rows[0][7] == "unanswered problem"
    again = listening_route.route_mentions(company)
    assert again.created == [] and again.linked == 0
    assert company.read_one("SELECT count(*) FROM contacts WHERE source = 'listening'")[0] == 2
    # Routed contacts are the mentions again: the contact volumes leave them out.
    assert listening.detect(company, store=False).spikes == listening.detect(
        company, store=False).spikes


def test_the_pipeline_has_a_listening_step_after_classify() -> None:
    names = [name for name, _ in pipeline._steps()]
    assert "listening" in names
    if "classify" in names:
        assert names.index("classify") < names.index("listening")


@pytest.mark.slow
def test_cli(company: Warehouse, tmp_path: Path) -> None:
    home = Path(company.path).parent
    company.close()
    detect = json.loads(run_cli("listen", "detect", "--json", "--no-webhook", home=home).stdout)
    assert detect["new_alerts"] and detect["series"] >= 5
    shown = json.loads(run_cli("listen", "alerts", "--json", home=home).stdout)
    assert {a["alert_id"] for a in shown} == set(detect["new_alerts"])
    route = json.loads(run_cli("listen", "route", "--json", home=home).stdout)
    assert route["created"] == []  # no mention is labelled a problem here
