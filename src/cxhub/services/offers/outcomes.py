"""A decision's outcome: accepted, declined or ignored, with the revenue. Idempotent: the same
outcome posted again changes nothing and says so; a different one for an offer that already
has an outcome is refused (the first answer stands), so a retry can never double revenue."""

from __future__ import annotations

import json
import math
from datetime import datetime
from typing import Any

import duckdb

from cxhub.domain.errors import CxhubError
from cxhub.services.offers.engine import SOURCE, Engine

OUTCOMES = ("accepted", "declined", "ignored")


class OutcomeError(CxhubError):
    def __init__(self, field: str, reason: str, status: int = 422) -> None:
        self.field, self.reason, self.status = field, reason, status
        super().__init__(f"{field}: {reason}")


def check(outcome: Any, revenue: Any) -> float | None:
    if outcome not in OUTCOMES:
        raise OutcomeError("outcome", f"must be one of {', '.join(OUTCOMES)}, got {outcome!r}")
    if revenue is None:
        return None
    if isinstance(revenue, bool) or not isinstance(revenue, int | float) \
            or not math.isfinite(revenue) or revenue < 0:
        raise OutcomeError("revenue", f"must be a number >= 0, got {revenue!r}")
    if outcome != "accepted" and revenue:
        raise OutcomeError("revenue", "only an accepted offer brings revenue")
    return float(revenue)


def record(engine: Engine, decision_id: str, *, outcome: Any, revenue: Any = None,
           offer_code: str | None = None, now: datetime | None = None) -> dict[str, Any]:
    """Record the outcome of one offer of a decision (the only one when there is one)."""
    rev = check(outcome, revenue)
    pending = engine.remembered(decision_id)
    if pending is not None:
        engine.wait_written()  # the decision itself must be in the table first
    now = now or datetime.now()

    def write(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
        rows = con.execute(
            "SELECT decision_id, offer_code, control, outcome, revenue FROM offer_decisions "
            "WHERE (source = ? AND external_id LIKE ? ESCAPE '\\') "
            "OR (source = 'cxhub-trigger' AND external_id = ?)",
            [SOURCE, decision_id.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
             + ":%", decision_id]).fetchall()
        rows = [r for r in rows if r[1] != "none"]
        if not rows:
            raise OutcomeError("decision_id", f"no decision {decision_id!r} with an offer", 404)
        if offer_code is None and len(rows) > 1:
            raise OutcomeError("offer_code", "this decision made several offers: name one "
                               f"({', '.join(r[1] for r in rows)})")
        row = rows[0] if offer_code is None else next((r for r in rows if r[1] == offer_code),
                                                       None)
        if row is None:
            raise OutcomeError("offer_code", f"{offer_code!r} is not part of this decision")
        rid, code, control, old, old_rev = row
        if old is not None:
            if old == outcome and (rev is None or old_rev == rev):
                return {"decision_id": decision_id, "offer_code": code, "outcome": old,
                        "revenue": old_rev, "control": control, "recorded": False,
                        "note": "already recorded"}
            raise OutcomeError("outcome", f"already recorded as {old!r}"
                               + (f" with revenue {old_rev:g}" if old_rev else ""), 409)
        con.execute(
            "UPDATE offer_decisions SET outcome = ?, revenue = ?, "
            "attributes = json_merge_patch(coalesce(attributes, '{}'::JSON), ?::JSON) "
            "WHERE decision_id = ?",
            [outcome, rev, json.dumps({"outcome_at": now.isoformat(timespec="seconds")}), rid])
        return {"decision_id": decision_id, "offer_code": code, "outcome": outcome,
                "revenue": rev, "control": control, "recorded": True}

    return engine.wh.write(write)
