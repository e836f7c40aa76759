"""Malformed files, written here: each bad row is quarantined with its file, line, field, value
and reason, and the good rows of the same file load. Files that cannot be read at all are
refused with a message that says what to do."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
from tests.conftest import run_cli

from cxhub.ingest.loader import FileResult
from cxhub.services.records.files import ingest_paths
from cxhub.warehouse import Warehouse

Q = tuple[str, int, str | None, str | None, str]  # file, line, field, value, reason
CHANNELS = "phone, email, chat, web, social, community, letter, referral, other"


def write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8", newline="")
    else:
        path.write_bytes(content)
    return path


def load(wh: Warehouse, fmt: str, path: Path, **kw: str) -> FileResult:
    report = ingest_paths(wh, fmt, [path], **kw)
    assert not report.failed, report.failed
    return report.files[0]


def quarantined(wh: Warehouse, result: FileResult) -> list[Q]:
    return wh.read(
        "SELECT file, line, field, value, reason FROM quarantine WHERE batch_id = ? "
        "ORDER BY line, field NULLS FIRST",
        [result.batch_id],
    )


def loaded_ids(wh: Warehouse, table: str, result: FileResult) -> list[str]:
    rows = wh.read(f"SELECT external_id FROM {table} WHERE batch_id = ? ORDER BY 1",
                   [result.batch_id])
    return [r[0] for r in rows]


def test_wrong_column_counts(warehouse: Warehouse, tmp_path: Path) -> None:
    path = write(tmp_path, "contacts.csv",
                 "source,external_id,channel,created_at\n"
                 "crm,a,phone,2024-01-01 10:00\n"
                 "crm,b,phone\n"
                 "crm,c,email,2024-01-01 11:00\n"
                 "crm,d,email,2024-01-01 12:00,extra\n"
                 "crm,e,chat,2024-01-01 13:00\n")
    result = load(warehouse, "generic", path)
    f = str(path.resolve())
    assert quarantined(warehouse, result) == [
        (f, 3, None, "crm,b,phone", "wrong number of columns: expected 4, found 3"),
        (f, 5, None, "crm,d,email,2024-01-01 12:00,extra",
         "wrong number of columns: expected 4, found 5"),
    ]
    assert loaded_ids(warehouse, "contacts", result) == ["a", "c", "e"]
    assert (result.rows_read, result.loaded, result.quarantined) == (5, 3, 2)


def test_quoted_newlines_keep_the_real_line_numbers(warehouse: Warehouse, tmp_path: Path) -> None:
    path = write(tmp_path, "contacts.csv",
                 "source,external_id,channel,created_at,text\n"    # 1
                 'crm,a,email,2024-01-01,"Dear team,\n'             # 2
                 "my parcel\n"                                      # 3
                 'never came."\n'                                   # 4
                 "crm,b,email,not a date,short\n"                   # 5
                 'crm,c,letter,2024-01-02,"two\r\nlines"\n'         # 6-7
                 "crm,d,fax,2024-01-03,x\n"                         # 8
                 "crm,e,web,2024-01-04\n"                           # 9
                 'crm,f,web,2024-01-05,"last\none"\n')              # 10-11
    result = load(warehouse, "generic", path)
    f = str(path.resolve())
    assert quarantined(warehouse, result) == [
        (f, 5, "created_at", "not a date", "not a valid timestamp"),
        (f, 8, "channel", "fax", f"not one of: {CHANNELS}"),
        (f, 9, None, "crm,e,web,2024-01-04", "wrong number of columns: expected 5, found 4"),
    ]
    texts = dict(warehouse.read("SELECT external_id, text FROM contacts"))
    assert texts == {"a": "Dear team,\nmy parcel\nnever came.", "c": "two\r\nlines",
                     "f": "last\none"}


def test_a_record_broken_by_bare_carriage_returns_is_one_reject(
    warehouse: Warehouse, tmp_path: Path
) -> None:
    # A CR alone ends a record for CSV readers: the record falls apart into pieces that share
    # one line of the file, and that line is what the user must fix.
    path = write(tmp_path, "contacts.csv",
                 "source,external_id,channel,text,created_at\n"
                 "crm,a,web,fine,2024-01-01\n"
                 "crm,b,web,broken \r\rhere,2024-01-01\n"
                 "crm,c,web,-,2024-01-01\n")
    result = load(warehouse, "generic", path)
    assert quarantined(warehouse, result) == [(
        str(path.resolve()), 3, None, "crm,b,web,broken ",
        "wrong number of columns: expected 5, found 4",
    )]
    assert loaded_ids(warehouse, "contacts", result) == ["a", "c"]
    assert (result.rows_read, result.quarantined) == (3, 1)


@pytest.mark.slow
def test_latin1_read_as_utf8_then_loaded_with_its_encoding(tmp_path: Path) -> None:
    home = tmp_path / "home"
    text = ("source,external_id,channel,created_at,subject\n"
            "crm,a,phone,2024-01-01,plain\n"
            "crm,b,phone,2024-01-01,Caf\xe9 cr\xe8me\n"
            "crm,c,phone,2024-01-01,plain too\n")
    path = write(tmp_path, "contacts.csv", text.encode("latin-1"))
    first = run_cli("ingest", "generic", str(path), home=home)
    assert "--encoding latin-1" in first.stdout
    second = run_cli("ingest", "generic", str(path), "--encoding", "latin-1", "--json",
                     home=home)
    assert '"loaded": 1' in second.stdout and '"existing": 2' in second.stdout
    with Warehouse.open(home / "cxhub.duckdb") as wh:
        (q,) = wh.read("SELECT file, line, field, value, reason FROM quarantine")
        assert q[:3] == (str(path.resolve()), 3, "subject")
        assert q[3].startswith("crm,b,phone")
        assert "--encoding latin-1" in q[4]
        subjects = dict(wh.read("SELECT external_id, subject FROM contacts"))
    assert subjects == {"a": "plain", "b": "Café crème", "c": "plain too"}


def test_a_latin1_header_refuses_the_file_with_a_hint(warehouse: Warehouse, tmp_path: Path) -> None:
    path = write(tmp_path, "contacts.csv",
                 "source,external_id,channel,created_at,r\xe9gion\ncrm,a,web,2024-01-01,x\n"
                 .encode("latin-1"))
    report = ingest_paths(warehouse, "generic", [path])
    assert "line 1" in report.failed[str(path)]
    assert "--encoding latin-1" in report.failed[str(path)]
    report = ingest_paths(warehouse, "generic", [path], encoding="latin-1")
    assert not report.failed and report.files[0].loaded == 1
    assert warehouse.read("SELECT attributes->>'région' FROM contacts") == [("x",)]


def test_a_utf16_file_is_refused_with_the_right_hint_then_loads(warehouse: Warehouse,
                                                                tmp_path: Path) -> None:
    # Spreadsheet programs save "Unicode text" as UTF-16 with a byte-order mark.
    text = "source,external_id,channel,created_at,subject\ncrm,a,web,2024-01-01,Café\n"
    path = write(tmp_path, "contacts.csv", text.encode("utf-16"))
    report = ingest_paths(warehouse, "generic", [path])
    assert "--encoding utf-16" in report.failed[str(path)]
    report = ingest_paths(warehouse, "generic", [path], encoding="utf-16")
    assert not report.failed and report.files[0].loaded == 1
    assert warehouse.read("SELECT subject FROM contacts") == [("Café",)]


def test_semicolons_are_refused_with_the_delimiter_and_missing_columns(tmp_path: Path) -> None:
    path = write(tmp_path, "contacts.csv",
                 "source;external_id;channel;created_at\ncrm;a;phone;2024-01-01\n")
    home = tmp_path / "home"
    proc = run_cli("ingest", "generic", str(path), home=home, check=False)
    assert proc.returncode == 2
    message = " ".join(proc.stderr.split())  # the console wraps long lines
    assert "semicolon" in message
    for column in ("source", "external_id", "channel", "created_at"):
        assert f"'{column}'" in message
    with Warehouse.open(home / "cxhub.duckdb") as wh:
        assert wh.read_one("SELECT count(*) FROM contacts") == (0,)
        assert wh.read_one("SELECT count(*) FROM ingest_batches") == (0,)


def test_builtin_formats_name_a_wrong_delimiter(warehouse: Warehouse, tmp_path: Path) -> None:
    path = write(tmp_path, "calls.csv",
                 "vru+line,call_id,customer_id,date,vru_entry\nAA0101,1,0,990201,7:00:00\n")
    report = ingest_paths(warehouse, "anonymous-bank", [path])
    message = report.failed[str(path)]
    assert "comma-separated" in message and "'\\t'" in message


def test_missing_required_columns_are_named(warehouse: Warehouse, tmp_path: Path) -> None:
    path = write(tmp_path, "contacts.csv", "source,external_id,when\ncrm,a,2024-01-01\n")
    report = ingest_paths(warehouse, "generic", [path])
    assert "missing required columns ['channel', 'created_at']" in report.failed[str(path)]

    cfpb = write(tmp_path, "cfpb.csv",
                 "Date received,Product,Submitted via\n2020/3/18,Mortgage,Web\n")
    report = ingest_paths(warehouse, "cfpb", [cfpb])
    assert "missing required columns ['Complaint ID']" in report.failed[str(cfpb)]
    # A --source stands in for the generic `source` column; nothing else does.
    plain = write(tmp_path, "p/contacts.csv", "external_id,channel,created_at\na,web,2024-01-01\n")
    assert "['source']" in ingest_paths(warehouse, "generic", [plain]).failed[str(plain)]
    assert load(warehouse, "generic", plain, source="crm").loaded == 1


def test_missing_and_empty_files(warehouse: Warehouse, tmp_path: Path) -> None:
    missing = tmp_path / "contacts.csv"
    assert "no such file" in ingest_paths(warehouse, "generic", [missing]).failed[str(missing)]
    empty = write(tmp_path, "e/contacts.csv", "")
    assert "empty" in ingest_paths(warehouse, "generic", [empty]).failed[str(empty)]


def test_unparseable_future_and_implausible_dates(warehouse: Warehouse, tmp_path: Path) -> None:
    soon = (datetime.now() + timedelta(days=30)).strftime("%Y-%m-%d %H:%M:%S")
    path = write(tmp_path, "contacts.csv",
                 "source,external_id,channel,created_at\n"
                 "crm,a,web,2024-02-29 10:00:00\n"
                 "crm,b,web,yesterday\n"
                 "crm,c,web,2024-02-30 10:00:00\n"
                 f"crm,d,web,{soon}\n"
                 "crm,e,web,1700-01-01\n")
    result = load(warehouse, "generic", path)
    f = str(path.resolve())
    assert quarantined(warehouse, result) == [
        (f, 3, "created_at", "yesterday", "not a valid timestamp"),
        (f, 4, "created_at", "2024-02-30 10:00:00", "not a valid timestamp"),
        (f, 5, "created_at", soon, "in the future"),
        (f, 6, "created_at", "1700-01-01", "implausible date (before 1850)"),
    ]
    assert loaded_ids(warehouse, "contacts", result) == ["a"]


def test_negative_durations(warehouse: Warehouse, tmp_path: Path) -> None:
    path = write(tmp_path, "contacts.csv",
                 "source,external_id,channel,created_at,answered_at,wait_seconds\n"
                 "crm,a,phone,2024-01-01 10:00:00,2024-01-01 10:01:00,60\n"
                 "crm,b,phone,2024-01-01 10:00:00,,-3\n"
                 "crm,c,phone,2024-01-01 10:00:00,2024-01-01 09:00:00,0\n"
                 "crm,d,phone,2024-01-01 10:00:00,,0\n")
    result = load(warehouse, "generic", path)
    f = str(path.resolve())
    assert quarantined(warehouse, result) == [
        (f, 3, "wait_seconds", "-3", "negative duration"),
        (f, 4, "answered_at", "2024-01-01 09:00:00", "before created_at (negative duration)"),
    ]
    assert loaded_ids(warehouse, "contacts", result) == ["a", "d"]


def test_durations_not_finite_or_implausibly_long(warehouse: Warehouse, tmp_path: Path) -> None:
    # One wait of 3e11 s made a day's ASA 20,000,000,028 s; NaN and Infinity printed invalid
    # JSON and "inf h" in a frozen report.
    path = write(tmp_path, "contacts.csv",
                 "source,external_id,channel,created_at,wait_seconds,talk_seconds\n"
                 "crm,a,phone,2024-01-01 10:00:00,60,120\n"
                 "crm,b,phone,2024-01-01 10:00:00,3e11,0\n"
                 "crm,c,phone,2024-01-01 10:00:00,NaN,0\n"
                 "crm,d,phone,2024-01-01 10:00:00,0,Infinity\n"
                 "crm,e,phone,2024-01-01 10:00:00,31622400,0\n")
    result = load(warehouse, "generic", path)
    f = str(path.resolve())
    assert quarantined(warehouse, result) == [
        (f, 3, "wait_seconds", "3e11", "implausibly long duration (over 31,622,400 s)"),
        (f, 4, "wait_seconds", "NaN", "not a finite number"),
        (f, 5, "talk_seconds", "Infinity", "not a finite number"),
    ]
    assert loaded_ids(warehouse, "contacts", result) == ["a", "e"]


@pytest.mark.parametrize(("survey_type", "good", "bad"), [
    ("csat", ["1", "5", "3.5"], ["0", "6"]),
    ("nps", ["0", "10"], ["-1", "11"]),
    ("ces", ["1", "7"], ["0", "8"]),
])
def test_survey_scores_out_of_range(
    warehouse: Warehouse, tmp_path: Path, survey_type: str, good: list[str], bad: list[str]
) -> None:
    lo, hi = {"csat": (1, 5), "nps": (0, 10), "ces": (1, 7)}[survey_type]
    scores = good + bad
    lines = [f"web,s{i},{survey_type},{s},2024-01-01" for i, s in enumerate(scores)]
    path = write(tmp_path, "surveys.csv",
                 "source,external_id,survey_type,score,answered_at\n" + "\n".join(lines) + "\n")
    result = load(warehouse, "generic", path)
    f = str(path.resolve())
    reason = f"out of range for {survey_type} ({lo}-{hi})"
    assert quarantined(warehouse, result) == [
        (f, 2 + len(good) + i, "score", s, reason) for i, s in enumerate(bad)
    ]
    assert loaded_ids(warehouse, "surveys", result) == sorted(f"s{i}" for i in range(len(good)))


def test_survey_type_and_score_must_be_known(warehouse: Warehouse, tmp_path: Path) -> None:
    path = write(tmp_path, "surveys.csv",
                 "source,external_id,survey_type,score,answered_at\n"
                 "web,a,stars,3,2024-01-01\n"
                 "web,b,csat,great,2024-01-01\n"
                 "web,c,nps,9,2024-01-01\n")
    result = load(warehouse, "generic", path)
    f = str(path.resolve())
    assert quarantined(warehouse, result) == [
        (f, 2, "survey_type", "stars", "not one of: csat, nps, ces"),
        (f, 3, "score", "great", "not a valid float"),
    ]
    assert loaded_ids(warehouse, "surveys", result) == ["c"]


def test_unknown_channel_and_missing_values(warehouse: Warehouse, tmp_path: Path) -> None:
    path = write(tmp_path, "contacts.csv",
                 "source,external_id,channel,created_at\n"
                 "crm,a,carrier pigeon,2024-01-01\n"
                 "crm,,web,2024-01-01\n"
                 "crm,d,web,2024-01-01\n")
    result = load(warehouse, "generic", path)
    f = str(path.resolve())
    assert quarantined(warehouse, result) == [
        (f, 2, "channel", "carrier pigeon", f"not one of: {CHANNELS}"),
        (f, 3, "external_id", None, "missing value"),
    ]
    assert loaded_ids(warehouse, "contacts", result) == ["d"]


def test_text_after_a_closing_quote(warehouse: Warehouse, tmp_path: Path) -> None:
    path = write(tmp_path, "contacts.csv",
                 "source,external_id,channel,created_at\n"
                 'crm,"a"b,web,2024-01-01\n'
                 "crm,c,web,2024-01-01\n")
    result = load(warehouse, "generic", path)
    assert quarantined(warehouse, result) == [
        (str(path.resolve()), 2, None, 'crm,"a"b,web,2024-01-01', "unterminated or stray quote")
    ]
    assert loaded_ids(warehouse, "contacts", result) == ["c"]


def test_invalid_json_lines(warehouse: Warehouse, tmp_path: Path) -> None:
    row = '{{"source": "app", "external_id": "{}", "channel": "chat", "created_at": "{}"}}\n'
    path = write(tmp_path, "contacts.jsonl",
                 row.format("a", "2024-01-01T10:00:00Z")
                 + "\n"                                       # blank lines are skipped
                 + '{"source": "app", "external_id": "b",\n'  # an object split over lines
                 + '"channel": "chat"}\n'
                 + row.format("c", "2024-01-01T11:00:00Z")
                 + row.format("d", "sometime"))
    result = load(warehouse, "generic", path)
    f = str(path.resolve())
    rows = quarantined(warehouse, result)
    assert [r[:3] for r in rows] == [(f, 3, None), (f, 4, None), (f, 6, "created_at")]
    assert rows[0][4].startswith("invalid JSON") and rows[1][4].startswith("invalid JSON")
    assert rows[2][3:] == ("sometime", "not a valid timestamp")
    assert loaded_ids(warehouse, "contacts", result) == ["a", "c"]
    assert (result.rows_read, result.loaded, result.quarantined) == (5, 2, 3)


CFPB_HEADER = (
    "Date received,Product,Sub-product,Issue,Sub-issue,Consumer complaint narrative,"
    "Company public response,Company,State,ZIP code,Tags,Consumer consent provided?,"
    "Submitted via,Date sent to company,Company response to consumer,Timely response?,"
    "Consumer disputed?,Complaint ID\n"
)
BANK_HEADER = (
    "vru+line\tcall_id\tcustomer_id\tpriority\ttype\tdate\tvru_entry\tvru_exit\tvru_time\t"
    "q_start\tq_exit\tq_time\toutcome\tser_start\tser_exit\tser_time\tserver\n"
)


def _cfpb(received: str, via: str, timely: str, cid: str) -> str:
    return (f"{received},Mortgage,,Trouble,,,,Bank,NY,100XX,,,{via},2020/3/21,"
            f"Closed with explanation,{timely},N/A,{cid}\n")


def _call(call_id: str, q_time: str, outcome: str) -> str:
    return (f"AA0101\t{call_id}\t0\t0\tPS\t990201\t7:02:47\t7:02:56\t9\t7:02:56\t7:03:10\t"
            f"{q_time}\t{outcome}\t7:03:10\t7:05:41\t151\tDORIT\n")


BUILTIN_CASES = {
    "cfpb": ("complaints.csv", "contacts", {},
             CFPB_HEADER + _cfpb("2020/3/18", "Web", "Yes", "11")
             + _cfpb("2020/13/18", "Web", "Yes", "12")
             + _cfpb("2020/3/19", "Web", "Maybe", "13")
             + _cfpb("2020/3/20", "Postal mail", "No", "14"),
             [(3, "created_at", "2020/13/18", "not a valid timestamp (expected %Y/%m/%d)"),
              (4, "timely", "Maybe", "not a valid bool")],
             ["11", "14"]),
    "anonymous-bank": ("calls.tsv", "contacts", {},
                       BANK_HEADER + _call("1", "14", "AGENT") + _call("2", "-14", "AGENT")
                       + _call("3", "14", "BUSY") + _call("4", "14", "HANG"),
                       [(3, "wait_seconds", "-14", "negative duration"),
                        (4, "outcome", "BUSY",
                         "unknown value; expected one of: agent, hang, phantom")],
                       ["AA0101-1", "AA0101-4"]),
    "twcs": ("tweets.csv", "mentions", {},
             "tweet_id,author_id,inbound,created_at,text,response_tweet_id,in_response_to_tweet_id\n"
             "1,115712,True,Tue Oct 31 22:10:47 +0000 2017,@sprintcare help,2,\n"
             "2,sprintcare,False,Tuesday morning,@115712 hi,,1.0\n"
             "3,sprintcare,False,Tue Oct 31 22:12:47 +0000 2017,@115712 hello,,1.0\n",
             [(3, "created_at", "Tuesday morning",
               "not a valid timestamp (expected %a %b %d %H:%M:%S %z %Y)")],
             ["1", "3"]),
    "febrl": ("people.csv", "source_records", {"source": "crm"},
              "rec_id, given_name, surname, street_number, address_1, address_2, suburb, "
              "postcode, state, date_of_birth, soc_sec_id\n"
              "rec-1-org, ann, lee, 3, main street, , kew, 3101, vic, 19800229, 111\n"
              "rec-2-org, bob, ray, 4, high street, , kew, 3101, vic, 19810229, 222\n"
              ", cy, ray, 5, high street, , kew, 3101, vic, 19820101, 333\n",
              # 29 February 1981 is no date: FEBRL says `if_invalid: empty`, so Bob loads
              # without a birth date; a record without its rec_id cannot load.
              [(4, "external_id", None, "missing value")],
              ["rec-1-org", "rec-2-org"]),
    "cdnow": ("CDNOW_part.txt", "transactions", {},
              " 00001 19970101  1   11.77\n 00002 19971301  1   12.00\n"
              " 00003 19970102  2\n 00004 19970103  1   9.99\n",
              [(2, "occurred_at", "19971301", "not a valid timestamp (expected %Y%m%d)"),
               (3, None, "00003 19970102 2", "3 columns, expected 4")],
              ["00001|19970101|1", "00004|19970103|1"]),
}


@pytest.mark.parametrize("fmt", sorted(BUILTIN_CASES))
def test_builtin_formats_quarantine_bad_rows(
    warehouse: Warehouse, tmp_path: Path, fmt: str
) -> None:
    name, table, options, content, bad, good = BUILTIN_CASES[fmt]
    path = write(tmp_path, name, content)
    result = load(warehouse, fmt, path, **options)
    f = str(path.resolve())
    assert quarantined(warehouse, result) == [(f, *q) for q in bad]
    assert loaded_ids(warehouse, table, result) == good
    if fmt == "febrl":
        assert warehouse.read(
            "SELECT external_id, date_of_birth::VARCHAR FROM source_records ORDER BY 1"
        ) == [("rec-1-org", "1980-02-29"), ("rec-2-org", None)]
