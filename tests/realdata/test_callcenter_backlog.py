"""The real call-centre log leaves no open backlog: every call ends. Served calls end when
their service ends, hang-ups when the caller left the queue (or the voice menu, for the 1,941
who hung up before queueing). Before the mapping said so, 1,991 calls from 1999 stayed open."""

from __future__ import annotations

import csv
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from cxhub.metrics import compute
from cxhub.services.records.files import ingest_paths
from cxhub.warehouse import Warehouse
from cxhub.warehouse.engines import connect

pytestmark = pytest.mark.realdata
EMPTY = ("", "0:00:00")


def _at(day: str, clock: str, after: datetime | None = None) -> datetime | None:
    if clock in EMPTY:
        return None
    t = datetime.strptime(f"{day} {clock}", "%y%m%d %H:%M:%S")
    if after is not None and t < after - timedelta(hours=12):
        t += timedelta(days=1)  # past midnight
    return t


def _ends(row: dict[str, str]) -> tuple[datetime, datetime | None]:
    """(entered, ended) of a call, by hand from the log's columns."""
    entered = _at(row["date"], row["vru_entry"])
    assert entered is not None
    if row["outcome"] == "PHANTOM":
        return entered, None
    order = ("ser_exit", "q_exit", "vru_exit") if row["outcome"] == "AGENT" else (
        "q_exit", "vru_exit")
    for col in order:
        end = _at(row["date"], row[col], entered)
        if end is not None:
            return entered, end
    raise AssertionError(f"call {row['call_id']} has no end time")


def test_every_call_of_the_log_ends(shared_data: Path, warehouse: Warehouse) -> None:
    path = shared_data / "callcenter" / "anonymous_bank_1999_02.tsv"
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    report = ingest_paths(warehouse, "anonymous-bank", [path])
    assert not report.failed and report.files[0].quarantined == 0

    open_after = warehouse.read_one(
        "SELECT count(*) FILTER (WHERE outcome = 'abandoned' AND abandoned_at IS NULL), "
        "count(*) FILTER (WHERE outcome = 'answered' AND resolved_at IS NULL) FROM contacts")
    assert open_after == (0, 0)
    # A caller who hung up in the voice menu (never queued) left when the menu's time ended.
    assert warehouse.read_one(
        "SELECT abandoned_at::VARCHAR FROM contacts WHERE external_id = 'AA0101-34585'") == (
        "1999-02-01 17:17:16",)

    calls = [_ends(r) for r in rows if r["outcome"] != "PHANTOM"]
    con = connect(duckdb_connection=warehouse.cursor())
    counted = []
    for instant in (datetime(1999, 2, 3, 10, 30), datetime(1999, 2, 17, 15, 0),
                    datetime(1999, 3, 1, 0, 0)):
        by_hand = sum(1 for entered, ended in calls
                      if entered < instant and (ended is None or ended >= instant))
        rows_ = compute(con, "backlog", start="1999-02-01", end=instant.isoformat())
        assert rows_[0]["value"] == by_hand, instant
        counted.append(by_hand)
    # Calls in progress on a weekday morning; after the month nothing is left open.
    assert counted[0] > 0 and counted[-1] == 0, counted
