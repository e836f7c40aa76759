"""The overview a head of service reads first (issue 10, items 3, 4 and 9).

Hand-made contacts of 4 and 5 March 2024, nothing before: a comparison with a period the data
does not reach says "no data for that period", one it reaches in part says how many days, and
neither is coloured better or worse. Waits are shown per channel group, never one mean over
call seconds and e-mail hours. A metric's page can be cut by every customer segment.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from tests.web.dashboard_fixtures import dashboard, load_contacts, log_in

from cxhub.services.metrics import compute as metrics
from cxhub.warehouse import Warehouse

__all__ = ["dashboard"]
pytestmark = pytest.mark.filterwarnings(
    "ignore:fetch_arrow_table\\(\\) is deprecated:DeprecationWarning")

MON, TUE = datetime(2024, 3, 4, 9), datetime(2024, 3, 5, 9)


def _answered(eid: str, channel: str, at: datetime, wait: float) -> dict[str, object]:
    return {"external_id": eid, "channel": channel, "created_at": at, "queued_at": at,
            "wait_seconds": wait, "answered_at": at + timedelta(seconds=wait),
            "outcome": "answered"}


def _replied(eid: str, channel: str, at: datetime, hours: float) -> dict[str, object]:
    return {"external_id": eid, "channel": channel, "created_at": at,
            "first_response_at": at + timedelta(hours=hours)}


ROWS = [
    _answered("p1", "phone", MON, 10), _answered("p2", "phone", TUE, 30),
    _answered("c1", "chat", MON, 50),
    _replied("e1", "email", MON, 2), _replied("e2", "email", MON, 4),
    _replied("l1", "letter", MON, 48),
]


@pytest.fixture
def loaded(warehouse: Warehouse, tmp_path: Path) -> Warehouse:
    load_contacts(warehouse, tmp_path / "in", ROWS)
    return warehouse


def test_waits_per_channel_group_against_a_hand_count(loaded: Warehouse) -> None:
    groups = {g["group"]: g for g in metrics.waits_by_channel_group(
        loaded, start=datetime(2024, 3, 4), end=datetime(2024, 3, 10))}
    assert (groups["phone"]["value"], groups["phone"]["n"]) == ((10 + 30) / 2, 2)
    assert (groups["chat"]["value"], groups["chat"]["n"]) == (50, 1)
    # e-mails replied to after 2 h and 4 h, the letter after 48 h: the written channels' mean
    assert groups["written"]["value"] == pytest.approx((2 + 4 + 48) * 3600 / 3)
    assert groups["written"]["n"] == 3
    assert groups["written"]["measure"] == "time to first reply"
    assert (groups["phone"]["text"], groups["written"]["text"]) == ("20 s", "18.0 h")


def test_overview_wait_card_is_per_channel_group(loaded: Warehouse,
                                                dashboard: TestClient) -> None:
    log_in(dashboard, "ana")
    home = dashboard.get("/app?start=2024-03-04&end=2024-03-05").text
    assert "/app/api/waits?" in home
    data = dashboard.get("/app/api/waits?start=2024-03-04&end=2024-03-05").json()
    texts = {g["label"]: g["text"] for g in data["groups"]}
    # Waits count when the contact is reached: the letter's reply (6 March) is not in range.
    assert texts == {"Phone": "20 s", "Chat": "50 s", "Written": "3.0 h"}
    page = dashboard.get("/app/metrics/expected_wait?start=2024-03-04&end=2024-03-05").text
    assert "By channel group" in page and "3.0 h" in page


def test_comparisons_without_data_are_said_and_not_coloured(loaded: Warehouse,
                                                            dashboard: TestClient) -> None:
    log_in(dashboard, "ana")
    data = dashboard.get("/app/api/headline?metric=contacts&start=2024-03-04"
                         "&end=2024-03-05").json()
    assert data["text"] == "6"
    compare = {name: (text, tone) for name, text, tone in data["compare"]}
    assert compare["previous period"] == ("no data for that period", "")
    assert compare["last year"] == ("no data for that period", "")
    # 5 and 6 March against 3 and 4 March, of which the data holds the 4th only.
    data = dashboard.get("/app/api/headline?metric=asa&start=2024-03-05"
                         "&end=2024-03-06").json()
    compare = {name: (text, tone) for name, text, tone in data["compare"]}
    assert compare["previous period"] == ("30 s (partial: 1 of 2 days)", "")


def test_a_month_so_far_says_what_previous_is(loaded: Warehouse,
                                             dashboard: TestClient) -> None:
    log_in(dashboard, "ana")
    page = dashboard.get("/app?start=2024-03-01&end=2024-03-05").text
    assert "Previous period: 01 Feb 2024 to 05 Feb 2024 (the same days of the month before" \
        in page


def test_a_metric_page_cuts_by_every_segment(loaded: Warehouse, dashboard: TestClient) -> None:
    log_in(dashboard, "ana")
    for segment in ("persona", "portfolio", "rfm_segment", "segment"):
        page = dashboard.get(f"/app/metrics/csat?start=2024-03-04&end=2024-03-05&by={segment}")
        assert page.status_code == 200, segment
        assert f"<h2>By {segment}</h2>" in page.text
