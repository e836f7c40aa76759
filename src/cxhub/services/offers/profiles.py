"""What a decision needs to know about customers, read from the warehouse in a few queries and
kept in memory: a decision must not wait for SQL.

`load` returns every customer's profile (segment, persona, portfolio, RFM segment, CLV, age,
tenure, region, products held, marketing consent, open complaint, open problem), the map from
any source's customer id to the golden customer, and each customer's offers of the last 30
days (for the caps). The server reloads it every few minutes (`engine.Engine.refresh`).

Marketing consent: the demo's records carry none, so every customer counts as opted in unless
a source record's `attributes` say `marketing_opt_in: false` (or `marketing_opt_out: true`);
one such record is enough to opt the customer out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import pandas as pd

from cxhub.warehouse import Warehouse

OPEN_COMPLAINT_DAYS = 90
CLOSED_PROBLEM_STATES = ("fixed", "verified", "wont_fix")
FEATURES = ("age", "tenure_days", "clv", "products_held", "segment", "persona", "portfolio",
            "rfm_segment", "value_band", "region")
# What the uplift model learns from: only what an offer cannot have changed. The profile is
# today's, while the decisions are up to a year old, and accepting an offer changes the
# products held, the CLV, the RFM segment and value band and the portfolio quadrant; a model
# given those learns "holds more, so accepted" (on the demo it scored most families near zero).
LEARNING_FEATURES = ("age", "tenure_days", "segment", "persona", "region")


@dataclass
class Profiles:
    by_id: dict[int, dict[str, Any]] = field(default_factory=dict)
    links: dict[tuple[str, str], int] = field(default_factory=dict)
    # Tuples, not lists: the garbage collector stops tracking a tuple of atoms, and thousands
    # of these live as long as the server (see `engine.Decided`).
    recent: dict[int, tuple[tuple[datetime, str], ...]] = field(default_factory=dict)
    loaded_at: datetime | None = None

    def resolve(self, source: str | None, external_id: str | None,
                customer_id: int | None) -> int | None:
        if customer_id is not None:
            return customer_id if customer_id in self.by_id else None
        if external_id is None:
            return None
        return self.links.get((source or "", external_id))

    def frame(self) -> pd.DataFrame:
        """One row per customer, the learner's features, indexed by customer_id."""
        rows = [{k: p.get(k) for k in FEATURES} for p in self.by_id.values()]
        return pd.DataFrame(rows, index=pd.Index(list(self.by_id), name="customer_id"),
                            columns=list(FEATURES))


def _tables(wh: Warehouse) -> set[str]:
    return {r[0] for r in wh.read("SELECT table_name FROM information_schema.tables "
                                  "WHERE table_catalog = current_database()")}


def load(wh: Warehouse, now: datetime | None = None) -> Profiles:
    now = now or datetime.now()
    today = now.date()
    out = Profiles(loaded_at=now)
    tables = _tables(wh)
    seg_cols = "NULL, NULL, NULL, NULL, NULL"
    seg_join = ""
    if "customer_segments" in tables:
        seg_cols = "s.persona, s.portfolio, s.rfm_segment, s.clv, s.segment"
        seg_join = """LEFT JOIN (SELECT * FROM customer_segments QUALIFY row_number() OVER (
            PARTITION BY customer_id ORDER BY computed_at DESC NULLS LAST) = 1) s
            USING (customer_id)"""
    for (cid, dob, since, region, persona, portfolio, rfm, clv, band) in wh.read(f"""
            SELECT c.customer_id, c.date_of_birth, c.customer_since, c.region, {seg_cols}
            FROM customers c {seg_join}"""):
        out.by_id[int(cid)] = {
            "customer_id": int(cid), "age": _years(dob, today),
            "tenure_days": (today - since).days if isinstance(since, date) else None,
            "region": region, "persona": persona, "portfolio": portfolio,
            "rfm_segment": rfm, "clv": None if clv is None else float(clv), "value_band": band,
            "segment": None, "products": frozenset(), "products_held": 0,
            "marketing_opt_in": True, "open_complaint": False, "open_problem": None}
    for source, ext, cid in wh.read("SELECT source, external_id, customer_id FROM customer_links"):
        out.links[(source, ext)] = int(cid)
    _attributes(wh, out)
    _holdings(wh, out, now)
    _open_complaints(wh, out, now)
    if "problem_contacts" in tables:
        _open_problems(wh, out)
    out.recent = recent_offers(wh, now)
    return out


