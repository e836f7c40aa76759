"""Mentions that need service become contacts in the queue, linked to the mention.

The rule is `cxhub.analytics.listening.routing.needs_service`. Each routed mention becomes a
contact from source `listening` whose external id is the mention's source and external id
(`social:SM0000000042`), over channel `social`, created when the post was, with the post's text,
its customer (when the mention names one), and its best category and cause. The contact is
written by the one write path for records (`ingest.upsert.write_rows`, as the API's), and the
link in `mention_contacts` in the same transaction; routing a mention twice finds the contact's
key and adds nothing.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from cxhub.analytics.listening import routing, volume
from cxhub.domain.canonical import CONTACTS
from cxhub.ingest.upsert import write_rows
from cxhub.warehouse import Warehouse
from cxhub.warehouse.engines import connect
from cxhub.warehouse.schema import edge_sql

SOURCE = routing.ROUTED_SOURCE
QUEUE = "social"


@dataclass
class RouteReport:
    as_of: dt.datetime | None = None
    candidates: int = 0  # mentions the rule selected
    created: list[int] = field(default_factory=list)  # new contact ids
    linked: int = 0  # new mention -> contact links

    def to_dict(self) -> dict[str, Any]:
        return {"as_of": self.as_of, "candidates": self.candidates,
                "created": self.created, "linked": self.linked}


def _mentions(wh: Warehouse, since: dt.datetime) -> pd.DataFrame:
    con = connect(None, duckdb_connection=wh.new_cursor())
    m = con.table("mentions")
    m = m.filter(m.created_at >= since)
    replies = con.table("mentions").filter(lambda t: ~t.inbound.fill_null(True)
                                           & t.in_reply_to.notnull())
    answered = replies.select(r_source=replies.source, r_to=replies.in_reply_to).distinct()
    best = volume.best_labels(con.table("labels"), "mentions", ("category", "cause", "sentiment"))
    j = m.left_join(best, m.mention_id == best.target_id)
    j = j.left_join(answered, (j.source == answered.r_source) & (j.external_id == answered.r_to))
    out = j.select(
        "mention_id", "source", "external_id", "customer_source", "customer_external_id",
        "platform", "author", "inbound", "created_at", "text", "in_reply_to",
        "first_response_at", category=j.best_category, cause=j.best_cause,
        sentiment=j.best_sentiment, has_reply=j.r_to.notnull())
    return out.to_pyarrow().to_pandas(date_as_object=False)


def contact_row(m: dict[str, Any]) -> dict[str, Any]:
    """The contact a routed mention becomes."""
    return {
        "source": SOURCE,
        "external_id": f"{m['source']}:{m['external_id']}",
        "customer_source": m.get("customer_source"),
        "customer_external_id": m.get("customer_external_id"),
        "channel": "social",
        "created_at": pd.Timestamp(m["created_at"]).to_pydatetime(),
        "queued_at": pd.Timestamp(m["created_at"]).to_pydatetime(),
        "queue": QUEUE,
        "team": QUEUE,
        "category": m.get("category") if m.get("category") in (CONTACTS.field(
            "category").choices or ()) else None,
        "cause": m.get("cause"),
        "subject": f"{m.get('platform') or 'social'} post by {m.get('author') or 'someone'}",
        "text": m.get("text"),
        "attributes": {"mention_id": int(m["mention_id"]), "platform": m.get("platform"),
                       "author": m.get("author"), "reason": m["reason"]},
    }


def route_mentions(wh: Warehouse, *, as_of: dt.datetime | None = None,
                   rule: routing.RoutingRule | None = None) -> RouteReport:
    """Turn the mentions that need service into contacts; idempotent.

    as_of: the reference time of the rule's age limit; by default now, or the newest mention
    when the data ends before now (a historical load routes its last days).
    """
    r = rule or routing.RoutingRule()
    newest = wh.read_one("SELECT " + edge_sql("mentions", "created_at", "max", "inbound"))
    if not newest or newest[0] is None:
        return RouteReport()
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    ref = as_of or min(now, newest[0])
    chosen = routing.needs_service(_mentions(wh, ref - r.max_age), ref, r)
    report = RouteReport(as_of=ref, candidates=len(chosen))
    if chosen.empty:
        return report
    records = chosen.astype(object).where(chosen.notna(), None).to_dict("records")
    rows = [_clean(contact_row(m)) for m in records]

    def job(con: Any) -> tuple[list[int], int]:
        written = write_rows(con, CONTACTS, [rows])[0]
        links = [(int(m["mention_id"]), w.id, m["reason"]) for m, w in zip(
            records, written, strict=True)]
        before = con.execute("SELECT count(*) FROM mention_contacts").fetchone()[0]
        con.execute(
            "INSERT INTO mention_contacts (mention_id, contact_id, reason) "
            "SELECT k.m, k.c, k.r FROM (SELECT unnest(?::BIGINT[]) AS m, "
            "unnest(?::BIGINT[]) AS c, unnest(?::VARCHAR[]) AS r) k "
            "WHERE NOT EXISTS (SELECT 1 FROM mention_contacts x "
            "WHERE x.mention_id = k.m AND x.contact_id = k.c)",
            [[x[0] for x in links], [x[1] for x in links], [x[2] for x in links]])
        after = con.execute("SELECT count(*) FROM mention_contacts").fetchone()[0]
        return [w.id for w in written if w.created], int(after - before)

    report.created, report.linked = wh.write(job)
    return report


def _clean(row: dict[str, Any]) -> dict[str, Any]:
    return {k: (None if isinstance(v, float) and pd.isna(v) else v) for k, v in row.items()}
