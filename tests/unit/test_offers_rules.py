"""The offer catalogue's checks, the contact policy rule by rule, the control groups, the
effect intervals against published figures and the Qini curve against a hand count."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from cxhub.analytics.offers.catalogue import CatalogueError, parse_catalogue, parse_offer
from cxhub.analytics.offers.effects import effect, rate_difference
from cxhub.analytics.offers.policy import Policy, control_draw, in_control
from cxhub.analytics.offers.uplift import TwoModelUplift, qini_coefficient, qini_curve, uplift_at

NOW = datetime(2026, 6, 1, 12)


def _offer(**kw):
    return parse_offer({"code": "X", "title": "X", **kw})


@pytest.mark.parametrize(("raw", "field", "words"), [
    ({"rules": {"min_tenure": 3}}, "rules.min_tenure", "unknown rule field"),
    ({"rules": {"min_tenure_days": 400, "max_tenure_days": 30}}, "rules.min_tenure_days",
     "nobody is eligible"),
    ({"valid_from": "2026-05-01", "valid_to": "2026-04-01"}, "valid_to", "before valid_from"),
    ({"valid_from": "first of May"}, "valid_from", "not a date"),
    ({"value": "lots"}, "value", "must be a number"),
    ({"rules": {"channels": ["pigeon"]}}, "rules.channels", "unknown pigeon"),
    ({"rules": {"holding": ["A"], "not_holding": ["A"]}}, "rules.not_holding", "contradicts"),
    ({"colour": "red"}, "colour", "unknown field"),
    ({"control_share": 2}, "control_share", "outside"),
])
def test_catalogue_errors_name_offer_and_field(raw, field, words) -> None:
    with pytest.raises(CatalogueError) as err:
        _offer(**raw)
    assert err.value.entry == "X" and err.value.field == field and words in str(err.value)


def test_catalogue_duplicate_codes() -> None:
    with pytest.raises(CatalogueError, match="appears twice"):
        parse_catalogue({"offers": [{"code": "A"}, {"code": "A"}]})


def test_policy_rules_one_by_one() -> None:
    policy = Policy(max_offers_per_customer_30d=2)
    offer = _offer(rules={"channels": ["phone"], "not_holding": ["P"], "min_age": 18},
                   max_per_customer_30d=1, valid_to="2026-12-31")
    ok_profile = {"age": 40, "products": frozenset()}
    ok_context = {"channel": "phone", "category": "information", "sentiment": "neutral"}

    def why(profile=ok_profile, context=ok_context, recent=(), now=NOW):
        return policy.refusals(offer, profile, context, list(recent), now)

    assert why() == []
    assert "complaint" in why(context={**ok_context, "category": "complaint"})[0]
    assert "negative" in why(context={**ok_context, "sentiment": "negative"})[0]
    assert "open complaint" in why(profile={**ok_profile, "open_complaint": True})[0]
    assert "open problem (Broken router)" in why(
        profile={**ok_profile, "open_problem": "Broken router"})[0]
    assert "opted out" in why(profile={**ok_profile, "marketing_opt_in": False})[0]
    assert why(profile={**ok_profile, "marketing_opt_in": True}) == []
    other = [(NOW - timedelta(days=3), "Y"), (NOW - timedelta(days=10), "Z")]
    assert "cap 2 per customer" in why(recent=other)[0]
    assert why(recent=[(NOW - timedelta(days=31), "Y")] * 5) == []  # outside the window
    assert "cap 1 for this offer" in why(recent=[(NOW - timedelta(days=29), "X")])[0]
    assert "already holds P" in why(profile={**ok_profile, "products": frozenset({"P"})})[0]
    assert "age 16 is below 18" in why(profile={**ok_profile, "age": 16})[0]
    assert "channel is chat" in why(context={**ok_context, "channel": "chat"})[0]
    assert "not valid on 2027-01-01" in why(now=datetime(2027, 1, 1))[0]
    # No known customer: rules on the profile cannot hold; context-only offers still can.
    assert "needs a known customer" in " ".join(why(profile=None))
    ctx_only = _offer(rules={"channels": ["phone"]})
    assert policy.refusals(ctx_only, None, ok_context, [], NOW) == []


def test_control_group_is_deterministic_and_sized() -> None:
    draws = [control_draw(f"c{i}", "SPEED") for i in range(20_000)]
    assert draws[:50] == [control_draw(f"c{i}", "SPEED") for i in range(50)]
    share = np.mean([d < 0.1 for d in draws])
    assert abs(share - 0.1) < 0.007  # 3.5 standard errors
    # Independent between offers: being in one control group says nothing about another.
    both = np.mean([in_control(f"c{i}", "A", 0.1) and in_control(f"c{i}", "B", 0.1)
                    for i in range(20_000)])
    assert abs(both - 0.01) < 0.003
    assert not in_control(None, "A", 0.5)


def test_newcombe_interval_matches_published_figures() -> None:
    # Newcombe (1998), Statistics in Medicine 17:873, table II, method 10.
    d, lo, hi = rate_difference(56, 70, 48, 80)
    assert (round(d, 4), round(lo, 4), round(hi, 4)) == (0.2, 0.0524, 0.3339)
    d, lo, hi = rate_difference(9, 10, 3, 10)
    assert (round(lo, 4), round(hi, 4)) == (0.1705, 0.809)


def test_effect_counts_and_revenue() -> None:
    treated = np.array([1, 1, 1, 1, 0, 0, 0, 0], dtype=bool)
    accepted = np.array([1, 1, 0, 0, 1, 0, 0, 0], dtype=bool)
    revenue = np.array([10, 20, 0, 0, 5, 0, 0, 0], dtype=float)
    e = effect(treated, accepted, revenue)
    assert (e.offered, e.control, e.accepted_offered, e.accepted_control) == (4, 4, 2, 1)
    assert e.uplift == pytest.approx(0.25) and e.revenue_uplift == pytest.approx(7.5 - 1.25)
    assert e.uplift_low < 0.25 < e.uplift_high


def test_qini_by_hand() -> None:
    # Scores 4,3,2,1; treated T,C,T,C; outcomes 1,0,0,1.
    x, q = qini_curve(np.array([4, 3, 2, 1.]), np.array([1, 0, 1, 0]), np.array([1, 0, 0, 1]))
    # k=1: 1 - 0 = 1; k=2: 1 - 0*1/1 = 1; k=3: 1 - 0*2/1 = 1; k=4: 1 - 1*2/2 = 0. Over n=4.
    assert x.tolist() == [0, .25, .5, .75, 1] and q.tolist() == [0, .25, .25, .25, 0]
    area = (0.125 + 0.25 + 0.25 + 0.125) * 0.25
    assert qini_coefficient(np.array([4, 3, 2, 1.]), np.array([1, 0, 1, 0]),
                            np.array([1, 0, 0, 1])) == pytest.approx(area - 0)
    assert uplift_at(np.array([4, 3, 2, 1.]), np.array([1, 0, 1, 0]),
                     np.array([1, 0, 0, 1]), share=0.5) == pytest.approx(1.0)


def test_two_model_learner_finds_who_responds() -> None:
    rng = np.random.default_rng(3)
    n = 20_000
    group = rng.choice(["family", "senior", "student"], n)
    treated = rng.random(n) < 0.5
    p = np.where(treated & (group == "family"), 0.30, 0.05)
    y = rng.random(n) < p
    features = pd.DataFrame({"group": group, "age": rng.integers(18, 90, n)})
    model = TwoModelUplift(seed=1).fit(features, treated, y)
    by_group = {g: model.predict(pd.DataFrame({"group": [g], "age": [50]}))[0]
                for g in ("family", "senior", "student")}
    assert abs(by_group["family"] - 0.25) < 0.05
    assert abs(by_group["senior"]) < 0.04 and abs(by_group["student"]) < 0.04
    score = model.predict(features)
    assert qini_coefficient(score, treated, y) > 0.5 * qini_coefficient(
        (group == "family").astype(float), treated, y)
    assert abs(qini_coefficient(rng.random(n), treated, y)) < 0.01
