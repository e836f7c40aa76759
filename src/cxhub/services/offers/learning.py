"""Learning what works from the decisions and their control groups.

For each offer: acceptance offered vs control, incremental acceptance and revenue with 95%
intervals, overall and per segment, persona, value band and channel; an uplift model (two
gradient-boosted models, `analytics.offers.uplift`) trained on 70% of the decided customers
and judged on the other 30% (Qini coefficient, uplift among the top 30%). The model and its
report go to `offer_models`; the decision engine reads the active one.

Incremental revenue is incremental acceptance times the revenue of an accepted offer: a
control customer who buys anyway is recorded as accepted but often without revenue (the demo
records none), so a plain difference of recorded revenue would overstate the offer.
"""

from __future__ import annotations

import json
import pickle
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from cxhub.analytics.offers import effects
from cxhub.analytics.offers.uplift import TwoModelUplift, qini_coefficient, uplift_at
from cxhub.services.offers import catalogue as catalogue_store
from cxhub.services.offers import profiles as profiles_mod
from cxhub.warehouse import Warehouse

GROUPS = ("segment", "persona", "value_band", "channel")
MIN_DECISIONS = 200  # fewer decided (offered + control) and no model is trained


def decisions(wh: Warehouse, profiles: profiles_mod.Profiles | None = None,
              offer_code: str | None = None) -> pd.DataFrame:
    """Decisions with a known outcome: offer, customer, control, accepted, revenue, channel,
    and the customer's profile features."""
    frame = wh.cursor().execute("""
        SELECT d.offer_code,
          coalesce(TRY_CAST(json_extract_string(d.attributes, '$.customer_id') AS BIGINT),
                   l.customer_id) AS customer_id,
          coalesce(d.control, false) AS control, d.outcome = 'accepted' AS accepted,
          coalesce(d.revenue, 0.0) AS revenue, d.presented_at,
          coalesce(json_extract_string(d.attributes, '$.channel'), c.channel) AS channel,
          json_extract_string(d.attributes, '$.segment') AS recorded_segment
        FROM offer_decisions d
        LEFT JOIN customer_links l ON l.source = coalesce(d.customer_source, d.source)
          AND l.external_id = d.customer_external_id
        LEFT JOIN contacts c ON c.source = d.source AND c.external_id = d.contact_external_id
        WHERE d.outcome IN ('accepted', 'declined', 'ignored')
          AND (d.offer_code = $code OR $code IS NULL)""", {"code": offer_code}).df()
    profiles = profiles or profiles_mod.load(wh)
    feats = profiles.frame()
    frame = frame.join(feats, on="customer_id", how="left")
    frame["segment"] = frame["segment"].fillna(frame.pop("recorded_segment"))
    return frame


def _effect(part: pd.DataFrame, value: float) -> dict[str, Any]:
    treated = ~part["control"].to_numpy(dtype=bool)
    e = effects.effect(treated, part["accepted"].to_numpy(dtype=bool),
                       part["revenue"].to_numpy(dtype=float)).as_dict()
    acc_rev = part.loc[treated & part["accepted"].to_numpy(dtype=bool), "revenue"]
    per_accept = float(acc_rev.mean()) if len(acc_rev) and acc_rev.mean() > 0 else value
    for k in ("uplift", "uplift_low", "uplift_high"):
        u = e[k]
        e["inc_revenue" + k[6:]] = None if u is None else round(float(u) * per_accept, 4)
    return e


def report(frame: pd.DataFrame, value: float, groups: tuple[str, ...] = GROUPS
           ) -> dict[str, Any]:
    out: dict[str, Any] = {"all": _effect(frame, value), "by": {}}
    for g in groups:
        if g not in frame:
            continue
        out["by"][g] = {str(k): _effect(part, value)
                        for k, part in frame.groupby(g, dropna=True) if len(part) >= 20}
    return out


def train(frame: pd.DataFrame, features: list[str], seed: int = 0
          ) -> tuple[TwoModelUplift, dict[str, Any]]:
    """The two-model learner on 70% of the rows; Qini and uplift@30% on the other 30%."""
    rng = np.random.default_rng(seed)
    test = rng.random(len(frame)) < 0.3
    treated = ~frame["control"].to_numpy(dtype=bool)
    y = frame["accepted"].to_numpy(dtype=bool)
    model = TwoModelUplift(seed=seed).fit(frame.loc[~test, features], treated[~test], y[~test])
    score = model.predict(frame.loc[test, features])
    return model, {"n_train": int((~test).sum()), "n_test": int(test.sum()),
                   "qini": qini_coefficient(score, treated[test], y[test]),
                   "uplift_at_30": uplift_at(score, treated[test], y[test], 0.3)}