def _years(dob: Any, today: date) -> float | None:
    if not isinstance(dob, date):
        return None
    return today.year - dob.year - ((today.month, today.day) < (dob.month, dob.day))


_CUSTOMER_OF = """JOIN customer_links l ON l.source = coalesce({t}.customer_source, {t}.source)
    AND l.external_id = {t}.customer_external_id"""


def _attributes(wh: Warehouse, out: Profiles) -> None:
    """The declared segment and marketing consent from the source records' own columns."""
    for cid, segment, opt_in, opt_out in wh.read("""
            SELECT l.customer_id,
              any_value(json_extract_string(s.attributes, '$.segment')),
              bool_and(coalesce(json_extract(s.attributes, '$.marketing_opt_in')::BOOLEAN, true)),
              bool_or(coalesce(json_extract(s.attributes, '$.marketing_opt_out')::BOOLEAN, false))
            FROM source_records s JOIN customer_links l
              ON l.source = s.source AND l.external_id = s.external_id
            WHERE s.attributes IS NOT NULL GROUP BY l.customer_id"""):
        p = out.by_id.get(int(cid))
        if p is not None:
            p["segment"] = segment
            p["marketing_opt_in"] = bool(opt_in) and not opt_out


def _holdings(wh: Warehouse, out: Profiles, now: datetime) -> None:
    for cid, products in wh.read(f"""
            SELECT l.customer_id, list(DISTINCT h.product)
            FROM holdings h {_CUSTOMER_OF.format(t='h')}
            WHERE h.started_at <= ? AND (h.ended_at IS NULL OR h.ended_at > ?)
            GROUP BY l.customer_id""", [now, now]):
        p = out.by_id.get(int(cid))
        if p is not None:
            p["products"] = frozenset(products)
            p["products_held"] = len(products)


def _open_complaints(wh: Warehouse, out: Profiles, now: datetime) -> None:
    """A complaint (the source's category or the classifier's) not yet resolved, made in the
    last 90 days: older unresolved ones are taken as closed without a record of it."""
    for (cid,) in wh.read(f"""
            SELECT DISTINCT l.customer_id FROM contacts c {_CUSTOMER_OF.format(t='c')}
            LEFT JOIN current_labels cl
              ON cl.target = 'contacts' AND cl.target_id = c.contact_id
            WHERE coalesce(cl.category, c.category) = 'complaint' AND c.resolved_at IS NULL
              AND c.created_at >= ? - INTERVAL {OPEN_COMPLAINT_DAYS} DAY AND c.created_at <= ?""",
                          [now, now]):
        if int(cid) in out.by_id:
            out.by_id[int(cid)]["open_complaint"] = True


def _open_problems(wh: Warehouse, out: Profiles) -> None:
    closed = ", ".join(f"'{s}'" for s in CLOSED_PROBLEM_STATES)
    for cid, title in wh.read(f"""
            SELECT l.customer_id, any_value(p.title)
            FROM problem_contacts pc JOIN problems p ON p.problem_id = pc.problem_id
            JOIN contacts c ON c.contact_id = pc.contact_id {_CUSTOMER_OF.format(t='c')}
            WHERE coalesce(p.status, 'open') NOT IN ({closed})
            GROUP BY l.customer_id"""):
        if int(cid) in out.by_id:
            out.by_id[int(cid)]["open_problem"] = title or "an open problem"


def recent_offers(wh: Warehouse, now: datetime) -> dict[int, tuple[tuple[datetime, str], ...]]:
    """Offers made (control rows are not offers) in the 30 days before `now`, per customer."""
    recent: dict[int, list[tuple[datetime, str]]] = {}
    # Decisions asked by golden id carry it in `attributes` (they have no source id).
    for cid, at, code in wh.read(f"""
            SELECT coalesce(TRY_CAST(json_extract_string(d.attributes, '$.customer_id')
                                     AS BIGINT), l.customer_id), d.presented_at, d.offer_code
            FROM offer_decisions d LEFT {_CUSTOMER_OF.format(t='d')}
            WHERE NOT coalesce(d.control, false) AND d.presented_at > ? - INTERVAL 30 DAY
              AND d.presented_at <= ? AND d.offer_code <> 'none'""", [now, now]):
        if cid is not None:
            recent.setdefault(int(cid), []).append((at, code))
    return {cid: tuple(items) for cid, items in recent.items()}
