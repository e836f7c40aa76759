"""Each built-in format on the real files in ../shared/data. Expected figures are computed here
from the files themselves (with Python's csv module, not cxhub) and, where the data's README
publishes them, checked against those too."""

from __future__ import annotations

import csv
import json
from collections import Counter
from datetime import datetime
from pathlib import Path

import pytest
from tests.conftest import run_cli

from cxhub.services.records.files import ingest_paths
from cxhub.warehouse import Warehouse

pytestmark = pytest.mark.realdata


def rows_of(path: Path, delimiter: str = ",") -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh, delimiter=delimiter, skipinitialspace=True))


def load(wh: Warehouse, fmt: str, path: Path, source: str | None = None):  # type: ignore[no-untyped-def]
    report = ingest_paths(wh, fmt, [path], source=source)
    assert not report.failed, report.failed
    return report.files[0]


def test_cfpb_complaints(shared_data: Path, tmp_path: Path) -> None:
    path = shared_data / "cfpb" / "complaints.csv"
    rows = rows_of(path)
    assert len(rows) == 5259
    home = tmp_path / "home"
    summary = json.loads(run_cli("ingest", "cfpb", str(path), "--json", home=home).stdout)
    totals = summary["totals"]
    assert totals["rows_read"] == 5259
    assert totals["loaded"] + totals["quarantined"] == 5259

    with Warehouse.open(home / "cxhub.duckdb") as wh:
        loaded = {r[0]: r[1:] for r in wh.read(
            "SELECT external_id, channel, timely, created_at, first_response_at, category, text "
            "FROM contacts WHERE source = 'cfpb'")}
        bad = wh.read("SELECT record->>'Complaint ID', line, field, reason FROM quarantine")
    # Every complaint is either loaded under its Complaint ID or quarantined with a reason.
    assert all(line and reason for _, line, _, reason in bad)
    assert set(loaded) | {b[0] for b in bad} == {r["Complaint ID"] for r in rows}
    assert len(loaded) == totals["loaded"]

    channel_of = {"Web": "web", "Referral": "referral", "Phone": "phone",
                  "Postal mail": "letter", "Fax": "letter", "Email": "email"}
    by_id = {r["Complaint ID"]: r for r in rows}
    assert Counter(v[0] for v in loaded.values()) == Counter(
        channel_of[by_id[i]["Submitted via"]] for i in loaded)
    timely = Counter(v[1] for v in loaded.values())
    assert Counter(r["Timely response?"] for r in rows) == {"Yes": 5182, "No": 77}
    assert timely == Counter(by_id[i]["Timely response?"] == "Yes" for i in loaded)
    for cid, (_, _, created, sent, category, text) in loaded.items():
        row = by_id[cid]
        assert created == datetime.strptime(row["Date received"], "%Y/%m/%d")
        assert sent == datetime.strptime(row["Date sent to company"], "%Y/%m/%d")
        assert category == "complaint"
        assert text == (row["Consumer complaint narrative"].strip() or None)


