"""Read one contact or one customer for the API and the dashboard."""

from __future__ import annotations

from typing import Any

from cxhub.domain.canonical import CONTACTS, SOURCE_RECORDS
from cxhub.services.records import read_record
from cxhub.warehouse import Warehouse


def _rows(wh: Warehouse, sql: str, params: list[Any]) -> list[dict[str, Any]]:
    cur = wh.cursor()
    cur.execute(sql, params)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def contact(wh: Warehouse, contact_id: int) -> dict[str, Any] | None:
    record = read_record(wh, CONTACTS, contact_id)
    if record is None:
        return None
    record["events"] = _rows(
        wh,
        "SELECT event_type, occurred_at, agent, team, queue FROM contact_events "
        "WHERE source = ? AND contact_external_id = ? ORDER BY occurred_at",
        [record["source"], record["external_id"]],
    )
    record["labels"] = _rows(
        wh,
        "SELECT dimension, label, score, model, model_version, is_human FROM labels "
        "WHERE target = 'contacts' AND target_id = ? ORDER BY is_human DESC, labelled_at DESC",
        [contact_id],
    )
    return record


def customer(wh: Warehouse, customer_id: int) -> dict[str, Any] | None:
    """A resolved customer: the golden record, its source records and its contact counts."""
    found = _rows(wh, "SELECT * FROM customers WHERE customer_id = ?", [customer_id])
    if not found:
        return None
    result = found[0]
    result["source_records"] = _rows(
        wh,
        f"SELECT r.* EXCLUDE (batch_id, loaded_at), l.match_probability "
        f"FROM customer_links l JOIN {SOURCE_RECORDS.table} r USING (source, external_id) "
        "WHERE l.customer_id = ? ORDER BY r.source, r.external_id",
        [customer_id],
    )
    result["contacts_by_channel"] = {
        r["channel"]: r["n"]
        for r in _rows(
            wh,
            "SELECT c.channel, count(*) AS n FROM contacts c JOIN customer_links l "
            "ON l.source = coalesce(c.customer_source, c.source) "
            "AND l.external_id = c.customer_external_id "
            "WHERE l.customer_id = ? GROUP BY c.channel",
            [customer_id],
        )
    }
    return result
