"""Personas: k-means clusters of customers, each described in words by what sets it apart.

Features (per customer): tenure, products held, revenue of the last 12 months, contacts by
channel (phone, email, chat, the rest pooled), satisfaction and digital touchpoints. Counts and
money are compressed with a signed log(1 + |x|) so that a few very large customers do not each
get a cluster, then every feature is standardised (z-scores). A customer with no survey answer
gets the population's mean satisfaction, i.e. z = 0: no evidence either way. Features that do
not vary (a warehouse with no holdings, say) are left out.

k is chosen by the silhouette score over a small range (on a sample when there are many
customers, since the score is quadratic in the number of points). A cluster is described by the
mean z-score of its members on each feature: the (at most three) features with |z| >= 0.5,
largest first, each in words ("long-tenure", "calls often", "low satisfaction").
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans
from sklearn.metrics import silhouette_score
from threadpoolctl import threadpool_limits

# feature column -> (words when the cluster is above the population, words when below)
FEATURES: dict[str, tuple[str, str]] = {
    "tenure_days": ("long-tenure", "new"),
    "products_held": ("holds many products", "holds few products"),
    "revenue_12m": ("high-revenue", "low-revenue"),
    "contacts_phone": ("calls often", "rarely calls"),
    "contacts_email": ("emails often", "rarely emails"),
    "contacts_chat": ("chats often", "rarely chats"),
    "contacts_elsewhere": ("contacts on other channels", "rarely uses other channels"),
    "satisfaction": ("highly satisfied", "low satisfaction"),
    "digital_touchpoints": ("digital", "rarely online"),
}
_NOT_LOGGED = ("satisfaction",)
DISTINCT_Z = 0.5
MAX_WORDS = 3
TYPICAL = "typical customers"


@dataclass(frozen=True)
class Personas:
    labels: np.ndarray  # the persona (its description) of each customer
    cluster: np.ndarray  # the cluster number of each customer
    k: int
    silhouette: float | None
    profiles: pd.DataFrame  # one row per cluster: size, description, mean z per feature


def feature_matrix(customers: pd.DataFrame) -> pd.DataFrame:
    """The standardised features used for clustering; constant ones dropped."""
    cols = {}
    for name in FEATURES:
        if name not in customers:
            continue
        v = customers[name].astype(float)
        if name not in _NOT_LOGGED:
            v = np.sign(v) * np.log1p(np.abs(v))
        v = v.fillna(v.mean())
        sd = v.std(ddof=0)
        if not np.isfinite(sd) or sd <= 1e-12:
            continue
        cols[name] = (v - v.mean()) / sd
    return pd.DataFrame(cols, index=customers.index)


def describe(z: pd.Series) -> str:
    """Words for one cluster from its mean z-scores."""
    distinct = z[z.abs() >= DISTINCT_Z]
    if distinct.empty:
        return TYPICAL
    order = distinct.abs().sort_values(ascending=False, kind="stable").index[:MAX_WORDS]
    return ", ".join(FEATURES[f][0] if z[f] > 0 else FEATURES[f][1] for f in order)


def personas(
    customers: pd.DataFrame,
    *,
    k_range: range = range(2, 7),
    seed: int = 0,
    sample_size: int = 4_000,
    fit_size: int = 200_000,
) -> Personas:
    # scikit-learn's k-means starts OpenMP threads per call; on inputs of this size they wait
    # on each other more than they work (2,357 customers: 2.3 s on two threads, 0.03 s on
    # one), so clustering runs on one thread.
    with threadpool_limits(limits=1):
        return _personas(customers, k_range, seed, sample_size, fit_size)


def _personas(
    customers: pd.DataFrame, k_range: range, seed: int, sample_size: int, fit_size: int
) -> Personas:
    z = feature_matrix(customers)
    n = len(z)
    distinct_rows = len(z.drop_duplicates()) if z.shape[1] else 0
    if z.shape[1] == 0 or distinct_rows < 3:
        return _one_cluster(customers, z)
    rng = np.random.default_rng(seed)
    sample = z.to_numpy()
    if n > sample_size:
        sample = sample[rng.choice(n, sample_size, replace=False)]
    best_k, best_score = 0, -np.inf
    for k in k_range:
        if k >= min(distinct_rows, len(sample)):
            break
        labels = KMeans(k, n_init=4, random_state=seed).fit_predict(sample)
        if len(set(labels)) < 2:
            continue
        score = float(silhouette_score(sample, labels))
        if score > best_score + 1e-9:
            best_k, best_score = k, score
    if best_k == 0:
        return _one_cluster(customers, z)
    # The final centres come from a larger sample; assigning everyone else to the nearest
    # centre is then linear, which keeps a million customers to seconds.
    everyone = z.to_numpy()
    fit_on = everyone if n <= fit_size else everyone[rng.choice(n, fit_size, replace=False)]
    model = KMeans(best_k, n_init=4, random_state=seed).fit(fit_on)
    return _named(z, model.predict(everyone), best_k, best_score)


def _named(z: pd.DataFrame, cluster: np.ndarray, k: int, score: float | None) -> Personas:
    means = z.groupby(cluster).mean()
    names: dict[int, str] = {}
    seen: dict[str, int] = {}
    for c in means.index:
        name = describe(means.loc[c])
        seen[name] = seen.get(name, 0) + 1
        # Two clusters can share their strongest traits; a number keeps them apart.
        names[int(c)] = name if seen[name] == 1 else f"{name} ({seen[name]})"
    profiles = means.copy()
    profiles.insert(0, "description", [names[int(c)] for c in means.index])
    profiles.insert(0, "customers", np.bincount(cluster, minlength=k)[means.index])
    labels = np.asarray([names.get(c, TYPICAL) for c in range(k)], dtype=object)[cluster]
    return Personas(labels, cluster, k, score, profiles)


def _one_cluster(customers: pd.DataFrame, z: pd.DataFrame) -> Personas:
    cluster = np.zeros(len(customers), dtype=int)
    if z.shape[1] == 0:
        z = pd.DataFrame(index=customers.index, data={"_": np.zeros(len(customers))})
        profiles = pd.DataFrame({"customers": [len(customers)], "description": [TYPICAL]})
        return Personas(np.full(len(customers), TYPICAL, dtype=object), cluster, 1, None,
                        profiles)
    return _named(z, cluster, 1, None)
