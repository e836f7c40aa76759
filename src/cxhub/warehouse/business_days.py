"""The business calendar as a table: each channel's open span of every day and its open seconds
before that day (`business_days`, schema v14), made from `opening_hours` and `holidays`.

A business clock counts only the seconds a channel is open. With F(t) the open seconds of the
channel's calendar from FIRST_DAY up to the time t, the business time from a to b is
F(b) - F(a), and F(t) = open_before_s of t's day + clip(t's second of the day, open_start_s,
open_end_s) - open_start_s: one row looked up at each end, whatever lies between (nights,
weekends, holidays). The metrics' facts join this table at both ends of every contact
(`cxhub.metrics.facts`).

Times are read as the company's clock, as the opening hours are written (the demo's files are
on that clock; docs/forecast.md). A channel without hours of its own can keep another's
(`borrowed`: e-mail answered in the phone team's hours); a channel with neither has no rows and
its business times are its clock times. The table is made again, in the same transaction, by
whatever changes the hours or the holidays (`services.forecast.hours.store`: the YAML and the
API; `services.forecast.calendar`'s holiday edits; migration v14);
the borrowings survive a remake that does not name them.
"""

from __future__ import annotations

from collections.abc import Mapping

import duckdb

# The days the calendar covers: a contact outside counts its clock time (see facts).
FIRST_DAY, LAST_DAY = "1990-01-01", "2059-12-31"
TABLE = "business_days"

_SECONDS = "(hour({t}) * 3600 + minute({t}) * 60 + second({t}))"
_FILL = f"""
INSERT INTO {TABLE}
WITH days AS (
    SELECT CAST(d AS DATE) AS day
    FROM generate_series(DATE '{FIRST_DAY}', DATE '{LAST_DAY}', INTERVAL 1 DAY) AS g(d)),
own AS (SELECT DISTINCT channel FROM opening_hours),
wanted AS (
    SELECT channel, channel AS calendar FROM own
    UNION ALL
    SELECT b.channel, b.calendar FROM _borrowed b JOIN own ON own.channel = b.calendar
    WHERE b.channel NOT IN (SELECT channel FROM own)),
spans AS (
    SELECT w.channel, w.calendar, d.day,
           CASE WHEN h.day IS NULL AND o.opens IS NOT NULL
                THEN {_SECONDS.format(t="o.opens")} ELSE 0 END AS open_start_s,
           CASE WHEN h.day IS NULL AND o.opens IS NOT NULL
                THEN {_SECONDS.format(t="o.closes")} ELSE 0 END AS open_end_s
    FROM wanted w CROSS JOIN days d
    LEFT JOIN opening_hours o ON o.channel = w.calendar AND o.weekday = isodow(d.day) - 1
    LEFT JOIN (SELECT DISTINCT day FROM holidays) h ON h.day = d.day)
SELECT channel, day, calendar, open_start_s, open_end_s,
       coalesce(sum(open_end_s - open_start_s) OVER (
           PARTITION BY channel ORDER BY day ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING),
           0) AS open_before_s
FROM spans
"""


def borrowed(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """Channel -> the channel whose hours it keeps, as the table holds them now."""
    rows = con.execute(f"SELECT DISTINCT channel, calendar FROM {TABLE} "
                       "WHERE channel <> calendar").fetchall()
    return {str(a): str(b) for a, b in rows}


def rebuild(con: duckdb.DuckDBPyConnection, borrow: Mapping[str, str] | None = None) -> int:
    """Make the table again from opening_hours and holidays on `con` (inside the caller's
    transaction); `borrow` replaces the borrowed calendars, None keeps them. Returns rows."""
    keep = borrowed(con) if borrow is None else dict(borrow)
    con.execute("CREATE OR REPLACE TEMP TABLE _borrowed (channel VARCHAR, calendar VARCHAR)")
    if keep:
        con.executemany("INSERT INTO _borrowed VALUES (?, ?)", sorted(keep.items()))
    con.execute(f"DELETE FROM {TABLE}")
    con.execute(_FILL)
    con.execute("DROP TABLE _borrowed")
    row = con.execute(f"SELECT count(*) FROM {TABLE}").fetchone()
    return int(row[0]) if row else 0
