"""Read one contact or one customer for the API and the dashboard."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from cxhub.analytics.identity.attach import attached_sql
from cxhub.domain.canonical import CONTACTS, SOURCE_RECORDS
from cxhub.services.customers import identity
from cxhub.services.records.api import read_record
from cxhub.warehouse import Warehouse


def contact(wh: Warehouse, contact_id: int) -> dict[str, Any] | None:
    record = read_record(wh, CONTACTS, contact_id)
    if record is None:
        return None
    record["events"] = wh.read_dicts(
        "SELECT event_type, occurred_at, agent, team, queue FROM contact_events "
        "WHERE source = ? AND contact_external_id = ? ORDER BY occurred_at",
        [record["source"], record["external_id"]],
    )
    record["labels"] = wh.read_dicts(
        "SELECT dimension, label, score, model, model_version, is_human FROM labels "
        "WHERE target = 'contacts' AND target_id = ? ORDER BY is_human DESC, labelled_at DESC",
        [contact_id],
    )
    return record


def customer(wh: Warehouse, customer_id: int) -> dict[str, Any] | None:
    """A resolved customer: the golden record with each value's provenance, its source
    records, and what the other systems know of the customer through their source keys."""
    result = identity.golden_profile(wh, customer_id)
    if result is None:
        return None
    cid = result["customer_id"]
    golden = result["golden"]
    location = (golden.get("location") or {}).get("value") or {}
    result["location"] = {**location, "source": (golden.get("location") or {}).get("source")}
    result["source_records"] = wh.read_dicts(
        f"SELECT r.* EXCLUDE (batch_id, loaded_at), l.match_probability "
        f"FROM customer_links l JOIN {SOURCE_RECORDS.table} r USING (source, external_id) "
        "WHERE l.customer_id = ? ORDER BY r.source, r.external_id",
        [cid],
    )
    result["products"] = wh.read_dicts(
        f"SELECT product, started_at, ended_at, monthly_amount, source FROM "
        f"({attached_sql('holdings')}) WHERE customer_id = ? "
        "AND (ended_at IS NULL OR ended_at > current_timestamp::TIMESTAMP) "
        "ORDER BY started_at",
        [cid],
    )
    result["tenure"] = _tenure(wh, cid, result.get("customer_since"))
    result.update(_contacts(wh, cid))
    result["satisfaction"] = _satisfaction(wh, cid)
    result["net_revenue"] = _revenue(wh, cid)
    result["value"] = _segment(wh, cid)
    result["lifetime_value"] = result["value"].get("clv")
    result["segment"] = result["value"].get("segment")
    result["open_problems"] = _open_problems(wh, cid)
    return result


def recent_contacts(wh: Warehouse, customer_id: int, limit: int = 20) -> list[dict[str, Any]]:
    """The customer's latest contacts, newest first, for the customer page."""
    cols = "x.contact_id, x.channel, x.created_at, x.subject, left(x.text, 90) AS text, x.outcome"
    return wh.read_dicts(
        f"SELECT * FROM ({attached_sql('contacts', cols)} WHERE l.customer_id = ?) "
        "ORDER BY created_at DESC, contact_id DESC LIMIT ?", [customer_id, limit])


def find_customers(wh: Warehouse, text: str, limit: int = 50) -> list[dict[str, Any]]:
    """Customers whose name, email, phone, postcode or id matches `text` (case-insensitive)."""
    text = text.strip()
    if text.isdigit():
        return wh.read_dicts("SELECT customer_id, first_name, last_name, email, city, postcode "
                             "FROM customers WHERE customer_id = ?", [int(text)])
    like = f"%{text.lower()}%"
    # Names first: the name itself (or the surname), then names holding the text, then the
    # rest (an e-mail, phone or postcode holding it: "Davies" found a Brown of
    # thedaviess@... before every Davies).
    return wh.read_dicts(
        "WITH c AS (SELECT customer_id, first_name, last_name, email, phone, city, postcode, "
        "lower(concat_ws(' ', first_name, last_name)) AS name FROM customers) "
        "SELECT customer_id, first_name, last_name, email, city, postcode FROM c "
        "WHERE name LIKE ? OR lower(email) LIKE ? "
        "OR replace(phone, ' ', '') LIKE ? OR lower(replace(postcode, ' ', '')) LIKE ? "
        "ORDER BY CASE WHEN name = ? OR lower(last_name) = ? THEN 0 WHEN name LIKE ? THEN 1 "
        "ELSE 2 END, last_name, first_name, customer_id LIMIT ?",
        [like, like, f"%{text.replace(' ', '')}%", f"%{text.lower().replace(' ', '')}%",
         text.lower(), text.lower(), like, limit],
    )


