"""The `fewshot` kind: labels learnt on top of the zero-shot teacher (classify/fewshot.py).
Its accuracy on real hand-labelled texts is in tests/realdata/test_classify_fewshot_real.py."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from cxhub.analytics.classify.embedding import embeddings_available
from cxhub.analytics.classify.model import load_model, model_kinds

pytestmark = pytest.mark.skipif(not embeddings_available(),
                                reason="the embeddings extra is not installed")

LABELLED = [
    ("I was charged twice for my subscription this month", "billing"),
    ("Where is my refund for the cancelled order", "billing"),
    ("The fee taken from my account is wrong", "billing"),
    ("My phone screen cracked after two days", "product"),
    ("The router keeps losing the connection", "product"),
    ("The app freezes whenever I open it", "product"),
]


@pytest.mark.slow
def test_a_label_without_labelled_texts_still_comes_from_its_description(
        tmp_path: Path) -> None:
    model = model_kinds()["fewshot"](dimension="cause")
    model.fit([t for t, _ in LABELLED], [y for _, y in LABELLED])
    # Only billing and product were labelled; the taxonomy's phrasings keep the other causes.
    assert set(model.classes) == {"product", "delivery", "pricing", "billing", "service", "other"}
    texts = ["My parcel never arrived and the courier lost it",
             "They took money twice from my card",
             "The agent hung up on me after an hour on hold"]
    classes, proba = model.predict_proba(texts)
    assert [classes[i] for i in proba.argmax(axis=1)] == ["delivery", "billing", "service"]
    assert np.allclose(proba.sum(axis=1), 1.0)
    model.save(tmp_path / "m")
    again = load_model("fewshot", tmp_path / "m")
    assert again.version == model.version and again.classes == model.classes
    assert np.allclose(again.predict_proba(texts)[1], proba)


@pytest.mark.slow
def test_labels_outside_the_taxonomy_are_learnt_from_their_examples() -> None:
    extra = [("Is the kitchen open after ten?", "opening"), ("What time do you open?", "opening"),
             ("Are you open on Sunday?", "opening")]
    model = model_kinds()["fewshot"](dimension="cause")
    model.fit([t for t, _ in LABELLED + extra], [y for _, y in LABELLED + extra])
    classes, proba = model.predict_proba(["When do you open on Saturday?"])
    assert "opening" in classes and classes[int(proba.argmax())] == "opening"
