"""Evaluation measures against figures worked out by hand, sampling, and label suggestions."""

from __future__ import annotations

import numpy as np
import pytest

from cxhub.analytics.classify import evaluate as ev
from cxhub.analytics.classify.linear import LinearClassifier

TRUTH = ["a", "a", "a", "b", "b", "c"]
PRED = ["a", "a", "b", "b", "c", "c"]


def test_accuracy_macro_f1_and_per_class_by_hand() -> None:
    assert ev.accuracy(TRUTH, PRED) == pytest.approx(4 / 6)
    rows = {r["label"]: r for r in ev.per_class(TRUTH, PRED)}
    # a: said 2 times, both right; 3 real -> precision 1, recall 2/3, F1 = 2*(2/3)/(5/3) = 0.8
    assert (rows["a"]["precision"], rows["a"]["recall"]) == (1.0, pytest.approx(2 / 3))
    assert rows["a"]["f1"] == pytest.approx(0.8)
    # b: said 2 (1 right), 2 real -> 1/2, 1/2, F1 1/2
    assert rows["b"]["f1"] == pytest.approx(0.5)
    # c: said 2 (1 right), 1 real -> precision 1/2, recall 1, F1 = 2*(1/2)/(3/2) = 2/3
    assert rows["c"]["f1"] == pytest.approx(2 / 3)
    assert [rows[k]["support"] for k in "abc"] == [3, 2, 1]
    assert ev.macro_f1(TRUTH, PRED) == pytest.approx((0.8 + 0.5 + 2 / 3) / 3)


def test_a_label_never_predicted_or_never_true_scores_zero() -> None:
    rows = {r["label"]: r for r in ev.per_class(["a", "b"], ["a", "z"])}
    assert rows["b"]["precision"] == rows["b"]["recall"] == rows["b"]["f1"] == 0.0
    assert rows["z"]["support"] == 0 and rows["z"]["f1"] == 0.0
    assert ev.macro_f1(["a", "b"], ["a", "z"]) == pytest.approx(1 / 3)


def test_sample_per_class_is_seeded_and_capped() -> None:
    labels = ["x"] * 30 + ["y"] * 4 + ["z"] * 12
    rows = ev.sample_per_class(labels, 10, seed=3)
    picked = [labels[i] for i in rows]
    assert (picked.count("x"), picked.count("y"), picked.count("z")) == (10, 4, 10)
    assert list(rows) == sorted(rows)
    assert list(ev.sample_per_class(labels, 10, seed=3)) == list(rows)
    assert list(ev.sample_per_class(labels, 10, seed=4)) != list(rows)


def test_margins_and_the_most_informative_texts() -> None:
    proba = np.array([[0.9, 0.1], [0.52, 0.48], [0.51, 0.49], [0.6, 0.4], [0.55, 0.45]])
    assert ev.margins(proba) == pytest.approx([0.8, 0.04, 0.02, 0.2, 0.1])
    texts = ["sure thing", "my bill is wrong", "my bill is wrong!", "card lost", "where is it"]
    # The two smallest margins are near-duplicates: the second pick skips to another text.
    picked = ev.most_informative(texts, proba, k=2, diversity=1.0)
    assert picked[0] == 2 and picked[1] != 1
    assert ev.most_informative(texts, proba, k=3, diversity=0.0) == [2, 1, 4]


def _toy() -> tuple[list[str], list[str]]:
    rng = np.random.default_rng(0)
    words = {"bill": ["invoice", "charged", "payment", "bill"],
             "parcel": ["courier", "parcel", "delivery", "tracking"],
             "thanks": ["thanks", "great", "lovely", "brilliant"]}
    texts, labels = [], []
    for label, vocab in words.items():
        for _ in range(12):
            texts.append(" ".join(rng.choice(vocab, 3)) + " " + rng.choice(["ok", "today", "hi"]))
            labels.append(label)
    return texts, labels


def test_cross_validation_pools_every_out_of_fold_prediction() -> None:
    texts, labels = _toy()
    report = ev.cross_validate(LinearClassifier, texts, labels, folds=4)
    assert report.n_test == len(texts) and len(report.folds) == 4
    assert report.accuracy == pytest.approx(np.mean(report.folds), abs=1e-9)
    assert report.accuracy > 0.9
    assert sum(r["support"] for r in report.per_class) == len(texts)