def test_anonymous_bank_calls(shared_data: Path, warehouse: Warehouse) -> None:
    path = shared_data / "callcenter" / "anonymous_bank_1999_02.tsv"
    rows = rows_of(path, "\t")
    result = load(warehouse, "anonymous-bank", path)
    assert (result.rows_read, result.loaded, result.quarantined) == (33344, 33344, 0)
    # The published split of the month's calls.
    assert Counter(r["outcome"] for r in rows) == {"AGENT": 27162, "HANG": 5904, "PHANTOM": 278}
    assert dict(warehouse.read("SELECT outcome, count(*) FROM contacts GROUP BY 1")) == {
        "answered": 27162, "abandoned": 5904, "phantom": 278}
    assert warehouse.read_one("SELECT count(DISTINCT external_id), sum(wait_seconds), "
                              "min(wait_seconds) FROM contacts") == (
        33344, sum(float(r["q_time"]) for r in rows), 0.0)

    bad = warehouse.read_one("""
        SELECT
          count(*) FILTER (WHERE outcome <> 'answered' AND queued_at IS NOT NULL
                           AND date_diff('second', queued_at, abandoned_at) <> wait_seconds),
          count(*) FILTER (WHERE outcome <> 'answered' AND answered_at IS NOT NULL),
          count(*) FILTER (WHERE outcome = 'answered' AND abandoned_at IS NOT NULL),
          count(*) FILTER (WHERE answered_at IS NOT NULL
                           AND date_diff('second', answered_at, resolved_at) <> talk_seconds),
          count(*) FILTER (WHERE least(queued_at, answered_at, abandoned_at, resolved_at)
                           < created_at - INTERVAL 5 MINUTE),
          count(*) FILTER (WHERE greatest(queued_at, answered_at, abandoned_at, resolved_at)
                           > created_at + INTERVAL 2 HOUR)
        FROM contacts""")
    assert bad == (0, 0, 0, 0, 0, 0)
    # Published: served calls last about 176 s on average, median 107 s.
    mean, median = warehouse.read_one(
        "SELECT avg(talk_seconds), median(talk_seconds) FROM contacts WHERE outcome = 'answered'")
    assert round(mean) == 176 and median == 107

    # By hand: a call that reached the queue at 0:00:02 after entering at 23:59:56 is queued
    # the next day.
    assert warehouse.read_one(
        "SELECT created_at::VARCHAR, queued_at::VARCHAR, answered_at::VARCHAR, wait_seconds, "
        "talk_seconds, agent FROM contacts WHERE external_id = 'AA0115-14375'") == (
        "1999-02-10 23:59:56", "1999-02-11 00:00:02", "1999-02-11 00:00:29", 27.0, 29.0,
        "BENSION")


def test_twcs_tweets_and_first_responses(shared_data: Path, warehouse: Warehouse) -> None:
    path = shared_data / "twcs" / "twcs_sample.csv"
    with open(path, newline="", encoding="utf-8") as fh:
        parsed = list(csv.reader(fh))
    header, records = parsed[0], [r for r in parsed[1:] if len(r) == len(parsed[0])]
    tweets = [dict(zip(header, r, strict=True)) for r in records]
    result = load(warehouse, "twcs", path)
    assert (result.rows_read, result.loaded, result.quarantined) == (5000, 4999, 1)
    assert len(tweets) == 4999

    # The broken record: a bare CR inside a tweet splits it; quarantined at its own line.
    data = path.read_bytes()
    line = data[: data.index(b"\n2484,3399,")].count(b"\n") + 2
    (q,) = warehouse.read("SELECT line, field, value, reason FROM quarantine")
    assert q[0] == line and q[1] is None
    assert q[2].startswith("2484,3399,116510,True,")
    assert q[3].startswith("wrong number of columns")

    inbound = Counter(t["inbound"] for t in tweets)
    assert dict(warehouse.read("SELECT inbound, count(*) FROM mentions GROUP BY 1")) == {
        True: inbound["True"], False: inbound["False"]}

    # First responses, computed here from the file: the earliest brand reply to each
    # customer's post (reply ids are written as floats, "3.0").
    by_id = {t["tweet_id"]: t for t in tweets}
    when = {i: datetime.strptime(t["created_at"], "%a %b %d %H:%M:%S %z %Y")
            for i, t in by_id.items()}
    first: dict[str, tuple[datetime, str]] = {}
    for t in tweets:
        parent = t["in_response_to_tweet_id"]
        if t["inbound"] == "False" and parent:
            parent = str(int(float(parent)))
            reply = (when[t["tweet_id"]], t["author_id"])
            if parent not in first or reply < first[parent]:
                first[parent] = reply
    expected = {i: (max((at - when[i]).total_seconds(), 0.0), brand)
                for i, (at, brand) in first.items()
                if i in by_id and by_id[i]["inbound"] == "True"}
    got = {r[0]: (r[1], r[2]) for r in warehouse.read(
        "SELECT external_id, first_response_seconds, brand FROM mentions "
        "WHERE first_response_at IS NOT NULL")}
    assert len(expected) > 2000
    assert got == expected

    # By hand: customer tweet 3 (22:08:27) answered by sprintcare's tweet 1 (22:10:47).
    assert warehouse.read_one(
        "SELECT first_response_at::VARCHAR, first_response_seconds, brand "
        "FROM mentions WHERE external_id = '3'") == ("2017-10-31 22:10:47", 140.0, "sprintcare")


