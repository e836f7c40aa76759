"""Personas on hand-made customer frames: features, scaling, the choice of k and the names.

The frames have the columns `compute_segments` hands to `personas` (the profile plus
`persona_inputs`); every expected value is worked out in the comments.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import adjusted_rand_score

from cxhub.analytics.segments import persona_names
from cxhub.analytics.segments.persona_features import feature_table
from cxhub.analytics.segments.personas import INACTIVE, personas

AS_OF = pd.Timestamp("2026-06-30")


def _customers(n: int, *, age: tuple[float, float], calls: float, chats: float,
               spend: float, products: dict[str, float], rng: np.random.Generator
               ) -> pd.DataFrame:
    years = rng.normal(*age, n)
    tenure = rng.uniform(60, 3000, n)
    months = np.clip(tenure / (365.25 / 12), 1, 12)  # observed in the last 12 months
    phone, chat = rng.poisson(calls * months / 12), rng.poisson(chats * months / 12)
    email = rng.poisson(0.5 * months / 12)
    total = phone + chat + email
    return pd.DataFrame({
        "date_of_birth": AS_OF - pd.to_timedelta(np.round(years * 365.25), unit="D"),
        "tenure_days": tenure,
        "revenue_12m": rng.gamma(20, spend / 20, n) * months,
        "contacts_12m": total, "contacts_phone": phone, "contacts_chat": chat,
        "contacts_email": email, "contacts_per_month": total / months,
        "satisfaction": rng.uniform(0.4, 1.0, n),
        "digital_touchpoints": rng.poisson(10 * months / 12),
        **{f"has_{f}": (rng.random(n) < p).astype(int) for f, p in products.items()},
    })


def _planted(seed: int = 3) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    groups = [
        # older, phone a lot, broadband and a landline
        _customers(400, age=(76, 5), calls=14, chats=0.2, spend=45, rng=rng,
                   products={"broadband": 0.95, "mobile": 0.2, "tv": 0.3, "landline": 0.9}),
        # young, chat, mobile only, little spend
        _customers(300, age=(23, 3), calls=0.5, chats=6, spend=15, rng=rng,
                   products={"broadband": 0.05, "mobile": 1.0, "tv": 0.05, "landline": 0.0}),
        # middle-aged, everything, high spend, few contacts
        _customers(500, age=(42, 6), calls=2, chats=1, spend=110, rng=rng,
                   products={"broadband": 1.0, "mobile": 0.9, "tv": 0.9, "landline": 0.2}),
    ]
    truth = np.repeat(np.arange(3), [len(g) for g in groups])
    return pd.concat(groups, ignore_index=True), truth


def test_planted_groups_are_found_and_named() -> None:
    frame, truth = _planted()
    found = personas(frame, AS_OF, seed=0)
    assert found.k == 3  # chosen from 3-8 by the silhouette
    assert adjusted_rand_score(truth, found.cluster) > 0.95
    assert found.scores[3] == max(found.scores.values())
    name = {g: pd.Series(found.labels[truth == g]).mode()[0] for g in range(3)}
    assert len(set(name.values())) == 3
    assert name[0] == "older, contacts a lot, with a landline and broadband"
    assert name[1] == "mobile only, low spend, prefers chat"
    assert "high spend" in name[2]
    assert persona_names.TYPICAL not in name.values()
    # The profiles hold the means in readers' units, largest cluster first.
    p = found.profiles.set_index("description")
    assert p.loc[name[0], "age"] == pytest.approx(76, abs=1.5)
    assert list(found.profiles["customers"]) == sorted(found.profiles["customers"], reverse=True)
    # Same data, same seed: same personas.
    again = personas(frame, AS_OF, seed=0)
    assert (again.labels == found.labels).all()


def test_extreme_customers_get_no_persona_of_their_own() -> None:
    frame, truth = _planted()
    # Five customers with 100,000 calls and ten thousand times the spend: log(1 + x) and
    # then robust scaling clip them at 4 interquartile ranges, so they join the nearest
    # group instead of taking a cluster (and the silhouette's k) for themselves.
    odd = [0, 1, 2, 3, 4]
    frame.loc[odd, ["contacts_12m", "contacts_phone"]] = 100_000
    frame.loc[odd, "contacts_per_month"] = 100_000 / 12
    frame.loc[odd, "revenue_12m"] *= 10_000
    found = personas(frame, AS_OF, seed=0)
    assert found.k == 3
    assert found.profiles["customers"].min() >= 300


def test_customers_with_no_products_or_spend_are_a_persona_of_their_own() -> None:
    frame, truth = _planted()
    idle = frame.sample(100, random_state=1).index
    frame.loc[idle, [c for c in frame if c.startswith("has_")]] = 0
    frame.loc[idle, "revenue_12m"] = 0.0
    found = personas(frame, AS_OF, seed=0)
    assert (found.labels[idle] == INACTIVE).all()
    assert (found.labels == INACTIVE).sum() == 100
    assert found.k == 4  # three clusters and the inactive persona, numbered last
    assert found.profiles.iloc[-1]["description"] == INACTIVE
    # Where nobody holds products or spends (a warehouse of contacts only), nobody is idle.
    bare = frame.drop(columns=[c for c in frame if c.startswith("has_")] + ["revenue_12m"])
    assert INACTIVE not in set(personas(bare, AS_OF, seed=0).labels)


def test_feature_table_units() -> None:
    c = pd.DataFrame({
        "date_of_birth": pd.to_datetime(["1950-06-30", "2030-01-01", None]),
        "tenure_days": [730.5, 30.0, 4000.0],
        "revenue_12m": [600.0, 50.0, -10.0],
        "contacts_12m": [1, 3, 0], "contacts_phone": [1, 0, 0], "contacts_email": [0, 0, 0],
        "contacts_chat": [0, 3, 0], "contacts_per_month": [1 / 12, 3.0, 0.0],
        "complaints_12m": [1, 0, 0], "categorised_12m": [1, 1, 0],
    })
    f = feature_table(c, AS_OF)
    # 76 years to the day; a birth date in the future is unknown, as is a missing one.
    assert f["age"].iloc[0] == pytest.approx(76.0, abs=0.01)
    assert f["age"].iloc[1:].isna().all()
    assert f["tenure_years"].iloc[0] == pytest.approx(2.0)
    # Spend a month over the months observed, 1 to 12: 600 / 12, 50 / 1 (30 days), none.
    assert list(f["monthly_spend"]) == pytest.approx([50.0, 50.0, 0.0])
    # Population mix: 1 call and 3 chats -> phone 0.25, chat 0.75. Two pseudo-contacts:
    # customer 0's phone share (1 + 2 x 0.25) / (1 + 2) = 0.5; customer 2 (no contact) sits
    # at the mix.
    assert f["share_phone"].iloc[0] == pytest.approx(0.5)
    assert f["share_chat"].iloc[1] == pytest.approx((3 + 1.5) / 5)
    assert f["share_chat"].iloc[2] == pytest.approx(0.75)
    assert f["share_other"].sum() == 0
    # 2 of 4 contacts categorised: 50 %, enough. Complaint rate 1 / 2; customer 0:
    # (1 + 2 x 0.5) / (1 + 2).
    assert f["complaint_share"].iloc[0] == pytest.approx(2 / 3)
    c.loc[1, "categorised_12m"] = 0  # 1 of 4: too few to say who complains
    assert "complaint_share" not in feature_table(c, AS_OF)


def _effects(rows: dict[int, dict[str, float]]) -> pd.DataFrame:
    return pd.DataFrame.from_dict(rows, orient="index").fillna(0.0)


def test_names_take_the_next_trait_until_they_differ() -> None:
    same = {"age": 1.2, "share_phone": 0.9, "contacts_per_month": 0.8}
    effect = _effects({0: {**same, "tenure_years": 0.5}, 1: {**same, "tenure_years": -0.4},
                       2: {"age": -0.1}})
    held = pd.DataFrame(index=effect.index)
    names = persona_names.names(effect, held)
    assert names[0] == "older, prefers the phone, contacts a lot, long-standing"
    assert names[1] == "older, prefers the phone, contacts a lot, recently joined"
    assert names[2] == persona_names.TYPICAL  # no effect of 0.2 sd or more
    # Identical in every trait: numbered.
    twins = persona_names.names(_effects({0: same, 1: same}), held)
    assert twins == {0: "older, prefers the phone, contacts a lot",
                     1: "older, prefers the phone, contacts a lot (2)"}


def test_product_words() -> None:
    effect = _effects({0: {"has_broadband": -1.5, "has_mobile": 0.8, "has_tv": -0.6},
                       1: {"has_broadband": 0.3, "has_mobile": -0.1, "has_tv": 1.1},
                       2: {"has_broadband": -2.0, "has_mobile": -1.0, "has_tv": -0.5}})
    held = pd.DataFrame({"has_broadband": [0.05, 1.0, 0.1], "has_mobile": [0.95, 0.5, 0.1],
                         "has_tv": [0.0, 0.9, 0.05]})
    names = persona_names.names(effect, held)
    assert names == {0: "mobile only", 1: "with TV and broadband", 2: "few or no products"}
