"""`cxhub metrics` and `GET /api/v1/metrics/...`: the same catalogue, the shapes users rely on."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from tests.conftest import run_cli

from cxhub.metrics import default_catalogue
from cxhub.services.access.keys import create_key
from cxhub.settings import Settings
from cxhub.warehouse import Warehouse
from cxhub.web.app import create_app

pytestmark = pytest.mark.filterwarnings(
    "ignore:fetch_arrow_table\\(\\) is deprecated:DeprecationWarning")

# Monday 4 March: two phone calls (one answered in 10 s, one in 45 s), one email;
# Tuesday 5 March: one chat answered in 30 s.
_ROWS = """
INSERT INTO contacts (contact_id, source, external_id, channel, created_at, answered_at,
                      queued_at, wait_seconds) VALUES
 (1, 't', 'a', 'phone', TIMESTAMP '2024-03-04 09:00:00', TIMESTAMP '2024-03-04 09:00:10',
  TIMESTAMP '2024-03-04 09:00:00', 10),
 (2, 't', 'b', 'phone', TIMESTAMP '2024-03-04 10:00:00', TIMESTAMP '2024-03-04 10:00:45',
  TIMESTAMP '2024-03-04 10:00:00', 45),
 (3, 't', 'c', 'email', TIMESTAMP '2024-03-04 11:00:00', NULL, NULL, NULL),
 (4, 't', 'd', 'chat', TIMESTAMP '2024-03-05 12:00:00', TIMESTAMP '2024-03-05 12:00:30',
  TIMESTAMP '2024-03-05 12:00:00', 30)
"""


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A cxhub home whose warehouse holds the four contacts above (and is closed again)."""
    with Warehouse.open(tmp_path / "cxhub.duckdb") as wh:
        wh.write(lambda con: con.execute(_ROWS))
    return tmp_path


@pytest.mark.slow
def test_cli_json_is_a_list_of_period_dimension_value(home: Path) -> None:
    proc = run_cli("metrics", "contacts", "--from", "2024-03-04", "--to", "2024-03-05",
                   "--by", "day,channel", "--json", home=home)
    rows = json.loads(proc.stdout)
    # every day for every channel seen in the range, so that a chart has no holes
    assert rows == [
        {"period": "2024-03-04T00:00:00", "channel": "chat", "value": 0, "n": 0},
        {"period": "2024-03-04T00:00:00", "channel": "email", "value": 1, "n": 1},
        {"period": "2024-03-04T00:00:00", "channel": "phone", "value": 2, "n": 2},
        {"period": "2024-03-05T00:00:00", "channel": "chat", "value": 1, "n": 1},
        {"period": "2024-03-05T00:00:00", "channel": "email", "value": 0, "n": 0},
        {"period": "2024-03-05T00:00:00", "channel": "phone", "value": 0, "n": 0},
    ]


@pytest.mark.slow
def test_cli_table_compare_and_filter(home: Path) -> None:
    proc = run_cli("metrics", "service_level", "--from", "2024-03-04", "--to", "2024-03-05",
                   "--filter", "channel=phone", "--compare", "target", home=home)
    assert "Service level" in proc.stdout
    assert "50.0%" in proc.stdout  # phone: 1 of 2 answered within 20 s
    assert "80.0%" in proc.stdout  # the target


@pytest.mark.slow
def test_cli_lists_the_catalogue_and_explains_mistakes(home: Path) -> None:
    listed = json.loads(run_cli("metrics", "--list", "--json", home=home).stdout)
    assert [m["name"] for m in listed] == default_catalogue().names
    table = run_cli("metrics", "--list", home=home).stdout
    assert "service_level" in table and "fcr" in table
    unknown = run_cli("metrics", "servce_level", home=home, check=False)
    assert unknown.returncode == 2
    assert "did you mean 'service_level'" in unknown.stderr.lower()
    bad = run_cli("metrics", "contacts", "--by", "fortnight", home=home, check=False)
    assert bad.returncode == 2 and "by:" in bad.stderr and "fortnight" in bad.stderr


@pytest.fixture
def client(tmp_path: Path) -> Iterator[tuple[TestClient, str]]:
    with Warehouse.open(tmp_path / "cxhub.duckdb") as wh:
        wh.write(lambda con: con.execute(_ROWS))
        _, token = create_key(wh, scopes=["read"], name="metrics test")
        app = create_app(Settings(home=tmp_path), warehouse=wh)
        with TestClient(app) as c:
            c.headers["Authorization"] = f"Bearer {token}"
            yield c, token


def test_api_lists_the_catalogue(client: tuple[TestClient, str]) -> None:
    c, _ = client
    r = c.get("/api/v1/metrics")
    assert r.status_code == 200
    by_name = {m["name"]: m for m in r.json()["metrics"]}
    assert set(by_name) == set(default_catalogue().names)
    assert by_name["service_level"]["unit"] == "share"
    assert by_name["service_level"]["target"] == 0.8


def test_api_metric_by_period_with_filter_and_comparisons(
        client: tuple[TestClient, str]) -> None:
    c, _ = client
    r = c.get("/api/v1/metrics/contacts", params={
        "from": "2024-03-04", "to": "2024-03-05", "by": "day",
        "compare": "previous,target", "channel": "phone,chat"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["from"] == "2024-03-04T00:00:00" and body["to"] == "2024-03-06T00:00:00"
    assert body["filters"] == {"channel": ["phone", "chat"]}
    # The data starts on 4 March: the day before it is no comparison (no figure, not 0).
    assert body["rows"] == [
        {"period": "2024-03-04T00:00:00", "value": 2, "n": 2, "previous": None,
         "previous_coverage": {"days": 1, "covered_days": 0, "status": "none"},
         "target": None},
        {"period": "2024-03-05T00:00:00", "value": 1, "n": 1, "previous": 2,
         "previous_coverage": {"days": 1, "covered_days": 1, "status": "full"},
         "target": None},
    ]


@pytest.mark.parametrize(("params", "parameter"), [
    ({"from": "yesterday"}, "from"),
    ({"from": "2024-03-05", "to": "2024-03-01"}, "to"),
    ({"by": "day,fortnight"}, "by"),
    ({"compare": "next_year"}, "compare"),
    ({"colour": "blue"}, "colour"),
])
def test_api_bad_input_is_422_naming_the_parameter(client: tuple[TestClient, str],
                                                   params: dict[str, str],
                                                   parameter: str) -> None:
    c, _ = client
    r = c.get("/api/v1/metrics/contacts", params=params)
    assert r.status_code == 422, r.text
    assert r.json()["detail"][0]["loc"] == ["query", parameter]


def test_api_unknown_metric_is_404_and_needs_a_read_key(client: tuple[TestClient, str]) -> None:
    c, _ = client
    r = c.get("/api/v1/metrics/nsp")
    assert r.status_code == 404
    assert "nps" in r.json()["detail"]
    anonymous = c.get("/api/v1/metrics/contacts", headers={"Authorization": ""})
    assert anonymous.status_code == 401
