"""Every dashboard table downloads whole, as CSV and as Parquet, under its page's access rule.

One small helpdesk (130 hand-made contacts over a week, two customers, three alerts, a problem)
is loaded once for the module. For each table the test reads the page as a person sees it,
follows the page's own "Download" link, and checks that the file holds exactly the rows the
page lists (every page of them, in the page's order), that Parquet reads back with the same
values, and that text a spreadsheet would run as a formula is neutralised in the CSV.
"""

from __future__ import annotations

import csv
import html
import io
import json
import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient
from tests.warehouse.forecast_data import ORIGIN, build
from tests.warehouse.offers_data import plant
from tests.warehouse.test_golden_profile import _link_by_hand, _load
from tests.web.dashboard_fixtures import (
    PASSWORD,
    ROLES,
    add_label,
    dashboard,
    dashboard_app,
    load_contacts,
    log_in,
    log_out,
)

from cxhub.analytics.identity.settings import IdentitySettings
from cxhub.services.access import users
from cxhub.services.customers import contacts as cq
from cxhub.services.forecast import run
from cxhub.services.offers import triggers
from cxhub.services.problems import discovery
from cxhub.warehouse import Warehouse
from cxhub.web.dashboard import downloads

__all__ = ["dashboard"]
pytestmark = pytest.mark.filterwarnings(
    "ignore:fetch_arrow_table\\(\\) is deprecated:DeprecationWarning")

DAY0 = datetime(2024, 3, 4)
RANGE = {"start": "2024-03-04", "end": "2024-03-10"}
# Text a spreadsheet would run: each starts a subject of some contacts, and an alert's value.
FORMULAS = ('=HYPERLINK("http://evil.example","click")', "+44 20 7946 0000", "-2+3",
            "@SUM(A1:A9)")


def _contact(i: int) -> dict[str, Any]:
    at = DAY0 + timedelta(days=i % 7, hours=8 + (i * 7) % 12, minutes=i % 60)
    channel = ("phone", "email", "chat")[i % 3]
    row: dict[str, Any] = {
        "external_id": f"h{i:03d}", "channel": channel, "created_at": at,
        "team": ("billing", "tech")[i % 2], "agent": "aga" if i % 5 == 0 else f"agent{i % 4}",
        "subject": FORMULAS[i % 4] if i % 6 == 0 else f"Question {i} about my bill",
        "text": f"Message {i}: my bill looks wrong this month."}
    if channel in ("phone", "chat"):
        wait = float(5 + (i * 13) % 90)
        row |= {"queued_at": at, "wait_seconds": wait, "outcome": "answered",
                "answered_at": at + timedelta(seconds=wait), "talk_seconds": 150.0}
    if i % 5 != 0:  # the agent aga's contacts stay open: their queue
        row["resolved_at"] = at + timedelta(hours=3)
    if i < 3:  # the customers' contacts (see tests/warehouse/test_golden_profile.py)
        row |= {"customer_source": "billing", "customer_external_id": "B1"}
    return row


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    home = tmp_path_factory.mktemp("downloads")
    wh = Warehouse.open(home / "cxhub.duckdb")
    try:
        for name, role in ROLES.items():
            users.create_user(wh, username=name, password=PASSWORD, role=role)
        ids = load_contacts(wh, home / "in", [_contact(i) for i in range(130)],
                            source="helpdesk")
        add_label(wh, ids["h007"], "category", "complaint", at=DAY0 + timedelta(days=9),
                  human=True, by="ana")
        _load(wh, home)
        _link_by_hand(wh, IdentitySettings())
        wh.write(lambda con: con.executemany(
            "INSERT INTO alerts (alert_id, kind, dimension, value, window_start, window_end, "
            "observed, expected, threshold, score, status, detail) "
            "VALUES (?, 'contact_spike', 'cause', ?, ?, ?, ?, 3.5, 9.0, 4.2, ?, ?)",
            [[n, value, DAY0 + timedelta(hours=n), DAY0 + timedelta(hours=n + 1), 20.0 + n,
              status, json.dumps({"target": "contacts", "examples": [ids["h001"]], "terms": []})]
             for n, value, status in ((1, FORMULAS[0], "open"), (2, "billing", "closed"),
                                      (3, "broadband", "open"))]))
        problem = discovery.create_from_contacts(
            wh, contact_ids=[ids[f"h{i:03d}"] for i in range(0, 60, 4)],
            title="@bill wrong again", actor="ana")
        with TestClient(dashboard_app(wh, home)) as client:
            yield {"client": client, "wh": wh, "ids": ids, "problem": problem}
    finally:
        wh.close()