def learn(wh: Warehouse, models_dir: Path, *, seed: int = 0,
          offers: list[str] | None = None) -> list[dict[str, Any]]:
    """Measure and train every catalogue offer with enough decisions; store the results."""
    cat = catalogue_store.load(wh)
    prof = profiles_mod.load(wh)
    frame = decisions(wh, prof)
    models_dir.mkdir(parents=True, exist_ok=True)
    features = list(profiles_mod.LEARNING_FEATURES)
    results = []
    for offer in cat.offers:
        if offers and offer.code not in offers:
            continue
        part = frame[frame["offer_code"] == offer.code].reset_index(drop=True)
        if len(part) < MIN_DECISIONS or part["control"].sum() < 20:
            results.append({"offer_code": offer.code, "decisions": len(part),
                            "skipped": f"fewer than {MIN_DECISIONS} decided or 20 in control"})
            continue
        rep = report(part, offer.value)
        rep["decisions"] = len(part)  # what `learn_due` compares with the decisions now
        known = part[part["customer_id"].notna()].reset_index(drop=True)
        model, fit = train(known, features, seed)
        rep |= fit
        stamp = datetime.now()
        path = models_dir / f"{offer.code}-{stamp:%Y%m%d%H%M%S%f}.pkl"
        with open(path, "wb") as fh:
            pickle.dump(model, fh)
        _store(wh, offer.code, stamp, fit, features, path, rep)
        results.append({"offer_code": offer.code, "decisions": len(part), **fit,
                        "uplift": rep["all"]["uplift"], "path": str(path)})
    return results


def learn_due(wh: Warehouse, models_dir: Path | None = None, *, seed: int = 0
              ) -> list[dict[str, Any]]:
    """The pipeline's step: learn the offers whose decided count changed since their active
    model (or that have none), so the dashboard's reports and the decisions' ranking are ready
    when the server starts; nothing when no offer has enough decisions or none changed."""
    models_dir = models_dir or Path(wh.path).parent / "models" / "offers"
    decided = dict(wh.read(
        "SELECT offer_code, count(*) FROM offer_decisions "
        "WHERE outcome IN ('accepted', 'declined', 'ignored') GROUP BY offer_code"))
    learned = {code: rep.get("decisions") for code, rep in latest_reports(wh).items()}
    due = [o.code for o in catalogue_store.load(wh).offers
           if decided.get(o.code, 0) >= MIN_DECISIONS and learned.get(o.code) != decided[o.code]]
    return learn(wh, models_dir, seed=seed, offers=due) if due else []


def _store(wh: Warehouse, code: str, stamp: datetime, fit: dict[str, Any],
           features: list[str], path: Path, rep: dict[str, Any]) -> None:
    def write(con: duckdb.DuckDBPyConnection) -> None:
        mid = con.execute("SELECT coalesce(max(model_id), 0) + 1 FROM offer_models").fetchone()
        con.execute("UPDATE offer_models SET active = false WHERE offer_code = ?", [code])
        con.execute(
            "INSERT INTO offer_models VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, true)",
            [mid[0] if mid else 1, code, stamp, fit["n_train"], fit["n_test"], features,
             str(path), _finite(fit["qini"]), _finite(fit["uplift_at_30"]),
             json.dumps(rep, default=_finite)])
    wh.write(write)


def _finite(x: Any) -> float | None:
    try:
        x = float(x)
    except (TypeError, ValueError):
        return None
    return x if np.isfinite(x) else None


def latest_reports(wh: Warehouse) -> dict[str, dict[str, Any]]:
    """offer code -> the active model's report, with when it was trained."""
    out = {}
    for code, trained_at, report_json in wh.read(
            "SELECT offer_code, trained_at, report FROM offer_models WHERE active"):
        rep = json.loads(report_json) if isinstance(report_json, str) else report_json
        out[code] = {**rep, "trained_at": str(trained_at)}
    return out
