"""Reading and writing problems, their contacts and their history. Every write is one job on
the warehouse's single writer, so a problem is never half-written."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from typing import Any

import duckdb
import pandas as pd

from cxhub.services.problems.errors import ProblemNotFoundError
from cxhub.warehouse import Warehouse

PROBLEM_COLUMNS = (
    "problem_id", "title", "description", "cause", "owner", "status", "opened_at", "closed_at",
    "origin", "signature", "product", "region", "terms", "rule", "alert_id", "first_seen",
    "last_seen", "figures", "priority", "priority_score", "department", "manager", "due_at",
    "reason", "state_at", "updated_at")


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def next_id(con: duckdb.DuckDBPyConnection, table: str, column: str) -> int:
    row = con.execute(f"SELECT coalesce(max({column}), 0) + 1 FROM {table}").fetchone()
    return int(row[0]) if row else 1


def add_event(con: duckdb.DuckDBPyConnection, problem_id: int, kind: str, *, actor: str | None,
              at: dt.datetime, state: str | None = None, note: str | None = None,
              detail: dict[str, Any] | None = None) -> int:
    event_id = next_id(con, "problem_events", "event_id")
    con.execute("INSERT INTO problem_events VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [event_id, problem_id, at, actor, kind, state, note,
                 json.dumps(detail, default=str) if detail else None])
    return event_id


def link(con: duckdb.DuckDBPyConnection, problem_id: int, contact_ids: Sequence[int], *,
         how: str, at: dt.datetime) -> int:
    """Link contacts not already linked to this problem; returns how many were new."""
    return _link(con, "problem_contacts", "contact_id", problem_id, contact_ids, how=how, at=at)


def link_mentions(con: duckdb.DuckDBPyConnection, problem_id: int, mention_ids: Sequence[int],
                  *, how: str, at: dt.datetime) -> int:
    """Link customers' posts not already linked to this problem; returns how many were new."""
    return _link(con, "problem_mentions", "mention_id", problem_id, mention_ids, how=how, at=at)


def _link(con: duckdb.DuckDBPyConnection, table: str, column: str, problem_id: int,
          ids: Sequence[int], *, how: str, at: dt.datetime) -> int:
    if not len(ids):
        return 0
    view = f"new_{table}"
    con.register(view, pd.DataFrame({column: pd.Series(ids, dtype="int64")}))
    try:
        row = con.execute(
            f"INSERT INTO {table} (problem_id, {column}, linked_at, how) "
            f"SELECT DISTINCT ?, n.{column}, ?, ? FROM {view} n WHERE NOT EXISTS ("
            f"SELECT 1 FROM {table} p WHERE p.problem_id = ? AND p.{column} = n.{column})",
            [problem_id, at, how, problem_id]).fetchone()
    finally:
        con.unregister(view)
    return int(row[0]) if row else 0


def link_replies(con: duckdb.DuckDBPyConnection, problem_id: int, *, how: str,
                 at: dt.datetime, after_id: int = 0) -> int:
    """Link customers' later posts in the threads of the problem's linked posts ("any update
    on this?" says nothing of its own but is about what its thread is about); only posts with
    an id above `after_id`. Returns how many were new."""
    row = con.execute(
        "INSERT INTO problem_mentions (problem_id, mention_id, linked_at, how) "
        "SELECT DISTINCT ?, r.mention_id, ?, ? FROM problem_mentions p "
        "JOIN mentions s ON s.mention_id = p.mention_id "
        "JOIN mentions r ON r.source = s.source AND r.thread_id = s.external_id "
        "WHERE p.problem_id = ? AND r.mention_id > ? AND r.external_id <> r.thread_id "
        "AND r.inbound IS NOT false AND NOT EXISTS (SELECT 1 FROM problem_mentions q "
        "WHERE q.problem_id = ? AND q.mention_id = r.mention_id)",
        [problem_id, at, how, problem_id, after_id, problem_id]).fetchone()
    return int(row[0]) if row else 0


def _parsed(d: dict[str, Any]) -> dict[str, Any]:
    for key in ("rule", "figures"):
        if isinstance(d.get(key), str):
            d[key] = json.loads(d[key])
    return d


def problems(wh: Warehouse, *, states: Sequence[str] | None = None) -> list[dict[str, Any]]:
    sql = f"SELECT {', '.join(PROBLEM_COLUMNS)} FROM problems"
    params: list[Any] = []
    if states:
        sql += f" WHERE status IN ({', '.join('?' for _ in states)})"
        params = list(states)
    # Those still to work on first, then those fixed and waiting to be verified, the verified,
    # and last those that will not be fixed: each group by priority. The demo's "won't fix"
    # problem used to top the list, where it read as the most urgent.
    sql += (" ORDER BY CASE WHEN status IN ('open', 'acknowledged', 'fix_planned') THEN 0 "
            "WHEN status = 'fixed' THEN 1 WHEN status = 'verified' THEN 2 ELSE 3 END, "
            "priority_score DESC NULLS LAST, problem_id")
    return [_parsed(d) for d in wh.read_dicts(sql, params)]


def problem(wh: Warehouse, problem_id: int) -> dict[str, Any]:
    found = wh.read_dict(f"SELECT {', '.join(PROBLEM_COLUMNS)} FROM problems "
                         "WHERE problem_id = ?", [problem_id])
    if found is None:
        raise ProblemNotFoundError("problem_id", f"no problem {problem_id}")
    return _parsed(found)


def events(wh: Warehouse, problem_id: int) -> list[dict[str, Any]]:
    rows = wh.read_dicts("SELECT event_id, happened_at, actor, kind, state, note, detail "
                         "FROM problem_events WHERE problem_id = ? ORDER BY happened_at, "
                         "event_id", [problem_id])
    for d in rows:
        d["detail"] = json.loads(d["detail"]) if d["detail"] else None
    return rows


def linked_ids(wh: Warehouse, problem_id: int) -> list[int]:
    return [r[0] for r in wh.read(
        "SELECT contact_id FROM problem_contacts WHERE problem_id = ? ORDER BY contact_id",
        [problem_id])]


def linked_mention_ids(wh: Warehouse, problem_id: int) -> list[int]:
    return [r[0] for r in wh.read(
        "SELECT mention_id FROM problem_mentions WHERE problem_id = ? ORDER BY mention_id",
        [problem_id])]
