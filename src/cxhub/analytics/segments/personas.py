"""Personas: k-means clusters of customers, each named in plain words by what sets it apart.

The features (`persona_features.py`): age, tenure, monthly spend, contacts a month, the share
of contacts by channel, complaint share (once contacts are categorised), satisfaction, the
product families held and digital touchpoints a month. Counts and money are taken as
log(1 + x); then each feature is centred on its median and divided by its interquartile range
/ 1.349 (the standard deviation for a normal distribution, but not moved by a few extreme
customers; the standard deviation where the range is 0, and 0/1 features by their mean and
standard deviation), unknown values set to the centre, and clipped to +-4. Each group of
features carries the weight of one feature: every column is rescaled to variance 1 (so that a
feature whose quartiles sit close together does not outweigh the rest), then the columns of a
group (the four channel shares, the product families) are divided by the square root of their
number. Features that do not vary are left out.

Customers with no product held and no revenue in the 12 months (prospects known to marketing,
lapsed customers) are one persona of their own, "no products or spend", and are not clustered:
they would otherwise be the one thing every other cluster differs by. This applies only when
some customers do hold products or spend.

k is chosen in `k_range` (3-8) by the silhouette score: for each k, k-means (10 starts) is
fitted on a sample of up to 10,000 customers and scored on 4,000 of them (the score is
quadratic in the number of points); the best score wins, the smaller k on a tie. The chosen
centres are refined on up to 200,000 customers and everyone is assigned to the nearest, which
keeps a million customers to seconds. Clusters are numbered by size, largest first (the
inactive persona last); names: `persona_names`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from cxhub.analytics.segments import persona_names
from cxhub.analytics.segments.persona_features import BY_NAME, feature_table
from cxhub.analytics.segments.persona_names import TYPICAL

DEFAULT_K = range(3, 9)
CLIP = 4.0
SCORE_SAMPLE, SELECT_SAMPLE, FIT_SAMPLE = 4_000, 10_000, 200_000
N_INIT = 10
INACTIVE = "no products or spend"


@dataclass(frozen=True)
class Personas:
    labels: np.ndarray  # the persona (its name) of each customer
    cluster: np.ndarray  # the cluster number of each customer, 0 the largest
    k: int
    silhouette: float | None  # of the chosen k
    profiles: pd.DataFrame  # per cluster: customers, share, description, mean of each feature
    effects: pd.DataFrame  # per cluster and feature: (mean - clustered mean) / sd
    scores: dict[int, float] = field(default_factory=dict)  # silhouette of each k tried


def scaled(features: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(the matrix clustered, the features on the comparison scale: log where counted, NaN
    kept); features that do not vary are dropped from both."""
    cols, kept = {}, {}
    for name in features.columns:
        spec = BY_NAME[name]
        v = features[name].astype(float)
        if spec.log:
            v = np.log1p(v.clip(lower=0))
        known = v.dropna()
        if known.empty or known.min() == known.max():
            continue
        if spec.binary:
            centre, spread = known.mean(), known.std(ddof=0)
        else:
            centre = known.median()
            q1, q3 = known.quantile([0.25, 0.75])
            spread = (q3 - q1) / 1.349
            if spread <= 1e-12:
                spread = known.std(ddof=0)
        z = ((v.fillna(centre) - centre) / spread).clip(-CLIP, CLIP)
        sd = z.std(ddof=0)
        if not sd > 1e-12:
            continue
        cols[name], kept[name] = z / sd, v
    matrix = pd.DataFrame(cols, index=features.index)
    group_size = pd.Series([BY_NAME[n].group for n in matrix.columns]).value_counts()
    for name in matrix.columns:
        matrix[name] /= np.sqrt(group_size[BY_NAME[name].group])
    return matrix, pd.DataFrame(kept, index=features.index)


def inactive(features: pd.DataFrame) -> np.ndarray:
    """Customers with no product held and no spend, where others have products or spend."""
    products = features.filter(like="has_").fillna(0).sum(axis=1).to_numpy()
    spend = features.get("monthly_spend", pd.Series(0.0, index=features.index))
    spend = spend.fillna(0).to_numpy()
    idle = (products <= 0) & (spend <= 0)
    return idle if not idle.all() else np.zeros(len(features), dtype=bool)


def personas(customers: pd.DataFrame, as_of: pd.Timestamp | None = None, *,
             k_range: range = DEFAULT_K, seed: int = 0) -> Personas:
    """Personas of the customers in a segment frame (see `feature_table` for its columns)."""
    as_of = as_of if as_of is not None else pd.Timestamp.today().normalize()
    return cluster_features(feature_table(customers, pd.Timestamp(as_of)), k_range=k_range,
                            seed=seed)


