"""Contact times from a file, for `cxhub forecast evaluate` (no warehouse needed)."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd

from cxhub.domain.errors import CxhubError

FORMATS = ("anonymous-bank", "csv")


def contact_times(path: Path, fmt: str, *, time_col: str | None = None) -> pd.Series:
    """Each contact's arrival time (naive, as written in the file).

    anonymous-bank: the Technion log (date YYMMDD + vru_entry, tab-separated), every call
    offered (served, hung up or phantom). csv: any file with a header and a column of times
    (`time_col`, default `created_at`); rows whose time does not parse are an error naming the
    first such line.
    """
    if not path.is_file():
        raise CxhubError(f"{path}: no such file")
    con = duckdb.connect()
    try:
        if fmt == "anonymous-bank":
            return _anonymous_bank(con, path)
        if fmt == "csv":
            return _csv(con, path, time_col or "created_at")
    finally:
        con.close()
    raise CxhubError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")


def _anonymous_bank(con: duckdb.DuckDBPyConnection, path: Path) -> pd.Series:
    try:
        rel = con.read_csv(str(path), delimiter="\t", header=True, all_varchar=True)
        cols = set(rel.columns)
    except duckdb.Error as exc:
        raise CxhubError(f"{path}: not a readable tab-separated file ({exc})") from None
    if not {"date", "vru_entry"} <= cols:
        raise CxhubError(f"{path}: an Anonymous Bank log needs the columns date and vru_entry")
    df = con.sql(
        "SELECT row_number() OVER () + 1 AS line, date, vru_entry, "
        "try_strptime(date || ' ' || vru_entry, '%y%m%d %H:%M:%S') AS t FROM rel").df()
    return _checked(df, path, "date + vru_entry")


def _csv(con: duckdb.DuckDBPyConnection, path: Path, time_col: str) -> pd.Series:
    try:
        rel = con.read_csv(str(path), header=True, all_varchar=True)
    except duckdb.Error as exc:
        raise CxhubError(f"{path}: not a readable CSV file ({exc})") from None
    if time_col not in rel.columns:
        raise CxhubError(f"{path}: no column {time_col!r} (columns: {', '.join(rel.columns)}); "
                         "name the column of contact times with --time-col")
    quoted = '"' + time_col.replace('"', '""') + '"'
    df = con.sql(
        f"SELECT row_number() OVER () + 1 AS line, {quoted} AS raw, "
        f"coalesce(try_cast({quoted} AS TIMESTAMP), "
        f"try_cast(try_cast({quoted} AS TIMESTAMPTZ) AT TIME ZONE 'UTC' AS TIMESTAMP)) AS t "
        "FROM rel").df()
    return _checked(df, path, time_col)


def _checked(df: pd.DataFrame, path: Path, what: str) -> pd.Series:
    bad = df[df["t"].isna()]
    if len(bad):
        line = int(bad["line"].iloc[0])
        raise CxhubError(f"{path} line {line}: {what} is not a time ({len(bad)} such rows)")
    if df.empty:
        raise CxhubError(f"{path}: no contacts in the file")
    return df["t"]
