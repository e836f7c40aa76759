"""Read the previous identity state and write a run's outcome, in one writer transaction.

Reads run on a read cursor; `write_run` runs on the writer's connection, so the links, the golden
records, the changes, the review queue and the run's row appear together or not at all.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa

from cxhub.analytics.identity.clusters import Change
from cxhub.analytics.identity.golden import CUSTOMER_COLUMNS, golden_sql
from cxhub.analytics.identity.review import store_open_reviews
from cxhub.analytics.identity.settings import Survivorship
from cxhub.domain.errors import CxhubError


@dataclass
class PreviousState:
    record_ids: np.ndarray
    customer_ids: np.ndarray
    last_run_id: int
    next_customer_id: int


def previous_state(cur: duckdb.DuckDBPyConnection) -> PreviousState:
    links = cur.sql(
        "SELECT r.record_id, l.customer_id FROM customer_links l "
        "JOIN source_records r ON r.source = l.source AND r.external_id = l.external_id "
        "ORDER BY r.record_id"
    ).to_arrow_table()
    row = cur.execute("SELECT coalesce(max(run_id), 0) FROM identity_runs").fetchall()[0]
    # Ids are never reused, not even those of customers merged away long ago.
    top = cur.execute(
        "SELECT max(x) FROM (SELECT max(customer_id) AS x FROM customers "
        "UNION ALL SELECT max(customer_id) FROM customer_links "
        "UNION ALL SELECT max(greatest(customer_id, coalesce(other_customer_id, 0))) "
        "FROM identity_changes)"
    ).fetchall()[0]
    return PreviousState(
        record_ids=links.column("record_id").to_numpy(),
        customer_ids=links.column("customer_id").to_numpy(),
        last_run_id=int(row[0]),
        next_customer_id=int(top[0] or 0) + 1,
    )


@dataclass
class RunOutcome:
    links: pa.Table  # record_id, customer_id, match_probability
    changes: list[Change]
    reviews: pa.Table  # record_id_l, record_id_r, match_probability
    survivorship: Survivorship
    started_at: datetime
    finished_at: datetime
    summary: dict[str, Any]


def write_run(con: duckdb.DuckDBPyConnection, outcome: RunOutcome, expected_last_run: int) -> int:
    """Store a run; returns its id. Refuses when another run finished since this one read the
    previous state, because its ids would be built on a state that no longer exists."""
    row = con.execute("SELECT coalesce(max(run_id), 0) FROM identity_runs").fetchall()[0]
    last = int(row[0])
    if last != expected_last_run:
        raise CxhubError(
            f"identity run {last} finished while this one was running; run `cxhub resolve` again"
        )
    run_id = last + 1
    now = outcome.finished_at
    con.register("_links_arrow", outcome.links)
    try:
        con.execute("CREATE OR REPLACE TEMP TABLE _links_new AS SELECT * FROM _links_arrow")
    finally:
        con.unregister("_links_arrow")
    _write_links(con, run_id, now)
    _write_customers(con, outcome.survivorship, now)
    _write_changes(con, run_id, outcome.changes)
    reviews = store_open_reviews(con, outcome.reviews, run_id)
    s = outcome.summary
    con.execute(
        "INSERT INTO identity_runs (run_id, started_at, finished_at, records, customers, merges, "
        "splits, settings, links, reviews) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [run_id, outcome.started_at, now, s["records"], s["customers"], s["merges"],
         s["splits"], json.dumps(s.get("settings", {}), default=str), s["links"], reviews],
    )
    con.execute("DROP TABLE _links_new")
    return run_id


def _write_links(con: duckdb.DuckDBPyConnection, run_id: int, now: datetime) -> None:
    # A link that stays with the same customer keeps the time and run that first made it.
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE _links_full AS
        SELECT s.source, s.external_id, n.customer_id, n.match_probability,
               coalesce(o.linked_at, ?) AS linked_at, coalesce(o.run_id, ?) AS run_id
        FROM _links_new n JOIN source_records s ON s.record_id = n.record_id
        LEFT JOIN customer_links o ON o.source = s.source AND o.external_id = s.external_id
             AND o.customer_id = n.customer_id
        """,
        [now, run_id],
    )
    con.execute("DELETE FROM customer_links")
    con.execute(
        "INSERT INTO customer_links (source, external_id, customer_id, match_probability, "
        "linked_at, run_id) SELECT * FROM _links_full"
    )
    con.execute("DROP TABLE _links_full")


def _write_customers(con: duckdb.DuckDBPyConnection, survivorship: Survivorship,
                     now: datetime) -> None:
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _golden AS " + golden_sql("_links_new", survivorship)
    )
    con.execute(
        "DELETE FROM customers WHERE customer_id NOT IN (SELECT customer_id FROM _golden)"
    )
    # Update what changed and insert what is new: on this machine INSERT OR REPLACE of the
    # 354,000 customers of a million records took 14 s where these take under a second.
    sets = ", ".join(f"{c} = g.{c}" for c in CUSTOMER_COLUMNS)
    con.execute(
        f"""
        UPDATE customers AS c SET updated_at = $now, {sets}, profile = g.profile
        FROM _golden g WHERE c.customer_id = g.customer_id
          AND c.profile::VARCHAR IS DISTINCT FROM g.profile::VARCHAR
        """,
        {"now": now},
    )
    cols = ", ".join(CUSTOMER_COLUMNS)
    picked = ", ".join(f"g.{c}" for c in CUSTOMER_COLUMNS)
    con.execute(
        f"""
        INSERT INTO customers (customer_id, created_at, updated_at, {cols}, profile)
        SELECT g.customer_id, $now, $now, {picked}, g.profile FROM _golden g
        WHERE NOT EXISTS (SELECT 1 FROM customers c WHERE c.customer_id = g.customer_id)
        """,
        {"now": now},
    )
    con.execute("DROP TABLE _golden")


def _write_changes(con: duckdb.DuckDBPyConnection, run_id: int, changes: list[Change]) -> None:
    if not changes:
        return
    table = pa.table(
        {
            "run_id": pa.array([run_id] * len(changes), pa.int64()),
            "change": [c.change for c in changes],
            "customer_id": pa.array([c.customer_id for c in changes], pa.int64()),
            "other_customer_id": pa.array([c.other_customer_id for c in changes], pa.int64()),
            "detail": [c.detail for c in changes],
        }
    )
    con.register("_changes_arrow", table)
    try:
        con.execute("INSERT INTO identity_changes SELECT * FROM _changes_arrow")
    finally:
        con.unregister("_changes_arrow")
