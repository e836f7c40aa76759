"""From a figure on a metric's page to the contacts behind it: exactly those counted, no more.

Nine hand-made contacts over two days; for each figure the contacts it counts are worked out
by hand from the metric's definition, and the drill-down page must list exactly those, and as
many as the figure says it is built from.
"""

from __future__ import annotations

import html
import re
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient
from tests.web.dashboard_fixtures import (
    add_label,
    csrf_token,
    dashboard,
    load_contacts,
    load_records,
    log_in,
)

from cxhub.warehouse import Warehouse

__all__ = ["dashboard"]
# Ibis 12 still calls DuckDB 2.0's deprecated fetch_arrow_table(); harmless, and not ours.
pytestmark = pytest.mark.filterwarnings(
    "ignore:fetch_arrow_table\\(\\) is deprecated:DeprecationWarning")

MON, TUE = datetime(2024, 3, 4), datetime(2024, 3, 5)
RANGE = "start=2024-03-04&end=2024-03-05"  # both days, the end date included
BOTH_DAYS = ("2024-03-04T00:00:00", "2024-03-06T00:00:00")
ALL = ("p1", "p2", "p3", "p4", "e1", "e2", "c1", "w1", "e3")


def _call(eid: str, at: datetime, wait: float, team: str, *, answered: bool = True,
          resolved: bool = False, channel: str = "phone") -> dict[str, object]:
    row: dict[str, object] = {"external_id": eid, "channel": channel, "created_at": at,
                              "queued_at": at, "wait_seconds": wait, "team": team}
    end = at + timedelta(seconds=wait)
    row["answered_at" if answered else "abandoned_at"] = end
    row["outcome"] = "answered" if answered else "abandoned"
    if answered:
        row["talk_seconds"] = 120.0
    if resolved:
        row["resolved_at"] = end + timedelta(minutes=5)
    return row


@pytest.fixture
def company(warehouse: Warehouse, tmp_path: Path) -> dict[str, int]:
    at = MON.replace
    ids = load_contacts(warehouse, tmp_path / "in", [
        _call("p1", at(hour=9), 10, "billing", resolved=True),
        _call("p2", at(hour=10), 45, "tech"),
        _call("p3", at(hour=11), 30, "billing", answered=False),
        _call("p4", at(hour=12), 3, "billing", answered=False),  # a short abandon
        {"external_id": "e1", "channel": "email", "created_at": at(hour=9, minute=30),
         "first_response_at": at(hour=11, minute=30), "resolved_at": TUE.replace(hour=9),
         "team": "billing", "text": "You charged me twice"},
        {"external_id": "e2", "channel": "email", "created_at": at(hour=13), "team": "billing",
         "text": "The router blinks red"},
        _call("c1", TUE.replace(hour=9), 30, "tech", channel="chat"),
        {"external_id": "w1", "channel": "web", "created_at": TUE.replace(hour=15),
         "category": "complaint", "cause": "pricing", "team": "sales"},
        {"external_id": "e3", "channel": "email", "created_at": TUE.replace(hour=16),
         "team": "billing"},
    ])
    old, new = datetime(2024, 3, 6, 8), datetime(2024, 3, 6, 9)
    add_label(warehouse, ids["e1"], "category", "complaint", at=old)
    add_label(warehouse, ids["e1"], "cause", "billing", at=old)
    add_label(warehouse, ids["e2"], "category", "complaint", at=new)  # the model says so ...
    add_label(warehouse, ids["e2"], "category", "problem", at=old, human=True, by="ana")  # no
    add_label(warehouse, ids["c1"], "category", "complaint", at=old)
    add_label(warehouse, ids["c1"], "cause", "delivery", at=old)
    add_label(warehouse, ids["e3"], "category", "information", at=old)
    add_label(warehouse, ids["e3"], "category", "complaint", at=new)  # newer model label wins
    load_records(warehouse, tmp_path / "in", "surveys", [
        {"external_id": "s1", "contact_external_id": "e1", "survey_type": "csat", "score": 5,
         "answered_at": TUE.replace(hour=12)},
        {"external_id": "s2", "contact_external_id": "p1", "survey_type": "csat", "score": 2,
         "answered_at": MON.replace(hour=18)},
        {"external_id": "s3", "survey_type": "csat", "score": 4,
         "answered_at": TUE.replace(hour=13)},  # names no contact
    ])
    return ids


