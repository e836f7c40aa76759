"""Triggers run by the server: every active trigger evaluated on a schedule (the offers
runtime's background loop), its new audience members put on record once, sent to its webhook
when it has one; and each trigger's report, measured against its own control group as an
offer's is (acceptance in the audience vs the held-out customers, with 95% intervals).

"New" means not on record for this trigger within its own window (`within_days`): a customer
who told us twice in a week that they are moving house is one member, not two, and is not
sent twice to the marketing tool; after the window, a new event makes them a member again.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

import pandas as pd

from cxhub.analytics.offers.triggers import Trigger
from cxhub.domain.csv_cells import csv_frame
from cxhub.services.offers import catalogue as store
from cxhub.services.offers import learning
from cxhub.services.offers import profiles as profiles_mod
from cxhub.services.offers import triggers as svc
from cxhub.warehouse import Warehouse

log = logging.getLogger(__name__)


def _on_record(wh: Warehouse, t: Trigger, now: datetime) -> set[int]:
    rows = wh.read(
        "SELECT DISTINCT TRY_CAST(json_extract_string(attributes, '$.customer_id') AS BIGINT) "
        "FROM offer_decisions WHERE source = ? AND offer_code = ? AND presented_at > ?",
        [svc.SOURCE, t.code, now - timedelta(days=t.within_days)])
    return {int(r[0]) for r in rows if r[0] is not None}


def new_members(wh: Warehouse, t: Trigger, *, now: datetime,
                profiles: profiles_mod.Profiles | None = None) -> pd.DataFrame:
    frame = svc.audience(wh, t, now=now, profiles=profiles)
    known = _on_record(wh, t, now)
    return frame[~frame["customer_id"].isin(known)].reset_index(drop=True)


def run(wh: Warehouse, *, now: datetime | None = None,
        profiles: profiles_mod.Profiles | None = None, send: bool = True
        ) -> list[dict[str, Any]]:
    """Evaluate every active trigger once; what each added (and sent)."""
    now = now or datetime.now()
    prof = profiles or profiles_mod.load(wh, now)
    out = []
    for t in store.load_triggers(wh):
        frame = new_members(wh, t, now=now, profiles=prof)
        added = svc.record(wh, frame, now)
        item: dict[str, Any] = {"trigger": t.code, "new": len(frame), "recorded": added,
                                "held_out": int(frame["control"].sum())}
        if send and t.webhook and len(frame):
            try:
                item["sent"] = svc.send(frame, t.webhook, t)["sent"]
            except Exception as exc:  # recorded all the same; the next members go next time
                log.warning("trigger %s: %s", t.code, exc)
                item["error"] = str(exc)
        out.append(item)
    return out


def reports(wh: Warehouse, profiles: profiles_mod.Profiles | None = None
            ) -> dict[str, dict[str, Any]]:
    """Per trigger on record: audience, held out, with an outcome, and the effect (members
    vs control) with its intervals, overall and by segment. `profiles`: the engine's, when
    there is one (reading them again takes seconds on a large warehouse)."""
    value = {o.code: o.value for o in store.load(wh).offers}
    out: dict[str, dict[str, Any]] = {}
    counts = wh.read(
        "SELECT offer_code, count(*), count(*) FILTER (control), "
        "count(*) FILTER (outcome IS NOT NULL) FROM offer_decisions WHERE source = ? "
        "GROUP BY offer_code ORDER BY offer_code", [svc.SOURCE])
    triggers = {t.code: t for t in store.load_triggers(wh, active_only=False)}
    prof = profiles
    for code, n, held, known in counts:
        item: dict[str, Any] = {"audience": n, "control": held, "with_outcome": known,
                                "all": None, "by": {}}
        if known:
            prof = prof or profiles_mod.load(wh)
            frame = learning.decisions(wh, prof, offer_code=code)
            t = triggers.get(code)
            item |= learning.report(frame, value.get(t.offer_code, 0.0) if t and t.offer_code
                                    else 0.0, groups=("segment", "value_band"))
        out[code] = item
    return out


def for_customer(wh: Warehouse, customer_id: int, limit: int = 20) -> list[dict[str, Any]]:
    """The triggers a customer was in (newest first): the event, whether they were held out
    as control, and the outcome when one was recorded; for the customer's page."""
    titles = {t.code: t for t in store.load_triggers(wh, active_only=False)}
    rows = wh.read(
        "SELECT offer_code, presented_at, control, outcome, revenue, "
        "json_extract_string(attributes, '$.event'), external_id FROM offer_decisions "
        "WHERE source = ? AND TRY_CAST(json_extract_string(attributes, '$.customer_id') "
        "AS BIGINT) = ? ORDER BY presented_at DESC LIMIT ?", [svc.SOURCE, customer_id, limit])
    out = []
    for code, at, control, outcome, revenue, event, rid in rows:
        t = titles.get(code)
        out.append({"code": code, "title": t.title if t else code,
                    "action": t.action if t else "", "at": at, "event": event,
                    "control": bool(control), "outcome": outcome, "revenue": revenue,
                    "id": rid})
    return out


def audience_file(wh: Warehouse, code: str, fmt: str, *, include_control: bool = False
                  ) -> bytes:
    """A trigger's audience as it is now, as CSV, Parquet or JSON bytes."""
    import io

    from cxhub.services.offers.manage import NotFound

    t = next((t for t in store.load_triggers(wh, active_only=False) if t.code == code), None)
    if t is None:
        raise NotFound(f"no trigger {code!r} in the catalogue")
    frame = svc.audience(wh, t)
    if not include_control:
        frame = frame[~frame["control"].astype(bool)].reset_index(drop=True)
    if fmt == "json":
        text: str = frame.to_json(orient="records", date_format="iso")
        return text.encode()
    buf = io.BytesIO()
    if fmt == "parquet":
        frame.to_parquet(buf, index=False)
    else:
        csv_frame(frame).to_csv(buf, index=False)
    return buf.getvalue()
