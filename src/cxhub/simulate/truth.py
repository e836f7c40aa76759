"""The planted truths as a document: what happened, when, and by how much."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from cxhub.simulate import rates as r
from cxhub.simulate.offers import acceptance
from cxhub.simulate.plan import Plan
from cxhub.simulate.workforce import AHEAD_DAYS, ROTA_GAP, rota_gap_day


def events_truth(plan: Plan, billing_affected_accounts: int) -> dict[str, Any]:
    ev = plan.events
    code = r.PLANTED_OFFER
    deploy, rollback = plan.release_window_s
    product, monthly, _, _ = r.OFFERS[code]
    return {
        "faulty_release": {
            "date": plan.date_of(ev.release_day).isoformat(),
            "days": ev.release_end - ev.release_day,
            "end_exclusive": plan.date_of(ev.release_end).isoformat(),
            # The exact deploy and rollback, on the clock of the files' timestamps.
            "start": _clock(deploy),
            "end": _clock(rollback),
            "multiplier": r.RELEASE_MULTIPLIER,
            "affects": ["contacts with cause product", "social mentions with cause product"],
        },
        "billing_problem": {
            "start": plan.date_of(ev.billing_start).isoformat(),
            "fixed": plan.date_of(ev.billing_fix).isoformat(),
            "action": "duplicate-charge fault corrected and the extra half refunded",
            "affected_accounts": billing_affected_accounts,
            "effect": "affected accounts invoiced twice the amount; billing complaints rise "
            "until the fix and fall back after it",
        },
        "offer": {
            "offer_code": code,
            "product": product,
            "monthly_amount": monthly,
            "works_for": "family",
            "does_not_work_for": "senior",
            "segments": {
                seg: dict(zip(("accept_rate", "control_rate"), acceptance(code, seg), strict=True))
                for seg in r.SEGMENTS
            },
        },
        "fix": {
            "date": plan.date_of(ev.fix_day).isoformat(),
            "cause": r.FIX_CAUSE,
            "effect": plan.fix_effect,
            "action": "engineer visits booked in one step online and by phone",
            "note": "from 00:00 of its date the contacts and social posts of the cause drop by "
            "the effect (a share) and stay down; other causes are untouched",
        },
        "marketing_campaign": {
            "start": plan.date_of(ev.campaign_start).isoformat(),
            "end_exclusive": plan.date_of(ev.campaign_end).isoformat(),
            "demand_uplift": r.CAMPAIGN_UPLIFT,
            "note": "extra information and transaction contacts until a week after the end; "
            "campaign emails and upgrade orders",
        },
        "rota_gap": {
            "date": plan.date_of(rota_gap_day(plan)).isoformat(),
            "channel": "phone",
            "from": f"{ROTA_GAP[0]:02d}:00",
            "to": f"{ROTA_GAP[1]:02d}:00",
            "rostered_share_of_need": ROTA_GAP[2],
            "note": "the rota published for the days after the period (roster.csv, "
            f"{AHEAD_DAYS} days) rosters this afternoon's phones at this share of Erlang C's "
            "need (a team away at training); every other half hour ahead at the need",
        },
    }


def _clock(seconds: int) -> str:
    """Epoch seconds as the files write them: YYYY-MM-DDTHH:MM:SS, no zone."""
    return datetime.fromtimestamp(seconds, UTC).replace(tzinfo=None).isoformat()
