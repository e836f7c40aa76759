"""A public report of real complaints: the CFPB sample by product, and the share answered on
time, checked against counts made by hand from the CSV."""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest

from cxhub.services.public import reports
from cxhub.services.public.figures import sections
from cxhub.services.records.files import ingest_paths
from cxhub.warehouse import Warehouse

# Ibis 12 still calls DuckDB 2.0's deprecated fetch_arrow_table(); harmless, and not ours.
pytestmark = [pytest.mark.realdata, pytest.mark.filterwarnings(
    "ignore:fetch_arrow_table\\(\\) is deprecated:DeprecationWarning")]
MIN = 10


@pytest.fixture
def cfpb(shared_data: Path, tmp_path: Path) -> Iterator[tuple[Warehouse, list[dict[str, str]]]]:
    path = shared_data / "cfpb" / "complaints.csv"
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    wh = Warehouse.open(tmp_path / "cxhub.duckdb")
    try:
        ingest_paths(wh, "cfpb", [path])
        yield wh, rows
    finally:
        wh.close()


def _received(row: dict[str, str]) -> date:
    return datetime.strptime(row["Date received"], "%Y/%m/%d").date()


def _one(section: dict[str, Any]) -> dict[str, Any]:
    assert "unavailable" not in section, section
    assert len(section["rows"]) == 1
    return section["rows"][0]  # type: ignore[no-any-return]


def test_complaints_by_product_and_share_answered_on_time(
        cfpb: tuple[Warehouse, list[dict[str, str]]]) -> None:
    wh, rows = cfpb
    timely = sum(r["Timely response?"] == "Yes" for r in rows)
    assert (timely, len(rows)) == (5182, 5259)  # the file as documented
    first, last = min(map(_received, rows)), max(map(_received, rows))
    figures = sections(wh, start=datetime.combine(first, datetime.min.time()),
                       end=datetime.combine(last, datetime.max.time()), min_count=MIN)

    on_time = _one(figures["answered_on_time"])
    assert on_time["n"] == len(rows)
    assert on_time["value"] == pytest.approx(timely / len(rows), abs=1e-6)

    by_hand = Counter(r["Product"] for r in rows)
    published = {r["product"]: r for r in figures["complaints_by_product"]["rows"]}
    assert set(published) == set(by_hand)
    for product, count in by_hand.items():
        row = published[product]
        if count < MIN:
            assert row["suppressed"] and row["value"] is None and row["n"] is None, product
        else:
            assert row["value"] == count, product
    shown = sum(r["value"] for r in published.values() if r["value"] is not None)
    assert shown == sum(c for c in by_hand.values() if c >= MIN) > 5000


def test_a_daily_report_of_real_complaints(cfpb: tuple[Warehouse, list[dict[str, str]]]
                                           ) -> None:
    wh, rows = cfpb
    per_day = Counter(map(_received, rows))
    busiest, count = per_day.most_common(1)[0]
    assert count >= MIN
    that_day = [r for r in rows if _received(r) == busiest]
    published = reports.publish(wh, busiest, min_count=MIN)
    assert published.created
    figures = published.report.figures["sections"]
    assert _one(figures["volume_total"])["value"] == count
    on_time = _one(figures["answered_on_time"])
    answered = [r for r in that_day if r["Timely response?"] in ("Yes", "No")]
    assert on_time["n"] == len(answered)
    assert on_time["value"] == pytest.approx(
        sum(r["Timely response?"] == "Yes" for r in answered) / len(answered), abs=1e-6)
    # Frozen: publishing again changes nothing.
    assert not reports.publish(wh, busiest, min_count=MIN).created
