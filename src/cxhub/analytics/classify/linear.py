"""The fast default: TF-IDF of words (1-2 grams) and of character n-grams inside words, then a
linear support-vector machine whose scores become probabilities by temperature scaling.

Character n-grams make it robust to typos and word forms ("cancelling", "cancel", "cancelation");
the linear SVM trains in seconds on tens of thousands of texts. The temperature is fitted on
out-of-fold scores (3 folds) when every label has at least three examples; with fewer, a fixed
one is used.

The character n-grams are scikit-learn's `char_wb` TF-IDF (same features, same values), computed
word by word: a word's feature columns are worked out once and remembered, so a text costs a
dictionary look-up per word instead of one per n-gram (five times faster on contact texts).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Self

import joblib
import numpy as np
from scipy import sparse
from sklearn.base import BaseEstimator, TransformerMixin, clone
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import FeatureUnion
from sklearn.preprocessing import normalize
from sklearn.svm import LinearSVC

from cxhub.analytics.classify.model import (
    check_training_data,
    fit_temperature,
    new_version,
    read_meta,
    softmax,
    write_meta,
)

_FILE = "linear.joblib"
DEFAULT_SCALE = 3.0


class CharNgramTfidf(TransformerMixin, BaseEstimator):  # type: ignore[misc]
    """TF-IDF of character n-grams inside words (each word padded with a space on both sides),
    with sublinear term frequency, smoothed IDF and unit rows: `TfidfVectorizer(
    analyzer="char_wb", sublinear_tf=True)`, computed a word at a time."""

    def __init__(self, ngram_range: tuple[int, int] = (2, 5), min_df: int = 2,
                 cache_size: int = 200_000) -> None:
        self.ngram_range = ngram_range
        self.min_df = min_df
        self.cache_size = cache_size

    def _grams(self, word: str) -> list[str]:
        low, high = self.ngram_range
        padded = f" {word} "
        out: list[str] = []
        for n in range(low, high + 1):
            if n >= len(padded):
                out.append(padded)
                break
            out.extend(padded[i:i + n] for i in range(len(padded) - n + 1))
        return out

    def fit(self, texts: Sequence[str], y: Any = None) -> CharNgramTfidf:
        df: dict[str, int] = {}
        for text in texts:
            seen: set[str] = set()
            for word in set((text or "").lower().split()):
                seen.update(self._grams(word))
            for gram in seen:
                df[gram] = df.get(gram, 0) + 1
        kept = sorted(g for g, count in df.items() if count >= self.min_df)
        self.vocabulary_ = {g: i for i, g in enumerate(kept)}
        counts = np.array([df[g] for g in kept], dtype=float)
        self.idf_ = (np.log((1 + len(texts)) / (1 + counts)) + 1).astype(np.float32)
        return self

    def _columns(self, word: str, cache: dict[str, np.ndarray]) -> np.ndarray:
        columns = cache.get(word)
        if columns is None:
            vocabulary = self.vocabulary_
            columns = np.array([vocabulary[g] for g in self._grams(word) if g in vocabulary],
                               dtype=np.int32)
            if len(cache) < self.cache_size:
                cache[word] = columns
        return columns

    def transform(self, texts: Sequence[str]) -> sparse.csr_matrix:
        cache: dict[str, np.ndarray] = self.__dict__.setdefault("_cache", {})
        parts: list[np.ndarray] = []
        lengths = np.zeros(len(texts), dtype=np.int64)
        for i, text in enumerate(texts):
            for word in (text or "").lower().split():
                columns = self._columns(word, cache)
                parts.append(columns)
                lengths[i] += len(columns)
        indices = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int32)
        indptr = np.concatenate([[0], np.cumsum(lengths)])
        X = sparse.csr_matrix((np.ones(len(indices), dtype=np.float32), indices, indptr),
                              shape=(len(texts), len(self.vocabulary_)))
        X.sum_duplicates()
        np.log(X.data, out=X.data)
        X.data += 1
        X.data *= self.idf_[X.indices]
        out: sparse.csr_matrix = normalize(X, copy=False)
        return out

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state.pop("_cache", None)  # remembered words are rebuilt on use, not saved
        return state


def text_features(*, char_ngrams: tuple[int, int] = (2, 5)) -> FeatureUnion:
    """Word 1-2 grams and character n-grams within word boundaries, each TF-IDF weighted."""
    return FeatureUnion([
        ("words", TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, lowercase=True,
                                  token_pattern=r"(?u)\b\w+\b", dtype=np.float32)),
        ("chars", CharNgramTfidf(ngram_range=char_ngrams, min_df=2)),
    ])


def scores_as_columns(scores: np.ndarray) -> np.ndarray:
    """A binary SVM gives one score per text; make it the two columns softmax expects."""
    if scores.ndim == 1:
        return np.column_stack([np.zeros_like(scores), scores])
    return scores


class SvmHead:
    """A linear SVM on given features with temperature-scaled probabilities."""

    def __init__(self, *, C: float = 0.5, class_weight: str | None = None) -> None:
        self.C = C
        self.class_weight = class_weight
        self.svm = LinearSVC(C=C, class_weight=class_weight)
        self.scale = DEFAULT_SCALE
        self.classes: list[str] = []

    def fit(self, X: sparse.spmatrix | np.ndarray, y: np.ndarray) -> SvmHead:
        self.svm.fit(X, y)
        self.classes = [str(c) for c in self.svm.classes_]
        counts = np.unique(y, return_counts=True)[1]
        if counts.min() >= 3 and len(y) >= 30:
            folds = StratifiedKFold(n_splits=3, shuffle=True, random_state=0)
            held = np.zeros((len(y), len(self.classes)))
            for train, test in folds.split(X, y):
                part = clone(self.svm).fit(X[train], y[train])
                held[test] = scores_as_columns(part.decision_function(X[test]))
            truth = np.searchsorted(np.array(self.classes), y)
            self.scale = fit_temperature(held, truth)
        return self

    def predict_proba(self, X: sparse.spmatrix | np.ndarray) -> np.ndarray:
        return softmax(scores_as_columns(self.svm.decision_function(X)), self.scale)


class LinearClassifier:
    kind = "linear"

    def __init__(self, *, C: float = 0.5, class_weight: str | None = None,
                 char_ngrams: tuple[int, int] = (2, 5)) -> None:
        self.options: dict[str, Any] = {"C": C, "class_weight": class_weight,
                                        "char_ngrams": list(char_ngrams)}
        self.version = ""
        self.classes: list[str] = []
        self._features: FeatureUnion | None = None
        self._head: SvmHead | None = None

    def fit(self, texts: Sequence[str], labels: Sequence[str]) -> Self:
        check_training_data(texts, labels)
        self._features = text_features(char_ngrams=tuple(self.options["char_ngrams"]))
        X = self._features.fit_transform(list(texts))
        self._head = SvmHead(C=self.options["C"], class_weight=self.options["class_weight"])
        self._head.fit(X, np.asarray(labels, dtype=object).astype(str))
        self.classes = self._head.classes
        self.version = new_version(self.kind)
        return self

    def predict_proba(self, texts: Sequence[str]) -> tuple[list[str], np.ndarray]:
        if self._features is None or self._head is None:
            raise RuntimeError("the linear model is not fitted")
        if not len(texts):
            return list(self.classes), np.zeros((0, len(self.classes)))
        return list(self.classes), self._head.predict_proba(self._features.transform(list(texts)))

    def save(self, directory: Path) -> None:
        directory = Path(directory)
        write_meta(directory, {"kind": self.kind, "version": self.version,
                               "classes": self.classes, "options": self.options})
        joblib.dump({"features": self._features, "head": self._head}, directory / _FILE)

    @classmethod
    def load(cls, directory: Path) -> Self:
        meta = read_meta(directory)
        options = meta.get("options", {})
        model = cls(C=options.get("C", 0.5), class_weight=options.get("class_weight"),
                    char_ngrams=tuple(options.get("char_ngrams", (2, 5))))
        parts = joblib.load(Path(directory) / _FILE)
        model._features, model._head = parts["features"], parts["head"]
        model.version, model.classes = meta["version"], list(meta["classes"])
        return model
