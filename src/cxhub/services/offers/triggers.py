"""A trigger's audience: who the service event happened to, with the contact policy's
customer-wide rules applied (no marketing opt-outs, no open complaint or problem), each
customer's control-group draw, exported as CSV or Parquet for a marketing automation tool,
or POSTed as JSON to a webhook (the control group is left out of what is sent)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd

from cxhub.analytics.offers.catalogue import CatalogueError
from cxhub.analytics.offers.policy import in_control
from cxhub.analytics.offers.triggers import Trigger, parse_trigger
from cxhub.domain.csv_cells import csv_frame
from cxhub.domain.errors import CxhubError
from cxhub.services.offers import profiles as profiles_mod
from cxhub.warehouse import Warehouse

_CUSTOMER = """JOIN customer_links l ON l.source = coalesce(c.customer_source, c.source)
    AND l.external_id = c.customer_external_id"""


def from_yaml(raw: Any) -> list[Trigger]:
    items = (raw or {}).get("triggers") or [] if isinstance(raw, dict) else []
    if not isinstance(items, list):
        raise CatalogueError("catalogue", "triggers", "must be a list")
    out = [parse_trigger(t, i) for i, t in enumerate(items)]
    if len({t.code for t in out}) != len(out):
        raise CatalogueError("catalogue", "triggers", "a trigger code appears twice")
    return out


def _events(wh: Warehouse, t: Trigger, now: datetime) -> list[tuple[Any, ...]]:
    if t.event == "contact_about":
        likes = " OR ".join(["lower(coalesce(c.subject, '') || ' ' || coalesce(c.text, '')) "
                             "LIKE ?"] * len(t.terms))
        return wh.read(f"""
            SELECT l.customer_id, max(c.created_at), 'contact ' || any_value(c.external_id)
            FROM contacts c {_CUSTOMER}
            WHERE c.created_at > ? - INTERVAL {t.within_days} DAY AND c.created_at <= ?
              AND ({likes})
            GROUP BY l.customer_id""",
                       [now, now, *[f"%{term.lower()}%" for term in t.terms]])
    if t.event == "complaint_resolved":
        return wh.read(f"""
            SELECT l.customer_id, max(c.resolved_at), 'complaint ' || any_value(c.external_id)
            FROM contacts c {_CUSTOMER}
            LEFT JOIN current_labels cl ON cl.target = 'contacts' AND cl.target_id = c.contact_id
            WHERE coalesce(cl.category, c.category) = 'complaint'
              AND c.resolved_at > ? - INTERVAL {t.within_days} DAY AND c.resolved_at <= ?
            GROUP BY l.customer_id""", [now, now])
    # contract_ending: a holding ends soon, after a resolved contact with the sentiment. Its
    # end is `ended_at` when set (an end on record), else its minimum term's end
    # (`attributes.contract_end`), when the customer would be free to leave.
    return wh.read(f"""
        WITH ends AS (
          SELECT h.*, coalesce(h.ended_at, TRY_CAST(json_extract_string(
                   h.attributes, '$.contract_end') AS TIMESTAMP)) AS ends_at
          FROM holdings h),
        ending AS (
          SELECT l.customer_id, min(h.ends_at) AS ends_at,
                 arg_min(h.product, h.ends_at) AS product
          FROM ends h JOIN customer_links l
            ON l.source = coalesce(h.customer_source, h.source)
           AND l.external_id = h.customer_external_id
          WHERE h.ends_at > ? AND h.ends_at <= ? + INTERVAL {t.within_days} DAY
          GROUP BY l.customer_id),
        happy AS (
          SELECT DISTINCT l.customer_id FROM contacts c {_CUSTOMER}
          JOIN current_labels cl ON cl.target = 'contacts' AND cl.target_id = c.contact_id
          WHERE cl.sentiment = ? AND c.resolved_at IS NOT NULL
            AND c.created_at > ? - INTERVAL {t.recent_days} DAY AND c.created_at <= ?)
        SELECT e.customer_id, e.ends_at, e.product || ' ends ' || strftime(e.ends_at, '%Y-%m-%d')
        FROM ending e JOIN happy USING (customer_id)""", [now, now, t.sentiment, now, now])


def audience(wh: Warehouse, t: Trigger, *, now: datetime | None = None,
             profiles: profiles_mod.Profiles | None = None) -> pd.DataFrame:
    now = now or datetime.now()
    prof = profiles or profiles_mod.load(wh, now)
    rows = []
    for cid, at, what in _events(wh, t, now):
        p = prof.by_id.get(int(cid))
        if p is None:
            continue
        if t.event == "complaint_resolved" and not (
                p.get("value_band") in t.value_bands
                or (t.min_clv is not None and (p.get("clv") or 0) >= t.min_clv)):
            continue
        # The contact policy's customer-wide rules (a trigger has no contact of its own).
        if p.get("marketing_opt_in") is False or p.get("open_complaint") \
                or p.get("open_problem"):
            continue
        rows.append({"customer_id": int(cid), "trigger": t.code, "event": what,
                     "event_at": at, "control": in_control(str(cid), t.code, t.control_share),
                     "action": t.action, "offer_code": t.offer_code,
                     "segment": p.get("segment"), "value_band": p.get("value_band")})
    cols = ["customer_id", "trigger", "event", "event_at", "control", "action", "offer_code",
            "segment", "value_band"]
    return pd.DataFrame(rows, columns=cols).sort_values("customer_id", ignore_index=True)


SOURCE = "cxhub-trigger"


def record(wh: Warehouse, frame: pd.DataFrame, now: datetime | None = None) -> int:
    """Put the audience on record in `offer_decisions` (control group included), one row per
    customer, trigger and event day: running the trigger again the same day adds nothing.
    Its id (`external_id`, `<trigger>:<customer>:<YYYYMMDD>`) takes an outcome through
    `POST /api/v1/decisions/{id}/outcome` like a decision's."""
    from cxhub.domain.canonical import RECORD_KINDS
    from cxhub.services.records.api import write_rows

    now = now or datetime.now()
    rows = [{"source": SOURCE,
             "external_id": f"{r.trigger}:{r.customer_id}:{pd.Timestamp(r.event_at):%Y%m%d}",
             "offer_code": r.trigger, "presented_at": now, "control": bool(r.control),
             "outcome": None, "revenue": None,
             "attributes": {"customer_id": int(r.customer_id), "trigger": r.trigger,
                            "event": r.event, "segment": r.segment}}
            for r in frame.itertuples()]
    if not rows:
        return 0
    written = wh.write(lambda con: write_rows(con, RECORD_KINDS["offer_decisions"], [rows]))
    return sum(1 for w in written[0] if w.created)


def export(frame: pd.DataFrame, path: Path) -> None:
    if path.suffix.lower() == ".parquet":
        frame.to_parquet(path, index=False)
    elif path.suffix.lower() == ".csv":
        csv_frame(frame).to_csv(path, index=False)
    else:
        raise CxhubError(f"{path}: the file must end in .csv or .parquet")


def send(frame: pd.DataFrame, url: str, t: Trigger, timeout: float = 10.0) -> dict[str, Any]:
    """POST the audience (without the control group) as JSON; a failure names the URL."""
    import httpx

    members = frame[~frame["control"]]
    body = {"trigger": t.code, "title": t.title, "action": t.action,
            "generated_at": datetime.now().isoformat(timespec="seconds"),
            "customers": [{"customer_id": int(r.customer_id), "event": r.event,
                           "event_at": str(r.event_at)} for r in members.itertuples()]}
    try:
        r = httpx.post(url, json=body, timeout=timeout)
    except httpx.HTTPError as exc:
        raise CxhubError(f"webhook {url}: {exc}") from None
    if r.status_code >= 300:
        raise CxhubError(f"webhook {url}: answered {r.status_code}")
    return {"sent": len(members), "held_out": int(frame["control"].sum()),
            "status": r.status_code}
