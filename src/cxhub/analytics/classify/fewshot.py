"""Learning from a few labels without forgetting the label descriptions (kind `fewshot`).

A company that hand-labels a hundred or two of its texts has too few to learn six labels from
scratch: on 150 hand-labelled tweets a model on sentence embeddings alone (kind `embedding`)
scored below the zero-shot classifier that had read no labels at all. The descriptions already
know a good deal. So this kind keeps the zero-shot teacher (zeroshot.Teacher: the labels'
phrasings in meaning and in words) and learns on top of it:

- features: the text's sentence embedding, beside the teacher's log-probabilities of every label
  (weighted by `prior_weight`), so a label with few examples still has its description's view;
- training rows: the labelled texts, plus each label's own phrasings labelled with it (the
  taxonomy's examples count as labelled examples, and a label with no labelled text still exists);
- a multinomial logistic regression (its probabilities are read as confidences by the
  classify step).

Labels outside the taxonomy may be learnt too: they get no teacher column, only their examples.
Settings (C, prior_weight) were chosen by 5-fold cross-validation on the `tune` halves of the
hand labels of tests/realdata (docs/classification.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Self

import joblib
import numpy as np
from sklearn.linear_model import LogisticRegression

from cxhub.analytics.classify.embedding import Encoder, shared_encoder
from cxhub.analytics.classify.model import check_training_data, new_version, read_meta, write_meta
from cxhub.analytics.classify.taxonomy import LabelSpec, Taxonomy, default_taxonomy
from cxhub.analytics.classify.zeroshot import Teacher

_FILE = "fewshot.joblib"
# The teacher's log-probabilities span about -9..0; divided by this they sit on the scale of an
# embedding's coordinates before `prior_weight` scales them.
_LOG_SCALE = 4.0
_FLOOR = 1e-4


class FewShotClassifier:
    kind = "fewshot"

    def __init__(self, *, dimension: str = "category", taxonomy: Taxonomy | None = None,
                 labels: Sequence[LabelSpec] | None = None, C: float = 3.0,
                 prior_weight: float = 1.0, encoder: Encoder | None = None) -> None:
        self.dimension = dimension
        self.specs = list(labels) if labels is not None else list(
            (taxonomy or default_taxonomy()).labels(dimension))
        self.options: dict[str, Any] = {"C": C, "prior_weight": prior_weight}
        self.encoder = encoder or shared_encoder()
        self._teacher: Teacher | None = None
        self._head: LogisticRegression | None = None
        self.classes: list[str] = []
        self.version = ""

    @property
    def teacher(self) -> Teacher:
        if self._teacher is None:
            self._teacher = Teacher(self.specs, "embedding", self.encoder)
        return self._teacher

    def _features(self, texts: list[str]) -> np.ndarray:
        prior = np.log(self.teacher.predict_proba(texts) + _FLOOR) / _LOG_SCALE
        return np.hstack([self.encoder.encode(texts),
                          self.options["prior_weight"] * prior])

    def fit(self, texts: Sequence[str], labels: Sequence[str]) -> Self:
        check_training_data(texts, labels)
        rows, names = list(texts), [str(x) for x in labels]
        for spec in self.specs:
            rows += spec.phrasings()
            names += [spec.name] * len(spec.phrasings())
        self._head = LogisticRegression(C=self.options["C"], max_iter=3000)
        self._head.fit(self._features(rows), np.asarray(names, dtype=object))
        self.classes = [str(c) for c in self._head.classes_]
        self.version = new_version(self.kind)
        return self

    def predict_proba(self, texts: Sequence[str]) -> tuple[list[str], np.ndarray]:
        if self._head is None:
            raise RuntimeError("the fewshot model is not fitted")
        if not len(texts):
            return list(self.classes), np.zeros((0, len(self.classes)))
        return list(self.classes), self._head.predict_proba(self._features(list(texts)))

    def save(self, directory: Path) -> None:
        directory = Path(directory)
        write_meta(directory, {
            "kind": self.kind, "version": self.version, "classes": self.classes,
            "dimension": self.dimension, "options": self.options, "encoder": self.encoder.name,
            "labels": [s.to_dict() for s in self.specs]})
        joblib.dump(self._head, directory / _FILE)

    @classmethod
    def load(cls, directory: Path) -> Self:
        directory = Path(directory)
        meta: dict[str, Any] = read_meta(directory)
        specs = [LabelSpec.from_dict(d) for d in meta["labels"]]
        model = cls(dimension=meta.get("dimension", "category"), labels=specs,
                    **meta.get("options", {}))
        model._head = joblib.load(directory / _FILE)
        model.version, model.classes = meta["version"], list(meta["classes"])
        return model