def _figures(client: TestClient, path: str) -> list[tuple[dict[str, str], int]]:
    """Each drill-down link on a page: its parameters and the count it says it stands for."""
    page = client.get(path)
    assert page.status_code == 200, page.text
    found = []
    for href, n in re.findall(r'class="figure-link[^"]*" href="([^"]+)" title="The ([\d,]+) '
                              r'contacts behind', page.text):
        query = parse_qs(urlsplit(html.unescape(href)).query)
        found.append(({k: v[0] for k, v in query.items()}, int(n.replace(",", ""))))
    assert found, f"no figure links on {path}"
    return found


def _behind(client: TestClient, params: dict[str, str]) -> tuple[set[str], int]:
    """The external ids listed behind a figure (every page) and the total the page states."""
    listed: list[str] = []
    url: str | None = "/app/contacts"
    query: dict[str, str] | None = params
    total = -1
    while url:
        page = client.get(url, params=query)
        assert page.status_code == 200, page.text
        listed += re.findall(r'data-external-id="([^"]+)"', page.text)
        total = int(re.search(r'id="total">([\d,]+)<', page.text).group(1).replace(",", ""))
        nxt = re.search(r'rel="next" href="\?([^"]+)"', page.text)
        url, query = ("/app/contacts?" + html.unescape(nxt.group(1)), None) if nxt else (None, None)
    assert len(listed) == len(set(listed)), "a contact listed twice"
    return set(listed), total


def check_figures(client: TestClient, path: str, expected: dict[tuple[str, ...], set[str]],
           key: tuple[str, ...]) -> None:
    seen = {}
    for params, n in _figures(client, path):
        ids, total = _behind(client, params)
        k = tuple(params.get(p, "") for p in key)
        assert total == len(ids) == n, (k, n, total, ids)  # every figure, not only these
        seen[k] = (ids, n)
    for k, want in expected.items():
        assert k in seen, f"no figure for {k}; figures: {sorted(seen)}"
        ids, n = seen[k]
        assert ids == want, k
        assert n == len(want), k


def test_contacts_by_day_and_channel(dashboard: TestClient, company: dict[str, int]) -> None:
    log_in(dashboard, "ana")
    check_figures(dashboard, f"/app/metrics/contacts?{RANGE}&grain=day&by=channel", {
        ("2024-03-04T00:00:00", "2024-03-05T00:00:00", "phone"): {"p1", "p2", "p3", "p4"},
        ("2024-03-04T00:00:00", "2024-03-05T00:00:00", "email"): {"e1", "e2"},
        ("2024-03-05T00:00:00", "2024-03-06T00:00:00", "chat"): {"c1"},
        ("2024-03-05T00:00:00", "2024-03-06T00:00:00", "web"): {"w1"},
        ("2024-03-05T00:00:00", "2024-03-06T00:00:00", "email"): {"e3"},
        # the headline and the breakdown cover both days
        (*BOTH_DAYS, ""): set(ALL),
        (*BOTH_DAYS, "email"): {"e1", "e2", "e3"},
    }, ("start", "end", "channel"))




def test_service_level_lists_its_denominator(dashboard: TestClient,
                                              company: dict[str, int]) -> None:
    # Answered, or abandoned after 5 s: p4 hung up after 3 s and is left out of both sides.
    log_in(dashboard, "ana")
    check_figures(dashboard, f"/app/metrics/service_level?{RANGE}&grain=day&by=channel", {
        (*BOTH_DAYS, "phone"): {"p1", "p2", "p3"},
        (*BOTH_DAYS, "chat"): {"c1"},
        (*BOTH_DAYS, ""): {"p1", "p2", "p3", "c1"},
        ("2024-03-04T00:00:00", "2024-03-05T00:00:00", "phone"): {"p1", "p2", "p3"},
    }, ("start", "end", "channel"))


def test_complaints_follow_the_best_label(dashboard: TestClient,
                                          company: dict[str, int]) -> None:
    # e2: a person said problem, over the model's newer complaint; e3: the newer model label;
    # w1: no label, the source's own category.
    log_in(dashboard, "ana")
    check_figures(dashboard, f"/app/metrics/complaints?{RANGE}&grain=day&by=cause", {
        ("2024-03-04T00:00:00", "2024-03-05T00:00:00", "billing"): {"e1"},
        ("2024-03-05T00:00:00", "2024-03-06T00:00:00", "delivery"): {"c1"},
        ("2024-03-05T00:00:00", "2024-03-06T00:00:00", "pricing"): {"w1"},
        ("2024-03-05T00:00:00", "2024-03-06T00:00:00", "__none__"): {"e3"},  # no cause yet
        (*BOTH_DAYS, ""): {"e1", "c1", "w1", "e3"},  # the headline
    }, ("start", "end", "cause"))