def test_febrl_records_from_two_systems(shared_data: Path, warehouse: Warehouse) -> None:
    a_path, b_path = (shared_data / "febrl" / f"dataset4{x}.csv" for x in "ab")
    a = load(warehouse, "febrl", a_path, source="crm")
    b = load(warehouse, "febrl", b_path, source="billing")
    a_rows, b_rows = rows_of(a_path), rows_of(b_path)
    assert (a.rows_read, b.rows_read) == (5000, 5000)

    def ids(source: str) -> set[str]:
        return {r[0] for r in warehouse.read(
            "SELECT external_id FROM source_records WHERE source = ?", [source])}

    def valid_date(text: str) -> bool:
        try:
            datetime.strptime(text, "%Y%m%d")
        except ValueError:
            return False
        return True

    # FEBRL corrupts some birth dates on purpose; the mapping says `if_invalid: empty`, so
    # every person loads and only a date that is not a date is left out.
    for source, result, rows in (("crm", a, a_rows), ("billing", b, b_rows)):
        assert ids(source) == {r["rec_id"].strip() for r in rows}
        assert (result.loaded, result.quarantined) == (5000, 0)
        dob = dict(warehouse.read(
            "SELECT external_id, date_of_birth::VARCHAR FROM source_records WHERE source = ?",
            [source]))
        for r in rows:
            text = r["date_of_birth"].strip()
            expected = (f"{text[:4]}-{text[4:6]}-{text[6:]}"
                        if text and valid_date(text) else None)
            assert dob[r["rec_id"].strip()] == expected, r["rec_id"]
    invalid_b = sum(1 for r in b_rows if r["date_of_birth"].strip()
                    and not valid_date(r["date_of_birth"].strip()))
    assert invalid_b > 0

    assert warehouse.read_one(
        "SELECT first_name, last_name, address, city, postcode, region, date_of_birth::VARCHAR, "
        "national_id FROM source_records WHERE source = 'crm' AND external_id = 'rec-1070-org'"
    ) == ("michaela", "neumann", "8 stanley street", "winston hills", "4223", "nsw",
          "1915-11-11", "5304218")


@pytest.mark.parametrize(("name", "source", "rows", "customers"), [
    ("CDNOW_sample.txt", "cdnow-sample", 6919, 2357),
    ("CDNOW_master.txt", "cdnow", 69659, 23570),
])
def test_cdnow_purchases(shared_data: Path, warehouse: Warehouse, name: str, source: str,
                         rows: int, customers: int) -> None:
    path = shared_data / "cdnow" / name
    lines = [ln.split() for ln in path.read_text().splitlines() if ln.strip()]
    lines = [parts for parts in lines if parts[0].isdigit()]  # the master file has a header
    result = load(warehouse, "cdnow", path)
    assert (result.rows_read, result.loaded, result.quarantined) == (rows, rows, 0)
    assert len(lines) == rows
    customer_col = 1 if source == "cdnow-sample" else 0
    assert len({p[customer_col] for p in lines}) == customers
    n, distinct, count_customers, amount, quantity = warehouse.read_one(
        "SELECT count(*), count(DISTINCT external_id), count(DISTINCT customer_external_id), "
        "sum(amount), sum(quantity) FROM transactions WHERE source = ?", [source])
    assert (n, distinct, count_customers) == (rows, rows, customers)
    assert amount == pytest.approx(sum(float(p[-1]) for p in lines), abs=0.005)
    assert quantity == sum(int(p[-2]) for p in lines)