@pytest.fixture
def client(site: dict[str, Any]) -> Iterator[TestClient]:
    c: TestClient = site["client"]
    log_out(c)
    yield c
    log_out(c)


def _as(client: TestClient, user: str) -> TestClient:
    log_out(client)
    assert log_in(client, user).status_code == 303
    return client


def _links(page: str) -> list[tuple[str, str]]:
    """The page's download links, (CSV, Parquet) for each table, as a browser follows them."""
    found = re.findall(r'href="([^"]+)" download data-format="(csv|parquet)"', page)
    urls = [html.unescape(href) for href, _ in found]
    assert [fmt for _, fmt in found] == ["csv", "parquet"] * (len(found) // 2)
    return list(zip(urls[::2], urls[1::2], strict=True))


def _download(client: TestClient, page_url: str, index: int = 0) -> tuple[list[dict[str, str]],
                                                                          list[dict[str, Any]]]:
    """Both files of the page's `index`-th table: CSV rows (as text) and Parquet rows."""
    csv_url, parquet_url = _links(client.get(page_url).text)[index]
    assert parquet_url == re.sub(r"\.csv(\?|$)", r".parquet\1", csv_url)
    got = client.get(csv_url)
    assert got.status_code == 200, got.text[:500]
    assert got.headers["content-type"].startswith("text/csv")
    assert got.headers["content-disposition"].startswith("attachment; filename=")
    assert got.content.startswith(b"\xef\xbb\xbf")  # a spreadsheet reads it as UTF-8
    rows = list(csv.DictReader(io.StringIO(got.content.decode("utf-8-sig"))))
    par = client.get(parquet_url)
    assert par.status_code == 200 and par.content[:4] == b"PAR1"
    return rows, pq.read_table(io.BytesIO(par.content)).to_pylist()


def _listed_ids(client: TestClient, url: str) -> list[int]:
    """Every contact the list shows, page after page, in order."""
    out: list[int] = []
    while url:
        text = client.get(url).text
        out += [int(i) for i in re.findall(r'<tr data-contact="(\d+)"', text)]
        nxt = re.search(r'rel="next" href="([^"]+)"', text)
        url = (url.split("?")[0] + html.unescape(nxt.group(1))) if nxt else ""
    return out


def _check_contacts(site: dict[str, Any], csv_rows: list[dict[str, str]],
                    parquet_rows: list[dict[str, Any]], listed: list[int]) -> None:
    assert [int(r["contact_id"]) for r in csv_rows] == listed
    assert [r["contact_id"] for r in parquet_rows] == listed
    assert list(csv_rows[0]) == list(cq.LIST_COLUMNS) == list(parquet_rows[0])
    by_id = {r["contact_id"]: r for r in cq._rows_by_id(site["wh"], listed)}
    for c, p in zip(csv_rows, parquet_rows, strict=True):
        assert p == by_id[p["contact_id"]]  # Parquet: the page's values, typed
        subject = p["subject"]
        expected = "'" + subject if subject.startswith(("=", "+", "-", "@")) else subject
        assert c["subject"] == expected  # CSV: formulas neutralised, nothing else touched
        assert c["category"] == (p["category"] or "") and c["channel"] == p["channel"]


def test_the_contact_list_downloads_every_page(site: dict[str, Any],
                                               client: TestClient) -> None:
    _as(client, "ana")
    for query in ("channel=phone&sort=wait&dir=asc", "team=billing&start=2024-03-05", ""):
        url = "/app/contacts" + (f"?{query}" if query else "")
        listed = _listed_ids(client, url)
        csv_rows, parquet_rows = _download(client, url)
        _check_contacts(site, csv_rows, parquet_rows, listed)
    assert len(listed) == 130  # every page, not the 50 on screen
    neutral = [r["subject"] for r in csv_rows if r["subject"].startswith("'")]
    assert len(neutral) == 22 and all(s[1] in "=+-@" for s in neutral)
    # A person's label is what the page and the file say.
    assert next(p for p in parquet_rows if p["contact_id"] == site["ids"]["h007"])[
        "category"] == "complaint"


def test_the_contacts_behind_a_figure(site: dict[str, Any], client: TestClient) -> None:
    _as(client, "ana")
    page = client.get("/app/metrics/service_level", params={**RANGE, "by": "channel"}).text
    figure = html.unescape(re.findall(r'class="figure-link " href="([^"]+)"', page)[0])
    listed = _listed_ids(client, figure)
    assert listed
    csv_rows, parquet_rows = _download(client, figure)
    _check_contacts(site, csv_rows, parquet_rows, listed)


def test_a_metric_pages_tables(client: TestClient) -> None:
    _as(client, "vic")  # a viewer: aggregates only
    url = "/app/metrics/contacts?" + "&".join(f"{k}={v}" for k, v in RANGE.items()) \
        + "&by=channel&grain=day"
    page = html.unescape(client.get(url).text)
    breakdown, _ = _download(client, url, 0)
    series, series_parquet = _download(client, url, 1)
    shown = re.findall(r"<tr><td>(\w+)</td><td class=\"num\"><span class=\"\">([\d,]+)</span>"
                       r"</td><td class=\"num\">([\d,]+)</td>", page)
    assert {(r["channel"], r["text"], f"{int(r['n']):,}") for r in breakdown} == set(shown)
    assert sum(int(r["n"]) for r in breakdown) == 130
    assert len(series) == len(series_parquet) == 3 * 7  # three channels, seven days
    assert sum(r["value"] for r in series_parquet) == 130
    assert client.get(url.replace("/app/metrics/contacts?", "/app/export/metrics/contacts/"
                                  "nothing.csv?")).status_code == 404
    # The expected wait's page adds a table per channel group (never one mixed mean).
    url = "/app/metrics/expected_wait?start=2024-03-04&end=2024-03-10"
    page = html.unescape(client.get(url).text)
    waits, _ = _download(client, url, 0)
    shown = re.findall(r"<tr><td>([^<]+)</td><td>([^<]+)</td><td class=\"num\">([^<]+)</td>"
                       r"<td class=\"num\">([\d,]+)</td></tr>", page)
    assert [(w["label"], w["measure"], w["text"], f"{int(w['n']):,}") for w in waits] == shown
    assert len(shown) >= 2


def test_the_queue(site: dict[str, Any], client: TestClient) -> None:
    _as(client, "aga")
    listed = _listed_ids(client, "/app/queue")
    csv_rows, parquet_rows = _download(client, "/app/queue")
    assert len(listed) == 26 == len(csv_rows)  # 130 / 5 open contacts of aga, on one page
    _check_contacts(site, csv_rows, parquet_rows, listed)


def test_customers_and_their_contacts(client: TestClient) -> None:
    _as(client, "aga")
    found, found_parquet = _download(client, "/app/customers?q=smith")
    assert [r["customer_id"] for r in found] == ["1"] and found[0]["last_name"] == "Smith"
    assert found_parquet[0]["email"] == found[0]["email"]
    mine, mine_parquet = _download(client, "/app/customers/1")
    assert len(mine) == len(mine_parquet) == 3
    assert {r["subject"] for r in mine} >= {"'" + FORMULAS[0]}  # h000's subject
    assert [p["contact_id"] for p in mine_parquet] == [int(r["contact_id"]) for r in mine]
    records, _ = _download(client, "/app/customers/1", 1)
    assert sorted(r["external_id"] for r in records) == ["B1", "C1", "M1", "S1"]


def test_a_contacts_labels(site: dict[str, Any], client: TestClient) -> None:
    _as(client, "ana")
    page = f"/app/contacts/{site['ids']['h007']}"
    labels, labels_parquet = _download(client, page)
    assert [(r["dimension"], r["label"], r["labelled_by"]) for r in labels] == [
        ("category", "complaint", "ana")]
    assert labels_parquet[0]["is_human"] is True
    assert client.get(f"/app/export/contacts/{site['ids']['h007']}/notes.csv").status_code == 404
    assert client.get("/app/export/contacts/999999/labels.csv").status_code == 404


def test_alerts(client: TestClient) -> None:
    _as(client, "vic")
    rows, parquet_rows = _download(client, "/app/alerts?status=open")
    assert [r["alert_id"] for r in rows] == ["3", "1"]  # newest first, as listed
    assert rows[1]["value"] == "'" + FORMULAS[0] and parquet_rows[1]["value"] == FORMULAS[0]
    assert "examples" not in rows[1]["detail"]  # a viewer's page links no contacts either
    _as(client, "ana")
    rows, _ = _download(client, "/app/alerts")
    assert len(rows) == 3 and '"examples"' in rows[0]["detail"]
    assert "webhook_url" not in rows[0]


def test_problems(site: dict[str, Any], client: TestClient) -> None:
    _as(client, "ana")
    rows, parquet_rows = _download(client, "/app/problems")
    assert [int(r["problem_id"]) for r in rows] == [site["problem"]]
    assert rows[0]["title"] == "'@bill wrong again" and rows[0]["contacts"] == "15"
    page = f"/app/problems/{site['problem']}"
    history, _ = _download(client, page, 0)
    assert history and history[0]["actor"] == "ana"
    linked, linked_parquet = _download(client, page, 1)
    assert len(linked) == 15 and len(linked_parquet) == 15  # the page samples 10 of them
    assert len(re.findall(r'href="/app/contacts/\d+"', client.get(page).text)) == 10


def test_users(client: TestClient) -> None:
    _as(client, "ada")
    rows, _ = _download(client, "/app/users")
    assert sorted(r["username"] for r in rows) == sorted(ROLES)
    assert set(rows[0]) == {"username", "role", "created_at", "disabled_at"}


def test_each_download_keeps_its_pages_access_rule(site: dict[str, Any],
                                                   client: TestClient) -> None:
    pid = site["problem"]
    needs = {"/app/export/contacts.csv": "contacts",
             "/app/export/customers/1/contacts.parquet": "contacts",
             "/app/export/customers/1/records.csv": "contacts",
             f"/app/export/contacts/{site['ids']['h007']}/labels.csv": "contacts",
             f"/app/export/problems/{pid}/contacts.csv": "contacts",
             "/app/export/queue.csv": "queue", "/app/export/alerts.csv": "metrics",
             "/app/export/problems.parquet": "metrics",
             f"/app/export/problems/{pid}/history.csv": "metrics",
             "/app/export/metrics/contacts/series.csv?start=2024-03-04": "metrics",
             "/app/users/export.csv": "users"}
    for url in needs:  # no login: sent to log in, nothing downloaded
        r = client.get(url, follow_redirects=False)
        assert r.status_code == 303 and "/app/login" in r.headers["location"], url
    for user, role in ROLES.items():
        _as(client, user)
        for url, permission in needs.items():
            allowed = permission in users.PERMISSIONS[role]
            assert client.get(url).status_code == (200 if allowed else 403), (role, url)


def test_odd_requests_are_refused_with_a_reason(client: TestClient,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    _as(client, "ana")
    r = client.get("/app/export/contacts.xlsx")
    assert r.status_code == 404 and "use .csv or .parquet" in r.text
    r = client.get("/app/export/contacts.csv?metric=nope&start=2024-03-04&end=2024-03-05")
    assert r.status_code == 400
    assert client.get("/app/export/contacts.csv?start=0001-01-01").status_code == 400
    monkeypatch.setattr(downloads, "MAX_ROWS", 100)
    r = client.get("/app/export/contacts.parquet")
    assert r.status_code == 413 and "130 contacts" in r.text and "100" in r.text
    assert client.get("/app/export/contacts.csv?channel=phone").status_code == 200  # 44 rows


def test_the_whole_list_reads_in_batches_in_the_pages_order(site: dict[str, Any]) -> None:
    """Batches of 7 (and ties and missing waits in the sort) come out as the pages list."""
    wh = site["wh"]
    for sort, descending in (("wait", False), ("created_at", True), ("team", True)):
        query = cq.ContactQuery.of(start=DAY0, end=DAY0 + timedelta(days=7))
        total, batches = cq.whole_list(wh, query, sort=sort, descending=descending, batch=7)
        got = [i for b in batches for i in b.column("contact_id").to_pylist()]
        paged, cursor = [], None
        while True:
            page = cq.contacts_page(wh, query, sort=sort, descending=descending,
                                    cursor=cursor, limit=40)
            paged += [r["contact_id"] for r in page.rows]
            if not (cursor := page.next_cursor):
                break
        assert got == paged and total == len(got) == 130, sort


def test_an_empty_table_still_names_its_columns(client: TestClient) -> None:
    _as(client, "ana")
    empty = client.get("/app/export/contacts.csv?channel=letter")
    assert empty.content.decode("utf-8-sig").split("\r\n")[0].split(",") == list(
        cq.LIST_COLUMNS)
    assert pq.read_table(io.BytesIO(
        client.get("/app/export/contacts.parquet?channel=letter").content)).num_rows == 0


def test_files_keep_the_warehouse_types(tmp_path: Path, site: dict[str, Any],
                                        client: TestClient) -> None:
    _as(client, "ana")
    table = pq.read_table(io.BytesIO(client.get("/app/export/contacts.parquet").content))
    types = {f.name: str(f.type) for f in table.schema}
    assert types["contact_id"] == "int64" and types["wait_seconds"] == "double"
    assert types["created_at"].startswith("timestamp")


def test_offers_their_triggers_and_an_offers_groups(dashboard: TestClient,
                                                    warehouse: Warehouse) -> None:
    plant(warehouse, customers=300, decisions=3000)
    triggers.record(warehouse, pd.DataFrame({
        "customer_id": [1, 2], "trigger": "=MOVING-HOUSE", "event": "contact M1",
        "event_at": datetime.now(), "control": [False, True], "segment": "family"}))
    runtime = dashboard.app.state.offers  # type: ignore[attr-defined]
    runtime.engine_ready(30)
    runtime.engine.refresh()
    _as(dashboard, "vic")
    offers, offers_parquet = _download(dashboard, "/app/offers", 0)
    page = dashboard.get("/app/offers").text
    assert [r["code"] for r in offers] == re.findall(r'<tr data-offer="([^"]+)"', page)
    boost = next(r for r in offers_parquet if r["code"] == "SPEED-BOOST-500")
    assert boost["decisions"] == 3000 and "3,000" in page
    trig, trig_parquet = _download(dashboard, "/app/offers", 1)
    assert [r["code"] for r in trig_parquet] == re.findall(r'data-trigger="([^"]+)"', page)
    moving = next(r for r in trig if r["code"] == "'=MOVING-HOUSE")
    assert (moving["audience"], moving["control"], moving["with_outcome"]) == ("2", "1", "0")
    url = "/app/offers/SPEED-BOOST-500?by=segment"
    groups, groups_parquet = _download(dashboard, url)
    shown = re.findall(r'<tr data-group="([^"]+)">\s*<td>[^<]*</td><td class="num">([\d,]+)',
                       dashboard.get(url).text)
    assert [(r["segment"], f"{int(r['offered']):,}") for r in groups] == shown
    assert len(shown) == 3 and [r["segment"] for r in groups_parquet] == [s for s, _ in shown]
    _as(dashboard, "aga")  # agents see no offer reports, nor their files
    assert dashboard.get("/app/export/offers.csv").status_code == 403


def test_staffing_intervals(dashboard: TestClient, warehouse: Warehouse,
                            tmp_path: Path) -> None:
    _as(dashboard, "vic")
    assert dashboard.get("/app/export/staffing.csv").status_code == 404  # no forecast yet
    build(warehouse, tmp_path / "files")
    run.run(warehouse, minutes=30, h_days=7, origin=ORIGIN,
            candidates=("seasonal_mean", "profile_mean"))
    page = dashboard.get("/app/staffing?channel=phone").text
    block = re.search(r'id="staffing-data">(.*?)</script>', page, re.S)
    assert block
    chart = json.loads(block.group(1))
    rows, parquet_rows = _download(dashboard, "/app/staffing?channel=phone")
    assert [r["interval_start"] for r in parquet_rows] == [
        datetime.fromisoformat(x) for x in chart["x"]]
    assert [r["status"] for r in rows] == chart["status"]
    assert [r["need"] for r in parquet_rows] == chart["need"]
    assert [r["actual"] for r in parquet_rows] == chart["actual"]
