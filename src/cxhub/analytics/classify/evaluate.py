"""How good a classifier is, and which unlabelled texts would teach it most.

- `accuracy`, `macro_f1` and `per_class` (precision, recall, F1, support of each label);
- `sample_per_class`: up to n examples of each label, drawn with a seed (few-shot training);
- `holdout` trains on one set and scores another; `cross_validate` pools the out-of-fold
  predictions of k stratified folds into one report;
- `most_informative`: uncertainty sampling. The texts whose two likeliest labels are closest
  (smallest margin) are the ones a person's label changes most; among them, near-duplicates are
  skipped (maximal marginal relevance on TF-IDF cosine) so that one label is not spent twice.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.model_selection import StratifiedKFold

from cxhub.analytics.classify.model import TextClassifier


def accuracy(truth: Sequence[str], predicted: Sequence[str]) -> float:
    t, p = np.asarray(truth, dtype=object), np.asarray(predicted, dtype=object)
    return float((t == p).mean()) if len(t) else 0.0


def per_class(truth: Sequence[str], predicted: Sequence[str]) -> list[dict[str, Any]]:
    """Each label of the truth or the predictions: precision, recall, F1 and support (how many
    texts have it in the truth). A ratio with nothing to divide by is 0."""
    t, p = np.asarray(truth, dtype=object), np.asarray(predicted, dtype=object)
    rows = []
    for label in sorted(set(t) | set(p)):
        hit = int(((t == label) & (p == label)).sum())
        said, real = int((p == label).sum()), int((t == label).sum())
        precision = hit / said if said else 0.0
        recall = hit / real if real else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        rows.append({"label": str(label), "precision": precision, "recall": recall, "f1": f1,
                     "support": real})
    return rows


def macro_f1(truth: Sequence[str], predicted: Sequence[str]) -> float:
    """The unweighted mean of each label's F1, over the labels in the truth or the predictions."""
    rows = per_class(truth, predicted)
    return float(np.mean([r["f1"] for r in rows])) if rows else 0.0


def sample_per_class(labels: Sequence[str], n: int, *, seed: int = 0) -> np.ndarray:
    """Indices of up to `n` rows of each label, drawn at random with `seed`, in row order."""
    y = np.asarray(labels, dtype=object)
    rng = np.random.default_rng(seed)
    chosen = []
    for label in sorted(set(y)):
        rows = np.flatnonzero(y == label)
        chosen.append(rows if len(rows) <= n else rng.choice(rows, n, replace=False))
    return np.sort(np.concatenate(chosen)) if chosen else np.zeros(0, dtype=int)


@dataclass
class Report:
    accuracy: float
    macro_f1: float
    n_train: int
    n_test: int
    per_class: list[dict[str, Any]] = field(default_factory=list)
    folds: list[float] = field(default_factory=list)
    model: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def predict(model: TextClassifier, texts: Sequence[str]) -> list[str]:
    classes, proba = model.predict_proba(list(texts))
    return [classes[i] for i in proba.argmax(axis=1)] if len(texts) else []


def report(truth: Sequence[str], predicted: Sequence[str], *, n_train: int,
           model: str = "", folds: Sequence[float] = ()) -> Report:
    return Report(accuracy(truth, predicted), macro_f1(truth, predicted), n_train, len(truth),
                  per_class(truth, predicted), list(folds), model)


def holdout(make_model: Callable[[], TextClassifier], train_texts: Sequence[str],
            train_labels: Sequence[str], test_texts: Sequence[str],
            test_labels: Sequence[str]) -> Report:
    """Train a new model on one set and score it on the other."""
    model = make_model().fit(list(train_texts), list(train_labels))
    return report(test_labels, predict(model, test_texts), n_train=len(train_texts),
                  model=model.kind)


def cross_validate(make_model: Callable[[], TextClassifier], texts: Sequence[str],
                   labels: Sequence[str], *, folds: int = 5, seed: int = 0) -> Report:
    """k stratified folds; the report pools every out-of-fold prediction, `folds` holds each
    fold's accuracy. Labels with fewer examples than folds are kept in training folds only
    where the split puts them."""
    texts, y = list(texts), np.asarray(labels, dtype=object).astype(str)
    smallest = int(np.unique(y, return_counts=True)[1].min())
    k = max(2, min(folds, smallest))
    predicted = np.empty(len(y), dtype=object)
    accuracies = []
    kind = ""
    for train, test in StratifiedKFold(n_splits=k, shuffle=True, random_state=seed).split(
            np.zeros(len(y)), y):
        model = make_model().fit([texts[i] for i in train], list(y[train]))
        kind = model.kind
        predicted[test] = predict(model, [texts[i] for i in test])
        accuracies.append(accuracy(y[test], predicted[test]))
    return report(list(y), list(predicted), n_train=len(y) * (k - 1) // k, model=kind,
                  folds=accuracies)


def margins(proba: np.ndarray) -> np.ndarray:
    """Top probability minus the second: small means the model hesitates between two labels."""
    if proba.shape[1] < 2:
        return np.ones(len(proba))
    top2 = np.sort(proba, axis=1)[:, -2:]
    out: np.ndarray = top2[:, 1] - top2[:, 0]
    return out


def most_informative(texts: Sequence[str], proba: np.ndarray, k: int = 20, *,
                     pool: int = 10, diversity: float = 0.5) -> list[int]:
    """Indices of `k` texts worth a person's label: from the `pool * k` smallest margins, picked
    greedily by (1 - margin) - diversity * (highest cosine to a text already picked)."""
    if not len(texts) or k <= 0:
        return []
    margin = margins(proba)
    candidates = np.argsort(margin, kind="stable")[: max(k * pool, k)]
    docs = [texts[i] or "" for i in candidates]
    try:
        vectors = TfidfVectorizer(sublinear_tf=True).fit_transform(docs)
    except ValueError:  # nothing but stop words or empty texts
        return [int(i) for i in candidates[:k]]
    similar = (vectors @ vectors.T).toarray()
    closest = np.zeros(len(candidates))
    value = 1 - margin[candidates]
    picked: list[int] = []
    for _ in range(min(k, len(candidates))):
        score = value - diversity * closest
        score[picked] = -np.inf
        j = int(np.argmax(score))
        picked.append(j)
        closest = np.maximum(closest, similar[j])
    return [int(candidates[j]) for j in picked]