def _contacts(wh: Warehouse, cid: int) -> dict[str, Any]:
    # A person's label beats a model's, a newer label beats an older; with no label, the
    # category the source system gave.
    rows = wh.read_dicts(
        f"""
        WITH c AS ({attached_sql('contacts', 'x.contact_id, x.channel, x.category, x.created_at')}
                   WHERE l.customer_id = ?),
        lab AS (SELECT target_id, arg_max(label, struct_pack(h := is_human, t := labelled_at))
                       AS label
                FROM labels WHERE target = 'contacts' AND dimension = 'category'
                  AND target_id IN (SELECT contact_id FROM c) GROUP BY target_id)
        SELECT c.channel, coalesce(lab.label, c.category, 'unclassified') AS category,
               count(*) AS n, max(c.created_at) AS last_at
        FROM c LEFT JOIN lab ON lab.target_id = c.contact_id GROUP BY ALL
        """,
        [cid],
    )
    by_channel: dict[str, int] = {}
    by_category: dict[str, int] = {}
    for r in rows:
        by_channel[r["channel"]] = by_channel.get(r["channel"], 0) + r["n"]
        by_category[r["category"]] = by_category.get(r["category"], 0) + r["n"]
    last = max((r["last_at"] for r in rows if r["last_at"] is not None), default=None)
    return {
        "contacts": {"total": sum(by_channel.values()), "by_channel": by_channel,
                     "by_category": by_category, "last_contact_at": last},
        "contacts_by_channel": by_channel,
    }  # fmt: skip


def _satisfaction(wh: Warehouse, cid: int) -> dict[str, Any]:
    """The customer's own answers, by the catalogue's definitions: CSAT as the share of 4-5
    answers (and the mean), NPS as % promoters (9-10) minus % detractors (0-6), CES mean."""
    rows = wh.read_dicts(
        f"""
        SELECT survey_type, count(*) AS answers, avg(score) AS mean,
               avg(CASE WHEN score >= 4 THEN 1.0 ELSE 0.0 END) AS top_two_box,
               100 * (avg(CASE WHEN score >= 9 THEN 1.0 ELSE 0.0 END)
                      - avg(CASE WHEN score <= 6 THEN 1.0 ELSE 0.0 END)) AS nps,
               max(answered_at) AS last_answer_at
        FROM ({attached_sql('surveys')}) WHERE customer_id = ? GROUP BY survey_type
        """,
        [cid],
    )
    out: dict[str, Any] = {}
    for r in rows:
        t = r["survey_type"]
        entry = {"answers": r["answers"], "mean": _round(r["mean"]),
                 "last_answer_at": r["last_answer_at"]}  # fmt: skip
        if t == "csat":
            entry["top_two_box"] = _round(r["top_two_box"])
        if t == "nps":
            entry["score"] = _round(r["nps"])
        out[t] = entry
    return out


def _revenue(wh: Warehouse, cid: int) -> dict[str, Any]:
    rows = wh.read_dicts(
        f"SELECT coalesce(currency, '') AS currency, sum(amount) AS amount, count(*) AS n, "
        f"min(occurred_at) AS first_at, max(occurred_at) AS last_at "
        f"FROM ({attached_sql('transactions')}) WHERE customer_id = ? GROUP BY 1 ORDER BY 2 DESC",
        [cid],
    )
    by_currency = {r["currency"] or "unknown": _round(r["amount"]) for r in rows}
    return {
        "amount": _round(rows[0]["amount"]) if len(rows) == 1 else None,
        "currency": (rows[0]["currency"] or None) if len(rows) == 1 else None,
        "by_currency": by_currency,
        "transactions": sum(r["n"] for r in rows),
        "first_at": min((r["first_at"] for r in rows), default=None),
        "last_at": max((r["last_at"] for r in rows), default=None),
    }


def _segment(wh: Warehouse, cid: int) -> dict[str, Any]:
    rows = wh.read_dicts(
        "SELECT * EXCLUDE (customer_id) FROM customer_segments WHERE customer_id = ? "
        "ORDER BY computed_at DESC NULLS LAST LIMIT 1",
        [cid],
    )
    return rows[0] if rows else {}


def _open_problems(wh: Warehouse, cid: int) -> list[dict[str, Any]]:
    return wh.read_dicts(
        f"""
        SELECT p.problem_id, p.title, p.cause, p.owner, p.status, p.opened_at,
               count(*) AS contacts
        FROM problems p JOIN problem_contacts pc ON pc.problem_id = p.problem_id
        JOIN ({attached_sql('contacts', 'x.contact_id')}) c ON c.contact_id = pc.contact_id
        WHERE c.customer_id = ? AND p.closed_at IS NULL
          AND coalesce(p.status, 'open') NOT IN ('closed', 'resolved', 'fixed')
        GROUP BY ALL ORDER BY p.opened_at
        """,
        [cid],
    )


def _tenure(wh: Warehouse, cid: int, since: Any) -> dict[str, Any]:
    """Since the earliest `customer_since` of the customer's records; without one, since the
    first product held or the first transaction."""
    basis = "customer_since"
    if since is None:
        (first,) = wh.read(
            f"SELECT least((SELECT min(started_at) FROM ({attached_sql('holdings')}) "
            f"WHERE customer_id = $1), (SELECT min(occurred_at) FROM "
            f"({attached_sql('transactions')}) WHERE customer_id = $1))::DATE",
            [cid],
        )[0]
        since, basis = first, "first product or transaction"
    if since is None:
        return {"since": None, "days": None, "years": None, "basis": None}
    days = (date.today() - (since.date() if isinstance(since, datetime) else since)).days
    return {"since": since, "days": days, "years": round(days / 365.25, 1), "basis": basis}


def _round(x: Any, digits: int = 4) -> float | None:
    return None if x is None else round(float(x), digits)