def test_backlog_lists_what_was_open_at_the_end_of_the_day(
        dashboard: TestClient, company: dict[str, int]) -> None:
    # Closed = resolved or abandoned. Monday night: p2 (answered, never resolved), e1 (resolved
    # on Tuesday), e2. Tuesday night: e1 is done; c1, w1 and e3 have joined.
    log_in(dashboard, "ana")
    check_figures(dashboard, f"/app/metrics/backlog?{RANGE}&grain=day", {
        ("2024-03-05T00:00:00",): {"p2", "e1", "e2"},
        ("2024-03-06T00:00:00",): {"p2", "e2", "c1", "w1", "e3"},
    }, ("end",))


def test_a_mean_lists_the_contacts_it_averages(dashboard: TestClient,
                                               company: dict[str, int]) -> None:
    log_in(dashboard, "ana")
    check_figures(dashboard, f"/app/metrics/asa?{RANGE}&grain=day&by=team", {
        (*BOTH_DAYS, ""): {"p1", "p2", "c1"}, (*BOTH_DAYS, "tech"): {"p2", "c1"},
        (*BOTH_DAYS, "billing"): {"p1"},
    }, ("start", "end", "team"))


def test_a_survey_figure_lists_the_surveyed_contacts(dashboard: TestClient,
                                                     company: dict[str, int]) -> None:
    log_in(dashboard, "ana")
    found = _figures(dashboard, f"/app/metrics/csat?{RANGE}")
    headline = next(p for p, n in found if p["start"] == "2024-03-04T00:00:00"
                    and p["end"] == "2024-03-06T00:00:00")
    assert next(n for p, n in found if p is headline) == 3  # three answers
    ids, total = _behind(dashboard, headline)
    assert ids == {"e1", "p1"} and total == 2  # the third answer names no contact
    page = dashboard.get("/app/contacts", params=headline).text
    assert "answers that name no contact are not listed" in page


def test_a_human_label_moves_a_contact_between_figures(
        dashboard: TestClient, company: dict[str, int], warehouse: Warehouse) -> None:
    log_in(dashboard, "ana")
    w1 = company["w1"]
    r = dashboard.post(f"/app/contacts/{w1}/labels", follow_redirects=False, data={
        "csrf_token": csrf_token(dashboard, f"/app/contacts/{w1}"), "category": "idea",
        "cause": "pricing"})
    assert r.status_code == 303 and r.headers["location"].endswith("saved=category")
    page = dashboard.get(r.headers["location"]).text
    assert 'id="best-category">idea<' in page
    assert warehouse.read("SELECT label, is_human, labelled_by FROM labels WHERE target_id = ?",
                          [w1]) == [("idea", True, "ana")]
    check_figures(dashboard, f"/app/metrics/complaints?{RANGE}&grain=day", {
        ("2024-03-05T00:00:00",): {"c1", "e3"},
    }, ("start",))


def test_pages_of_a_long_list_cover_every_contact_once(
        dashboard: TestClient, warehouse: Warehouse, tmp_path: Path) -> None:
    # 130 contacts, some created at the same second: keyset pages must neither skip nor repeat.
    rows = [{"external_id": f"k{i:03d}", "channel": "phone", "created_at":
             MON + timedelta(minutes=i // 3), "wait_seconds": float(i % 7)} for i in range(130)]
    load_contacts(warehouse, tmp_path / "in", rows)
    log_in(dashboard, "ana")
    everyone = {r["external_id"] for r in rows}
    for sort in ("created_at", "wait"):
        for direction in ("desc", "asc"):
            ids, total = _behind(dashboard, {"metric": "contacts", "start": MON.isoformat(),
                                             "end": TUE.isoformat(), "sort": sort,
                                             "dir": direction})
            assert ids == everyone and total == 130, (sort, direction)
    # Going back from the third page returns the second page, in the same order.
    first = dashboard.get("/app/contacts", params={"channel": "phone"}).text
    second_url = html.unescape(re.search(r'rel="next" href="\?([^"]+)"', first).group(1))
    second = dashboard.get("/app/contacts?" + second_url).text
    third_url = html.unescape(re.search(r'rel="next" href="\?([^"]+)"', second).group(1))
    third = dashboard.get("/app/contacts?" + third_url).text
    back_url = html.unescape(re.search(r'rel="prev" href="\?([^"]+)"', third).group(1))
    back = dashboard.get("/app/contacts?" + back_url).text
    listed = re.compile(r'data-external-id="([^"]+)"')
    assert listed.findall(back) == listed.findall(second)
    assert len(listed.findall(second)) == 50
