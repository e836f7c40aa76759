"""Retention use cases: the sBG fitted to one cohort's survivor counts from a CSV file, and the
warehouse's retention model checked against what happened next (a held-out final period).

Behind `cxhub segments retention FILE` and `cxhub segments retention-check`.
"""

from __future__ import annotations

import csv
import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cxhub.analytics.segments import contracts, features, sbg
from cxhub.domain.errors import CxhubError
from cxhub.services.customers.segments import _con, compute_rfm, latest_activity
from cxhub.warehouse import Warehouse

CHECK_GROUPS = ("cohort", "plan", "rfm_segment")


class SurvivorFileError(CxhubError):
    """A survivor-counts file that cannot be read: names the file, line and field."""


@dataclass(frozen=True)
class Survivors:
    periods: list[int]
    active: list[float]


def read_survivors(path: Path) -> Survivors:
    """A CSV with a header and columns `period` (consecutive whole numbers) and `active` (the
    cohort's customers at the end of that period, never rising, the first above 0)."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise SurvivorFileError(f"{path}: cannot read the file ({exc})") from None
    reader = csv.DictReader(text.splitlines())
    missing = [c for c in ("period", "active") if c not in (reader.fieldnames or [])]
    if missing:
        raise SurvivorFileError(f"{path}: line 1: no column {' or '.join(map(repr, missing))} "
                                f"(the header must name `period` and `active`)")
    periods: list[int] = []
    active: list[float] = []
    for line, row in enumerate(reader, start=2):
        def bad(field: str, why: str, line: int = line, row: dict[str, Any] = row) -> None:
            raise SurvivorFileError(f"{path}: line {line}: field {field!r} "
                                    f"({row.get(field)!r}): {why}")

        try:
            period = int(str(row["period"]).strip())
        except ValueError:
            bad("period", "not a whole number")
        try:
            count = float(str(row["active"]).strip())
        except ValueError:
            bad("active", "not a number")
        if not np.isfinite(count) or count < 0:
            bad("active", "must be 0 or more")
        if periods and period != periods[-1] + 1:
            bad("period", f"periods must follow each other (the line before is {periods[-1]})")
        if not active and count <= 0:
            bad("active", "the first period must have customers")
        if active and count > active[-1]:
            bad("active", f"more than the period before ({active[-1]:g}): a cohort only shrinks")
        periods.append(period)
        active.append(count)
    if len(active) < 2:
        raise SurvivorFileError(f"{path}: at least two periods are needed, found {len(active)}")
    return Survivors(periods, active)


def fit_survivors_file(path: Path, *, ahead: int = 10) -> dict[str, Any]:
    """alpha, beta, the fit's log-likelihood, the fitted survivors of the given periods, and
    the projected survivors of the next `ahead` periods."""
    data = read_survivors(path)
    fit = sbg.fit_survivors(np.asarray(data.active))
    start, first = data.active[0], data.periods[0]
    k = len(data.active) - 1
    fitted = [start] + sbg.project(fit.params, start, k).tolist()
    future = sbg.project(fit.params, start, k + ahead)[k:].tolist()
    return {
        "alpha": fit.params.alpha, "beta": fit.params.beta,
        "log_likelihood": fit.log_likelihood,
        "fitted": [{"period": first + i, "active": a, "expected": e}
                   for i, (a, e) in enumerate(zip(data.active, fitted, strict=True))],
        "projection": [{"period": first + k + 1 + i, "expected": e}
                       for i, e in enumerate(future)],
    }


@dataclass
class RetentionCheck:
    calibration_end: dt.date  # the last day the model saw
    as_of: dt.date  # the end of the held-out period
    model: contracts.RetentionModel
    customers: pd.DataFrame  # per subscriber active at calibration_end

    def by(self, group: str) -> pd.DataFrame:
        """Subscribers, expected and actual leavers and shares per value of `group`, and all."""
        c = self.customers
        out = c.groupby(group).agg(subscribers=("predicted", "size"),
                                   expected=("predicted", "sum"), left=("left", "sum"))
        out.loc["all"] = [len(c), c["predicted"].sum(), c["left"].sum()]
        out["expected_share"] = out["expected"] / out["subscribers"]
        out["left_share"] = out["left"] / out["subscribers"]
        return out.reset_index().rename(columns={group: "group"})


def check_retention(wh: Warehouse, *, as_of: dt.date | None = None,
                    holdout_months: int = 1, with_rfm: bool = True,
                    clock: str = contracts.CLOCKS[0],
                    fit_by: str = contracts.FIT_BY[0]) -> RetentionCheck:
    """Fit the sBG per cohort (or cohort and plan) on the subscriptions up to `holdout_months`
    before `as_of`
    and predict who of the subscribers then leaves by `as_of`: per subscriber, the chance of
    leaving at one of the renewals that fall in the held-out months, against whether they did.
    With `with_rfm`, each subscriber's RFM segment at the calibration end is added."""
    if holdout_months < 1:
        raise CxhubError("the held-out period must be at least one month")
    as_of = as_of or latest_activity(wh)
    con = _con(wh)
    end = pd.Timestamp(features.Window(as_of).end)
    cal = (end - holdout_months * contracts.MONTH).normalize()
    subs = contracts.subscriptions(con, until=end)
    subs = subs[subs["started"] < cal].reset_index(drop=True)
    if subs.empty:
        raise CxhubError(f"no subscriptions started before {cal.date()}: nothing to check")
    group = contracts.groups_of(subs, fit_by)
    life = contracts.lifetimes(subs["started"], subs["ended"], cal, contracts.data_start(con))
    model = contracts.fit_retention(life, group, clock=clock)
    active = ~life.churned
    n_end = np.floor(((end - subs["started"]) / contracts.MONTH).to_numpy(dtype=float))
    predicted = contracts.churn_between(model, group[active], life.renewals[active],
                                        n_end[active], life.entered[active])
    left = (subs["ended"].notna() & (subs["ended"] <= end)).to_numpy()[active]
    out = pd.DataFrame({"customer_key": subs["customer_key"][active].to_numpy(),
                        "customer_id": subs["customer_id"][active].to_numpy(),
                        "cohort": contracts.cohort_of(subs["started"]).to_numpy()[active],
                        "plan": subs["plan"].to_numpy()[active],
                        "predicted": predicted, "left": left})
    calibration_end = (cal - pd.Timedelta(days=1)).date()
    if with_rfm:
        seg = compute_rfm(wh, calibration_end)[["customer_key", "rfm_segment"]]
        out = out.merge(seg, on="customer_key", how="left", validate="one_to_one")
    return RetentionCheck(calibration_end, as_of, model, out)
