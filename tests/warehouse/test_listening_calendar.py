"""The campaign calendar: planned demand is expected, not alerted; an unplanned spike in the
same days still is. And the calendar's table in new and old warehouse files."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pytest

from cxhub.services.listening import detect as listening
from cxhub.services.records.files import ingest_paths
from cxhub.warehouse import Warehouse, schema

pytestmark = pytest.mark.filterwarnings(
    "ignore:fetch_arrow_table\\(\\) is deprecated:DeprecationWarning")

START = dt.datetime(2026, 3, 2)  # a Monday
WEEKS = 6
CAMPAIGN = (START + dt.timedelta(weeks=5), START + dt.timedelta(weeks=6))  # billing doubles
BURST = START + dt.timedelta(weeks=5, days=2, hours=9)  # Wednesday: product five-fold, 6 h
HOUR = np.array([0.05] * 7 + [1.0] * 11 + [0.5] * 6)
DAY = np.array([1, 1, 1, 1, 0.9, 0.3, 0.2])
RATE = {"product": 5.0, "billing": 4.0}


def _contacts(rng: np.random.Generator) -> list[dict[str, Any]]:
    rows = []
    for h in range(WEEKS * 7 * 24):
        at = START + dt.timedelta(hours=h)
        for cause, rate in RATE.items():
            mean = rate * DAY[at.weekday()] * HOUR[at.hour]
            if cause == "billing" and CAMPAIGN[0] <= at < CAMPAIGN[1]:
                mean *= 2.0
            if cause == "product" and BURST <= at < BURST + dt.timedelta(hours=6):
                mean *= 5.0
            for _ in range(rng.poisson(mean)):
                created = at + dt.timedelta(seconds=int(rng.integers(0, 3600)))
                rows.append({"source": "pbx", "external_id": f"C{len(rows):06d}",
                             "channel": "phone", "created_at": created.isoformat(sep=" "),
                             "cause": cause})
    return rows


def _load(wh: Warehouse, folder: Path, kind: str, rows: list[dict[str, Any]]) -> None:
    path = folder / f"{kind}.csv"
    with path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    report = ingest_paths(wh, "generic", [path], kind=kind)
    assert not report.failed and report.totals["quarantined"] == 0, report.to_dict()


@pytest.fixture
def company(warehouse: Warehouse, tmp_path: Path) -> Warehouse:
    _load(warehouse, tmp_path, "contacts", _contacts(np.random.default_rng(7)))
    return warehouse


def _spikes(wh: Warehouse) -> list[tuple[str, str, dt.datetime, dt.datetime]]:
    report = listening.detect(wh, store=False,
                              settings=listening.ListeningSettings(targets=("contacts",)))
    return [(s["dimension"], s["value"], s["window_start"], s["window_end"])
            for s in report.spikes]


def _inside(spike: tuple[str, str, dt.datetime, dt.datetime],
            window: tuple[dt.datetime, dt.datetime]) -> bool:
    return spike[2] < window[1] and window[0] < spike[3]


def _calendar_row(**extra: str) -> dict[str, str]:
    row = {"source": "marketing", "external_id": "spring-offer", "kind": "campaign",
           "name": "Spring price offer", "starts_at": CAMPAIGN[0].isoformat(sep=" "),
           "ends_at": CAMPAIGN[1].isoformat(sep=" "), "channel": "", "cause": "billing",
           "expected_lift": "2.0"}
    return {**row, **extra}


@pytest.mark.parametrize("lift", ["2.0", ""], ids=["lift given", "lift measured"])
def test_the_calendar_silences_planned_demand_and_not_an_unplanned_spike(
        company: Warehouse, tmp_path: Path, lift: str) -> None:
    burst = (BURST, BURST + dt.timedelta(hours=6))
    before = _spikes(company)
    # Without the calendar the campaign alerts (billing doubles for a week) and so does the
    # burst: the detector sees both.
    assert any(s[:2] == ("cause", "billing") and _inside(s, CAMPAIGN) for s in before), before
    assert any(s[:2] == ("cause", "product") and _inside(s, burst) for s in before), before

    _load(company, tmp_path, "calendar_events", [_calendar_row(expected_lift=lift)])
    after = _spikes(company)
    assert not [s for s in after if s[:2] == ("cause", "billing") and _inside(s, CAMPAIGN)], after
    product = [s for s in after if s[:2] == ("cause", "product") and _inside(s, burst)]
    assert product, after
    assert product[0][2] <= BURST + dt.timedelta(hours=2), product


def test_a_calendar_of_another_cause_does_not_hide_a_spike(company: Warehouse,
                                                            tmp_path: Path) -> None:
    _load(company, tmp_path, "calendar_events",
          [_calendar_row(cause="delivery"), _calendar_row(external_id="other", cause="pricing")])
    after = _spikes(company)
    assert any(s[:2] == ("cause", "billing") and _inside(s, CAMPAIGN) for s in after), after


def _tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    return {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables")
            .fetchall()}


def test_the_calendar_table_in_a_new_file_and_in_a_file_made_before_it(tmp_path: Path) -> None:
    fresh = duckdb.connect(str(tmp_path / "new.duckdb"))
    schema.migrate(fresh)
    assert "calendar_events" in _tables(fresh)

    old = duckdb.connect(str(tmp_path / "old.duckdb"))
    schema.migrate(old, target=6)
    old.execute("DROP TABLE calendar_events")  # as a file made before the calendar existed
    assert schema.migrate(old) == [v for v in range(7, schema.LATEST + 1)
                                   if v in {m.version for m in schema.MIGRATIONS}]
    assert "calendar_events" in _tables(old)
    cols = {r[0] for r in old.execute(
        "SELECT column_name FROM information_schema.columns "
        "WHERE table_name = 'calendar_events'").fetchall()}
    assert {"kind", "name", "starts_at", "ends_at", "channel", "cause", "expected_lift"} <= cols