def cluster_features(features: pd.DataFrame, *, k_range: range = DEFAULT_K,
                     seed: int = 0) -> Personas:
    features = features.reset_index(drop=True)
    idle = inactive(features)
    active = features[~idle]
    # scikit-learn's k-means starts OpenMP threads per call; on inputs of this size they wait
    # on each other more than they work, so clustering runs on one thread. (Imported here:
    # scikit-learn takes a second and a half to import, and every CLI command imports this.)
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        raw, score, scores = _kmeans(active, k_range, seed)
    cluster = np.full(len(features), -1, dtype=int)
    cluster[~idle] = raw
    return _finish(features, cluster, score, scores)


def _kmeans(features: pd.DataFrame, k_range: range, seed: int
            ) -> tuple[np.ndarray, float | None, dict[int, float]]:
    from sklearn.cluster import KMeans
    from sklearn.metrics import silhouette_score

    x = scaled(features[[c for c in features.columns if BY_NAME[c].basis]])[0].to_numpy()
    n = len(x)
    rng = np.random.default_rng(seed)
    select = x if n <= SELECT_SAMPLE else x[rng.choice(n, SELECT_SAMPLE, replace=False)]
    distinct = len(np.unique(select, axis=0)) if x.shape[1] and n else 0
    if distinct < 3:
        return np.zeros(n, dtype=int), None, {}
    score_rows = np.arange(len(select))
    if len(select) > SCORE_SAMPLE:
        score_rows = rng.choice(len(select), SCORE_SAMPLE, replace=False)
    distances = _distances(select[score_rows])
    scores: dict[int, float] = {}
    centres: dict[int, np.ndarray] = {}
    for k in k_range:
        if k >= min(distinct, len(select)):
            break
        model = KMeans(k, n_init=N_INIT, random_state=seed).fit(select)
        labels = model.labels_[score_rows]
        if len(set(labels)) < 2:
            continue
        scores[k] = float(silhouette_score(distances, labels, metric="precomputed"))
        centres[k] = model.cluster_centers_
    if not scores:
        return np.zeros(n, dtype=int), None, {}
    best = max(scores, key=lambda k: (round(scores[k], 9), -k))
    fit_on = x if n <= FIT_SAMPLE else x[rng.choice(n, FIT_SAMPLE, replace=False)]
    model = KMeans(best, init=centres[best], n_init=1, random_state=seed).fit(fit_on)
    return model.predict(x), scores[best], scores


def _distances(x: np.ndarray) -> np.ndarray:
    """Euclidean distances between the rows, computed once for every k's silhouette (in
    float32: 64 MB for 4,000 rows)."""
    x = x.astype(np.float32)
    sq = np.einsum("ij,ij->i", x, x)
    d: np.ndarray = x @ x.T
    d *= -2.0
    d += sq[:, None]
    d += sq[None, :]
    np.maximum(d, 0.0, out=d)
    np.sqrt(d, out=d)
    np.fill_diagonal(d, 0.0)
    return d


def _finish(features: pd.DataFrame, raw: np.ndarray, score: float | None,
            scores: dict[int, float]) -> Personas:
    """Number the clusters by size (largest first, the inactive -1 last), name them and
    profile them. Effects are measured against the clustered customers."""
    active = raw >= 0
    sizes = np.bincount(raw[active], minlength=1) if active.any() else np.zeros(0, dtype=int)
    order = np.argsort(-sizes, kind="stable")
    renumber = np.empty(len(order) + 1, dtype=int)
    renumber[order] = np.arange(len(order))
    k = int((sizes > 0).sum())
    renumber[-1] = k  # the inactive persona
    cluster = renumber[raw]
    compared = scaled(features[active])[1]
    effect = persona_names.effects(compared, cluster[active])
    held = features[active].filter(like="has_").groupby(cluster[active]).mean()
    named = persona_names.names(effect, held.reindex(effect.index).fillna(0.0))
    if not active.all():
        named[k] = INACTIVE
        k += 1
    profiles = features.groupby(cluster).mean()
    profiles.insert(0, "description", [named.get(int(c), TYPICAL) for c in profiles.index])
    counts = np.bincount(cluster, minlength=k)[profiles.index]
    profiles.insert(0, "share", counts / max(len(cluster), 1))
    profiles.insert(0, "customers", counts)
    names = np.asarray([named.get(c, TYPICAL) for c in range(k)], dtype=object)
    return Personas(names[cluster] if len(cluster) else np.asarray([], dtype=object),
                    cluster, k, score, profiles, effect, scores)
