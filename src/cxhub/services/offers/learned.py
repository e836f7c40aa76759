"""What learning left for the decisions: per offer, every customer's expected uplift and the
effect measured per segment, read from the active `offer_models` rows."""

from __future__ import annotations

import json
import pickle
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cxhub.analytics.offers.catalogue import Catalogue, Offer
from cxhub.services.offers.profiles import Profiles
from cxhub.warehouse import Warehouse


@dataclass
class OfferModel:
    scores: dict[int, float]
    overall: float
    by_segment: dict[str, dict[str, Any]]
    trained_at: str


@dataclass
class Learned:
    models: dict[str, OfferModel] = field(default_factory=dict)

    def uplift(self, offer: Offer, cid: int | None, profile: dict[str, Any] | None
               ) -> tuple[float, str]:
        """(expected incremental acceptance, where the figure comes from)."""
        m = self.models.get(offer.code)
        if m is None:
            return offer.prior_uplift, "prior: not learned yet"
        seg = profile.get("segment") if profile else None
        measured = m.by_segment.get(seg) if seg else None
        if measured and measured.get("uplift_high") is not None \
                and measured["uplift_high"] < offer.min_uplift:
            # The segment's own control group shows no effect worth the offer, whatever the
            # model says of one customer in it.
            return measured["uplift"], (
                f"measured for {seg}: {measured['uplift']:+.1%}, 95% interval "
                f"{measured['uplift_low']:+.1%} to {measured['uplift_high']:+.1%}")
        if cid is not None and cid in m.scores:
            return m.scores[cid], f"uplift model of {m.trained_at[:10]}"
        return m.overall, "measured on all customers"


def load_learned(wh: Warehouse, catalogue: Catalogue, profiles: Profiles) -> Learned:
    out = Learned()
    rows = wh.read("SELECT offer_code, path, report, trained_at FROM offer_models "
                   "WHERE active ORDER BY trained_at")
    codes = {o.code for o in catalogue.offers}
    frame = None
    for code, path, report, trained_at in rows:
        if code not in codes or not path or not Path(path).exists():
            continue
        with open(path, "rb") as fh:
            model = pickle.load(fh)  # noqa: S301 (written by `learning.learn` under CXHUB_HOME)
        if frame is None:
            frame = profiles.frame()
        scores = dict(zip(frame.index.tolist(),
                          model.predict(frame).tolist(), strict=True)) if len(frame) else {}
        rep = json.loads(report) if isinstance(report, str) else (report or {})
        out.models[code] = OfferModel(
            scores=scores, overall=float(rep.get("all", {}).get("uplift") or 0.0),
            by_segment=rep.get("by", {}).get("segment", {}), trained_at=str(trained_at))
    return out
