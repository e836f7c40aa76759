"""An offer's report for the dashboard, from its decisions as they are now: decisions,
acceptance offered vs control, incremental acceptance and revenue with 95% intervals, by
segment, persona, value band, channel and month; the uplift model's held-out figures."""

from __future__ import annotations

from typing import Any

from cxhub.analytics.offers.catalogue import Offer
from cxhub.services.offers import learning
from cxhub.services.offers.engine import Engine

BY = ("segment", "persona", "value_band", "channel", "month")


def offer_report(engine: Engine, offer: Offer) -> dict[str, Any]:
    state = engine.state or engine.refresh()
    frame = learning.decisions(engine.wh, state.profiles, offer_code=offer.code)
    pending = engine.wh.read_one(
        "SELECT count(*) FROM offer_decisions WHERE offer_code = ? AND outcome IS NULL",
        [offer.code])
    out: dict[str, Any] = {"offer": offer, "decided": len(frame),
                           "awaiting_outcome": int(pending[0]) if pending else 0,
                           "model": learning.latest_reports(engine.wh).get(offer.code)}
    if frame.empty:
        out |= {"all": None, "by": {}}
        return out
    frame["month"] = frame["presented_at"].dt.strftime("%Y-%m")
    rep = learning.report(frame, offer.value, groups=BY)
    return out | rep


def trigger_summary(engine: Engine) -> list[dict[str, Any]]:
    """Every trigger in the catalogue and any other on record: members, held out, outcomes,
    and the effect against its own control group with its 95% interval."""
    from cxhub.services.offers import catalogue as store
    from cxhub.services.offers import trigger_runs

    measured = trigger_runs.reports(engine.wh, engine.state.profiles if engine.state else None)
    listed = {t.code: t for t in store.load_triggers(engine.wh, active_only=False)}
    out = []
    for code in sorted(set(listed) | set(measured)):
        t, m = listed.get(code), measured.get(code) or {}
        effect = m.get("all") or {}
        out.append({"code": code, "title": t.title if t else code,
                    "event": t.event if t else None, "active": t.active if t else None,
                    "audience": m.get("audience", 0), "control": m.get("control", 0),
                    "with_outcome": m.get("with_outcome", 0),
                    **{k: effect.get(k) for k in ("uplift", "uplift_low", "uplift_high",
                                                  "inc_revenue")}})
    return out


def trigger_as_offer(engine: Engine, code: str) -> Offer | None:
    """A trigger on record, reported like an offer (its value is its outcomes' revenue)."""
    from cxhub.services.offers import catalogue as store

    row = engine.wh.read_one("SELECT count(*) FROM offer_decisions "
                             "WHERE source = 'cxhub-trigger' AND offer_code = ?", [code])
    if not row or not row[0]:
        return None
    t = next((t for t in store.load_triggers(engine.wh, active_only=False) if t.code == code),
             None)
    return Offer(code=code, title=t.title if t else f"trigger {code}",
                 description=(f"A service-event trigger ({t.event.replace('_', ' ')}): "
                              f"{t.action}" if t else "A service-event trigger."),
                 value=0.0, control_share=t.control_share if t else 0.10)


def catalogue_summary(engine: Engine) -> list[dict[str, Any]]:
    state = engine.state or engine.refresh()
    models = learning.latest_reports(engine.wh)
    counts = {code: (n, acc, ctrl) for code, n, acc, ctrl in engine.wh.read(
        "SELECT offer_code, count(*), count(*) FILTER (outcome = 'accepted' AND NOT control), "
        "count(*) FILTER (control) FROM offer_decisions GROUP BY offer_code")}
    rows = []
    for o in state.catalogue.offers:
        n, acc, ctrl = counts.get(o.code, (0, 0, 0))
        m = models.get(o.code) or {}
        rows.append({"offer": o, "decisions": n, "accepted": acc, "control": ctrl,
                     "uplift": (m.get("all") or {}).get("uplift"),
                     "uplift_low": (m.get("all") or {}).get("uplift_low"),
                     "uplift_high": (m.get("all") or {}).get("uplift_high"),
                     "inc_revenue": (m.get("all") or {}).get("inc_revenue"),
                     "qini": m.get("qini"), "trained_at": m.get("trained_at")})
    return rows
